import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// constexpr_lut_to_dense (FORMATS.md §3, §7.1) on every SIMD target == the reference, bit for bit.

/// A random valid iOS18 lut_to_dense: rank 1–6 (the LUT's rank K + 2 reaches WK_MAX_RANK), every n, every LUT dtype, groups on any axes,
/// vector palettization on any (possibly negative) axis, vector_axis given with V = 1.
struct LUT18Case: CustomStringConvertible {
  let indices: Tensor
  let lut: Tensor
  let vectorAxis: Int?

  var description: String {
    "indices \(indices.dtype)\(indices.shape), lut \(lut.dtype)\(lut.shape), vector_axis \(vectorAxis.map(String.init) ?? "nil")"
  }

  static func make(_ r: inout SplitMix64, maxOutput: Int = 3000) throws -> LUT18Case {
    let bits = r.pick(DType.indexBits)
    let rank = r.pick([1, 1, 2, 2, 3, 3, 4, 4, 5, 6])
    let lutType = r.pick(DType.lutValueTypes)
    let vectorSize = r.chance(0.35) ? r.int(2...4) : 1
    var vectorAxis: Int?
    if vectorSize > 1 || r.chance(0.25) { vectorAxis = r.int(-rank...(rank - 1)) }
    // Usually extents up to 70; sometimes long rows (many 16-element chunks).
    let shape = r.shape(rank: rank, maxCount: maxOutput / vectorSize, maxExtent: r.chance(0.25) ? maxOutput : 70)

    // Groups: per axis none, a random divisor, or one group per element; several axes at once.
    var groups = shape.map { extent -> Int in
      switch r.int(0..<4) {
      case 0, 1: return 1
      case 2: return r.divisor(of: extent)
      default: return extent
      }
    }
    // Keep the LUT small: at most 4096 entries × V.
    while groups.reduce(1, *) * (1 << bits) > 4096, let axis = groups.indices.first(where: { groups[$0] > 1 }) {
      groups[axis] = 1
    }
    let indices = try r.indices(bits: bits, shape: shape, garbagePadding: r.chance(0.5))
    let lut = try r.tensor(lutType, shape: groups + [1 << bits, vectorSize], .anyBits)
    return LUT18Case(indices: indices, lut: lut, vectorAxis: vectorAxis)
  }
}

@Suite("lut_to_dense on every target == reference")
struct PalettizationTests {
  @Test("iOS18: random ranks, n, dtypes, groups, vectors", .shrinking(false), arguments: SIMDTarget.compiled)
  func iOS18Property(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 300) { seed in
      var r = SplitMix64(seed: seed)
      let c = try LUT18Case.make(&r)
      let expected = try Reference.lutToDenseIOS18(indices: c.indices, lut: c.lut, vectorAxis: c.vectorAxis)
      let actual = try CoreMLOps.lutToDenseIOS18(
        indices: c.indices, lut: c.lut, vectorAxis: c.vectorAxis, target: target)
      expectBits(actual, expected, "seed \(hex(seed)) target \(target) \(c)")
    }
  }

  /// Rows that start mid-byte: n = 3 and 6 (fields straddle bytes) and every other n, with every
  /// inner extent 1…40, so that row starts and chunk tails take every bit offset.
  @Test("iOS18: every n × inner extent 1…40 (rows starting mid-byte)", arguments: SIMDTarget.compiled)
  func everyInnerExtent(target: SIMDTarget) throws {
    try requireSupported(target)
    for bits in DType.indexBits {
      for inner in 1...40 {
        let seed = UInt64(bits * 1000 + inner)
        var r = SplitMix64(seed: seed)
        let outer = r.pick([1, 3, 5])
        let shape = r.chance(0.5) ? [outer, inner] : [2, outer, inner]
        var groups = shape.map { _ in 1 }
        groups[groups.count - 1] = r.divisor(of: inner)
        if r.chance(0.5) { groups[0] = shape[0] }
        let vectorSize = r.chance(0.3) ? r.int(2...3) : 1
        let axis: Int? = vectorSize > 1 ? r.int(-shape.count...(shape.count - 1)) : nil
        let indices = try r.indices(bits: bits, shape: shape, garbagePadding: true)
        let lut = try r.tensor(r.pick(DType.lutValueTypes), shape: groups + [1 << bits, vectorSize], .anyBits)
        let expected = try Reference.lutToDenseIOS18(indices: indices, lut: lut, vectorAxis: axis)
        let actual = try CoreMLOps.lutToDenseIOS18(indices: indices, lut: lut, vectorAxis: axis, target: target)
        expectBits(actual, expected, "seed \(seed) target \(target) indices \(indices.dtype)\(shape) lut \(lut.dtype)\(lut.shape) axis \(String(describing: axis))")
      }
    }
  }

  /// The worked examples of FORMATS.md §7.1 on the library.
  @Test("iOS18: FORMATS.md §7.1 examples", arguments: SIMDTarget.compiled)
  func formatsExamples(target: SIMDTarget) throws {
    try requireSupported(target)
    // indices [4, 6], lut [1, 1, 4, 2], vector_axis 0 → [8, 6]: rows 2r, 2r + 1 from index row r.
    var r = SplitMix64(seed: 71)
    let indices = try r.indices(bits: 2, shape: [4, 6], garbagePadding: false)
    let lut = try Tensor(integers: [10, 11, 20, 21, 30, 31, 40, 41], dtype: .int8, shape: [1, 1, 4, 2])
    let out = try CoreMLOps.lutToDenseIOS18(indices: indices, lut: lut, vectorAxis: 0, target: target)
    #expect(out.shape == [8, 6])
    let idx = indices.integers()
    let values = out.integers()
    for row in 0..<8 {
      for col in 0..<6 {
        #expect(values[row * 6 + col] == (idx[(row / 2) * 6 + col] + 1) * 10 + row % 2)
      }
    }
    // indices [2, 4], lut [1, 2, 2, 2], vector_axis 1 (given as −1) → [2, 8].
    let small = try Tensor(integers: [0, 1, 1, 0, 1, 1, 0, 0], dtype: .uint1, shape: [2, 4])
    let lut2 = try Tensor(integers: [10, 11, 20, 21, 30, 31, 40, 41], dtype: .uint8, shape: [1, 2, 2, 2])
    let out2 = try CoreMLOps.lutToDenseIOS18(indices: small, lut: lut2, vectorAxis: -1, target: target)
    #expect(out2.shape == [2, 8])
    #expect(out2.integers() == [10, 11, 20, 21, 40, 41, 30, 31, 20, 21, 20, 21, 30, 31, 30, 31])
    // Grouping on several axes at once: lut [3, 3, 1, 8, 1] over indices [6, 9, 2].
    let idx3 = try r.indices(bits: 3, shape: [6, 9, 2], garbagePadding: true)
    let lut3 = try r.floatTensor(.fp16, shape: [3, 3, 1, 8, 1], .anyBits)
    expectBits(
      try CoreMLOps.lutToDenseIOS18(indices: idx3, lut: lut3, vectorAxis: nil, target: target),
      try Reference.lutToDenseIOS18(indices: idx3, lut: lut3, vectorAxis: nil), "target \(target) [3,3,1,8,1]")
  }

  /// Empty tensors: an extent of 0 is legal for the op (0 % G == 0); both sides agree.
  @Test("iOS18 and iOS16: zero extents", arguments: SIMDTarget.compiled)
  func zeroExtents(target: SIMDTarget) throws {
    try requireSupported(target)
    for shape in [[0], [3, 0], [0, 5], [2, 0, 3]] {
      let indices = try Tensor(integers: [], dtype: .uint4, shape: shape)
      let lut = try Tensor(fp16Bits: Array(0..<16), shape: Array(repeating: 1, count: shape.count) + [16, 1])
      let expected = Outcome { try Reference.lutToDenseIOS18(indices: indices, lut: lut, vectorAxis: nil) }
      let actual = Outcome { try CoreMLOps.lutToDenseIOS18(indices: indices, lut: lut, vectorAxis: nil, target: target) }
      switch (actual, expected) {
      case (.value(let a), .value(let e)): expectBits(a, e, "target \(target) shape \(shape)")
      default: #expect(actual.kind != nil && actual.kind == expected.kind, "target \(target) shape \(shape): library \(actual), reference \(expected)")
      }
    }
    let shape16 = try Tensor(integers: [4, 0], dtype: .uint32, shape: [2])
    let lut16 = try Tensor(integers: [1, 2, 3, 4], dtype: .int8, shape: [4])
    let none = try Tensor(integers: [], dtype: .uint8, shape: [0])
    let expected = Outcome { try Reference.lutToDenseIOS16(indices: none, lut: lut16, shape: shape16) }
    let actual = Outcome { try CoreMLOps.lutToDenseIOS16(indices: none, lut: lut16, shape: shape16, target: target) }
    switch (actual, expected) {
    case (.value(let a), .value(let e)): expectBits(a, e, "target \(target) iOS16 shape [4, 0]")
    default: #expect(actual.kind != nil && actual.kind == expected.kind, "target \(target) iOS16: library \(actual), reference \(expected)")
    }
  }

  @Test("iOS16: random P, shapes, dtypes, packed streams", .shrinking(false), arguments: SIMDTarget.compiled)
  func iOS16Property(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 200) { seed in
      var r = SplitMix64(seed: seed)
      let entries = r.pick([2, 4, 16, 64, 256])
      let bits = entries.trailingZeroBitCount
      let shape = r.shape(rank: r.pick([1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8]), maxCount: 3000, maxExtent: r.chance(0.25) ? 3000 : 70)
      let count = shape.reduce(1, *)
      // The stream's bytes are random, padding bits included (Core ML does not check them).
      let stream = (0..<((bits * count + 7) / 8)).map { _ in Int(r.bits(8)) }
      let indices = try Tensor(integers: stream, dtype: .uint8, shape: [stream.count])
      let lut = try r.tensor(r.pick(DType.lutValueTypes), shape: [entries], .anyBits)
      let shapeTensor = try Tensor(integers: shape, dtype: .uint32, shape: [shape.count])
      let context = "seed \(hex(seed)) target \(target) P \(entries) shape \(shape) lut \(lut.dtype)"
      let expected = try Reference.lutToDenseIOS16(indices: indices, lut: lut, shape: shapeTensor)
      let actual = try CoreMLOps.lutToDenseIOS16(indices: indices, lut: lut, shape: shapeTensor, target: target)
      expectBits(actual, expected, context)
    }
  }

  /// The same elements through iOS16 and iOS18 (the packed bytes are the same stream, §3).
  @Test("iOS16 == iOS18 on the same stream", arguments: SIMDTarget.compiled)
  func iOS16EqualsIOS18(target: SIMDTarget) throws {
    try requireSupported(target)
    for (n, bits) in [1, 2, 4, 6, 8].enumerated() {
      var r = SplitMix64(seed: UInt64(500 + n))
      let shape = [r.extent(max: 17), r.extent(max: 33)]
      let indices18 = try r.indices(bits: bits, shape: shape, garbagePadding: true)
      let indices16 = try Tensor(dtype: .uint8, shape: [indices18.bytes.count], bytes: indices18.bytes)
      let lut = try r.floatTensor(.fp32, shape: [1 << bits], .anyBits)
      let a = try CoreMLOps.lutToDenseIOS16(
        indices: indices16, lut: lut, shape: Tensor(integers: shape, dtype: .uint32, shape: [2]), target: target)
      let b = try CoreMLOps.lutToDenseIOS18(indices: indices18, lut: lut.reshaped([1, 1, 1 << bits, 1]), vectorAxis: nil, target: target)
      expectBits(a, b, "target \(target) n \(bits) shape \(shape)")
    }
  }
}
