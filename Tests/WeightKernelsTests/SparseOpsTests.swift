import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// constexpr_sparse_to_dense (iOS16 §4, iOS18 §7.2) and constexpr_lut_to_sparse (§7.4) on every
// SIMD target == the reference, bit for bit; invalid operands fail with the reference's error kind.

/// Library and reference agree: the same bits, or errors of the same kind.
private func expectSame(
  _ actual: Outcome<Tensor>, _ expected: Outcome<Tensor>, _ context: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  switch (actual, expected) {
  case (.value(let a), .value(let e)): expectBits(a, e, context(), sourceLocation: sourceLocation)
  default:
    #expect(actual.kind != nil && actual.kind == expected.kind, "\(context()): library \(actual), reference \(expected)", sourceLocation: sourceLocation)
  }
}

extension SplitMix64 {
  /// A shape of rank 0…4 with at most `maxCount` elements, sometimes with a zero extent.
  mutating func sparseShape(maxCount: Int) -> [Int] {
    var shape = self.shape(rank: pick([0, 1, 1, 2, 2, 3, 4]), maxCount: maxCount, maxExtent: chance(0.2) ? maxCount : 70)
    if !shape.isEmpty && chance(0.04) { shape[int(0..<shape.count)] = 0 }
    return shape
  }
}

@Suite("sparse_to_dense and lut_to_sparse on every target == reference")
struct SparseOpsTests {
  static let iOS16Types: [DType] = [.fp16, .fp32, .int8, .uint8]
  static let iOS18Types: [DType] = [.fp16, .fp32, .int8, .uint8, .int4, .uint4]

  @Test("iOS18: every dtype, rank 0…4, any density, garbage padding", .shrinking(false), arguments: SIMDTarget.compiled)
  func iOS18Property(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 150) { seed in
      var r = SplitMix64(seed: seed)
      let shape = r.sparseShape(maxCount: 3000)
      let count = shape.reduce(1, *)
      let density = r.maskDensity()
      let maskBits = (0..<count).map { _ in r.chance(density) ? 1 : 0 }
      let mask = try r.maskTensor(maskBits, shape: shape, garbagePadding: r.chance(0.5))
      let data = try r.tensor(r.pick(Self.iOS18Types), shape: [maskBits.reduce(0, +)], .anyBits)
      let context = "seed \(hex(seed)) target \(target) mask \(shape) data \(data.dtype)\(data.shape)"
      let expected = try Reference.sparseToDenseIOS18(nonzeroData: data, mask: mask)
      let actual = try CoreMLOps.sparseToDenseIOS18(nonzeroData: data, mask: mask, target: target)
      expectBits(actual, expected, context)
    }
  }

  /// Every element count 0…40 (N not a multiple of 8, 4 or 2: every tail of the fp16 byte and
  /// fp32 nibble expansion and of the nibble scatter), densities 0, random and 1.
  @Test("iOS18: every N 0…40 × dtype × D = 0, random, N", arguments: SIMDTarget.compiled)
  func iOS18EveryCount(target: SIMDTarget) throws {
    try requireSupported(target)
    for count in 0...40 {
      for dtype in Self.iOS18Types {
        for density in [0, 0.5, 1] {
          var r = SplitMix64(seed: UInt64(count << 16) | UInt64(dtype.rawValue << 8) | UInt64(density * 2))
          let maskBits = (0..<count).map { _ in r.chance(density) ? 1 : 0 }
          let mask = try r.maskTensor(maskBits, shape: [count], garbagePadding: true)
          let data = try r.tensor(dtype, shape: [maskBits.reduce(0, +)], .anyBits)
          expectBits(
            try CoreMLOps.sparseToDenseIOS18(nonzeroData: data, mask: mask, target: target),
            try Reference.sparseToDenseIOS18(nonzeroData: data, mask: mask),
            "target \(target) N \(count) \(dtype) D \(data.count)")
        }
      }
    }
  }

  @Test("iOS16: every dtype, rank 0…4, any density", .shrinking(false), arguments: SIMDTarget.compiled)
  func iOS16Property(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 100) { seed in
      var r = SplitMix64(seed: seed)
      let shape = r.sparseShape(maxCount: 3000)
      let density = r.maskDensity()
      let maskBits = (0..<shape.reduce(1, *)).map { _ in r.chance(density) ? 1 : 0 }
      let packed = BitPacking.pack(maskBits, dtype: .uint1)
      let mask = try Tensor(dtype: .uint8, shape: [packed.count], bytes: packed)
      let shapeTensor = try Tensor(integers: shape, dtype: .uint32, shape: [shape.count])
      let data = try r.tensor(r.pick(Self.iOS16Types), shape: [maskBits.reduce(0, +)], .anyBits)
      let context = "seed \(hex(seed)) target \(target) shape \(shape) data \(data.dtype)\(data.shape)"
      let expected = try Reference.sparseToDenseIOS16(nonzeroData: data, mask: mask, shape: shapeTensor)
      let actual = try CoreMLOps.sparseToDenseIOS16(nonzeroData: data, mask: mask, shape: shapeTensor, target: target)
      expectBits(actual, expected, context)
      // The iOS16 mask bytes are the iOS18 uint1 stream (§7.2).
      let iOS18 = try CoreMLOps.sparseToDenseIOS18(
        nonzeroData: data, mask: try Tensor(dtype: .uint1, shape: shape, bytes: packed), target: target)
      expectBits(actual, iOS18, "\(context): iOS16 vs iOS18")
    }
  }

  /// Core ML's iOS16 checks in its order: popcount of every mask byte (padding included) == D,
  /// then M == ceil(N/8) (both invalidShape), then clear padding bits (invalidArgument).
  @Test("iOS16: padding bits, popcount first, mask length, dtypes, ranks", arguments: SIMDTarget.compiled)
  func iOS16Invalid(target: SIMDTarget) throws {
    try requireSupported(target)
    for (n, count) in [1, 5, 7, 9, 13, 17, 30].enumerated() {
      var r = SplitMix64(seed: UInt64(0x516 + n))
      let maskBits = (0..<count).map { _ in r.chance(0.5) ? 1 : 0 }
      let ones = maskBits.reduce(0, +)
      let clean = BitPacking.pack(maskBits, dtype: .uint1)
      var dirty = clean
      dirty[dirty.count - 1] |= UInt8(1 << (7 - r.int(0..<(8 - count % 8))))
      let shape = try Tensor(integers: [count], dtype: .uint32, shape: [1])
      func bytes(_ b: [UInt8]) throws -> Tensor { try Tensor(dtype: .uint8, shape: [b.count], bytes: b) }
      func data(_ d: Int, _ dtype: DType = .fp16) throws -> Tensor { try r.tensor(dtype, shape: [d], .anyBits) }
      let cases: [(String, WeightKernelsError.Kind, Tensor, Tensor, Tensor)] = [
        ("padding bit set, D = popcount of all bytes", .invalidArgument, try data(ones + 1), try bytes(dirty), shape),
        ("padding bit set, D = ones of the N elements (popcount first)", .invalidShape, try data(ones), try bytes(dirty), shape),
        ("D = popcount + 1", .invalidShape, try data(ones + 1), try bytes(clean), shape),
        ("one mask byte too many", .invalidShape, try data(ones), try bytes(clean + [0]), shape),
        ("one mask byte too few", .invalidShape, try data(ones - maskBits.suffix(count % 8 == 0 ? 8 : count % 8).reduce(0, +)), try bytes(Array(clean.dropLast())), shape),
        ("int4 data", .invalidDType, try data(ones, .int4), try bytes(clean), shape),
        ("uint1 mask", .invalidDType, try data(ones), try Tensor(dtype: .uint1, shape: [count], bytes: clean), shape),
        ("int32 shape", .invalidDType, try data(ones), try bytes(clean), try Tensor(integers: [count], dtype: .int32, shape: [1])),
        ("mask rank 2", .invalidShape, try data(ones), try Tensor(dtype: .uint8, shape: [1, clean.count], bytes: clean), shape),
        ("data rank 2", .invalidShape, try data(ones).reshaped([1, ones]), try bytes(clean), shape),
      ]
      for (name, kind, d, m, s) in cases {
        let actual = Outcome { try CoreMLOps.sparseToDenseIOS16(nonzeroData: d, mask: m, shape: s, target: target) }
        let expected = Outcome { try Reference.sparseToDenseIOS16(nonzeroData: d, mask: m, shape: s) }
        let context = "target \(target) N \(count): \(name)"
        #expect(expected.kind == kind, "\(context): reference \(expected)")
        expectSame(actual, expected, context)
      }
    }
  }

  @Test("iOS18: popcount, dtypes, ranks", arguments: SIMDTarget.compiled)
  func iOS18Invalid(target: SIMDTarget) throws {
    try requireSupported(target)
    var r = SplitMix64(seed: 0x518)
    let maskBits = (0..<45).map { _ in r.chance(0.5) ? 1 : 0 }
    let ones = maskBits.reduce(0, +)
    let mask = try r.maskTensor(maskBits, shape: [3, 15], garbagePadding: true)
    let cases: [(String, WeightKernelsError.Kind, Tensor, Tensor)] = [
      ("D = ones + 1", .invalidShape, try r.tensor(.int4, shape: [ones + 1], .anyBits), mask),
      ("D = ones − 1", .invalidShape, try r.tensor(.fp32, shape: [ones - 1], .anyBits), mask),
      ("data rank 2", .invalidShape, try r.tensor(.fp16, shape: [1, ones], .anyBits), mask),
      ("int16 data", .invalidDType, try Tensor(integers: [Int](repeating: 3, count: ones), dtype: .int16, shape: [ones]), mask),
      ("uint2 data", .invalidDType, try Tensor(integers: [Int](repeating: 3, count: ones), dtype: .uint2, shape: [ones]), mask),
      ("uint8 mask", .invalidDType, try r.tensor(.fp16, shape: [ones], .anyBits), try Tensor(integers: maskBits, dtype: .uint8, shape: [3, 15])),
    ]
    for (name, kind, d, m) in cases {
      let actual = Outcome { try CoreMLOps.sparseToDenseIOS18(nonzeroData: d, mask: m, target: target) }
      let expected = Outcome { try Reference.sparseToDenseIOS18(nonzeroData: d, mask: m) }
      #expect(expected.kind == kind, "target \(target) \(name): reference \(expected)")
      expectSame(actual, expected, "target \(target) \(name)")
    }
  }

  /// A random valid lut_to_sparse: rank 1–4, every n and LUT dtype, groups on any axes, V ≥ 1
  /// along any (possibly negative) vector axis, vector_axis given with V = 1.
  static func lutToSparseCase(_ r: inout SplitMix64) throws -> (mask: Tensor, indices: Tensor, lut: Tensor, axis: Int?) {
    let n = r.pick(DType.indexBits)
    let rank = r.int(1...4)
    let vectorSize = r.chance(0.4) ? r.int(2...4) : 1
    let axis: Int? = vectorSize > 1 || r.chance(0.25) ? r.int(-rank...(rank - 1)) : nil
    let shape = r.shape(rank: rank, maxCount: 1500 / vectorSize, maxExtent: r.chance(0.2) ? 600 : 40)
    var groups = shape.map { extent -> Int in
      switch r.int(0..<4) {
      case 0, 1: return 1
      case 2: return r.divisor(of: extent)
      default: return extent
      }
    }
    while groups.reduce(1, *) << n > 4096, let d = groups.indices.first(where: { groups[$0] > 1 }) { groups[d] = 1 }
    let density = r.maskDensity()
    let maskBits = (0..<shape.reduce(1, *)).map { _ in r.chance(density) ? 1 : 0 }
    let mask = try r.maskTensor(maskBits, shape: shape, garbagePadding: r.chance(0.5))
    let indices = try r.indices(bits: n, shape: [maskBits.reduce(0, +)], garbagePadding: r.chance(0.5))
    let lut = try r.tensor(r.pick(DType.lutValueTypes), shape: groups + [1 << n, vectorSize], .anyBits)
    return (mask, indices, lut, axis)
  }

  @Test("lut_to_sparse: every n, grouped LUTs, vectors on any axis", .shrinking(false), arguments: SIMDTarget.compiled)
  func lutToSparseProperty(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 100) { seed in
      var r = SplitMix64(seed: seed)
      let c = try Self.lutToSparseCase(&r)
      let context = "seed \(hex(seed)) target \(target) mask \(c.mask.shape) indices \(c.indices.dtype)\(c.indices.shape) lut \(c.lut.dtype)\(c.lut.shape) axis \(String(describing: c.axis))"
      let expected = try Reference.lutToSparse(indicesMask: c.mask, indicesNonzeroData: c.indices, lut: c.lut, vectorAxis: c.axis)
      let actual = try CoreMLOps.lutToSparse(indicesMask: c.mask, indicesNonzeroData: c.indices, lut: c.lut, vectorAxis: c.axis, target: target)
      // Bytes, padding included: the output mask's padding bits are written as 0.
      expectBits(actual.mask, expected.mask, "\(context): mask")
      #expect(actual.mask.bytes == expected.mask.bytes, "\(context): mask padding bits")
      expectBits(actual.nonzeroData, expected.nonzeroData, "\(context): values")
      // The chain's dense weight (§7.6).
      expectBits(
        try CoreMLOps.sparseToDenseIOS18(nonzeroData: actual.nonzeroData, mask: actual.mask, target: target),
        try Reference.sparseToDenseIOS18(nonzeroData: expected.nonzeroData, mask: expected.mask), "\(context): chain")
    }
  }

  @Test("lut_to_sparse: invalid operands", arguments: SIMDTarget.compiled)
  func lutToSparseInvalid(target: SIMDTarget) throws {
    try requireSupported(target)
    var r = SplitMix64(seed: 0x5175)
    let maskBits = (0..<(6 * 10)).map { _ in r.chance(0.5) ? 1 : 0 }
    let ones = maskBits.reduce(0, +)
    let mask = try r.maskTensor(maskBits, shape: [6, 10], garbagePadding: true)
    let indices = try r.indices(bits: 2, shape: [ones], garbagePadding: true)
    let lut = try r.floatTensor(.fp16, shape: [3, 2, 4, 1], .finite)
    let vectorLUT = try r.floatTensor(.fp32, shape: [1, 1, 4, 3], .finite)
    let cases: [(String, WeightKernelsError.Kind, Tensor, Tensor, Tensor, Int?)] = [
      ("D = ones + 1", .invalidShape, mask, try r.indices(bits: 2, shape: [ones + 1], garbagePadding: false), lut, nil),
      ("D = ones − 1", .invalidShape, mask, try r.indices(bits: 2, shape: [ones - 1], garbagePadding: false), lut, nil),
      ("indices rank 2", .invalidShape, mask, try indices.reshaped([1, ones]), lut, nil),
      ("int4 indices", .invalidDType, mask, try Tensor(dtype: .int4, shape: [ones], bytes: try r.indices(bits: 4, shape: [ones], garbagePadding: false).bytes), try r.floatTensor(.fp16, shape: [1, 1, 16, 1], .finite), nil),
      ("uint8 mask", .invalidDType, try Tensor(integers: maskBits, dtype: .uint8, shape: [6, 10]), indices, lut, nil),
      ("int16 lut", .invalidDType, mask, indices, try Tensor(integers: [Int](repeating: 1, count: 8), dtype: .int16, shape: [1, 1, 4, 2]), 0),
      ("groups 4 on extent 6", .invalidShape, mask, indices, try r.floatTensor(.fp16, shape: [4, 1, 4, 1], .finite), nil),
      ("8 entries for uint2", .invalidShape, mask, indices, try r.floatTensor(.fp16, shape: [1, 1, 8, 1], .finite), nil),
      ("lut rank 3", .invalidShape, mask, indices, try r.floatTensor(.fp16, shape: [1, 4, 1], .finite), nil),
      ("V = 3 without vector_axis", .invalidArgument, mask, indices, vectorLUT, nil),
      ("vector_axis 2 for rank 2", .invalidArgument, mask, indices, vectorLUT, 2),
      ("vector_axis −3 for rank 2", .invalidArgument, mask, indices, vectorLUT, -3),
    ]
    for (name, kind, m, d, l, axis) in cases {
      let actual = Outcome { try CoreMLOps.lutToSparse(indicesMask: m, indicesNonzeroData: d, lut: l, vectorAxis: axis, target: target).nonzeroData }
      let expected = Outcome { try Reference.lutToSparse(indicesMask: m, indicesNonzeroData: d, lut: l, vectorAxis: axis).nonzeroData }
      #expect(expected.kind == kind, "target \(target) \(name): reference \(expected)")
      expectSame(actual, expected, "target \(target) \(name)")
    }
  }

  /// Empty tensors: zero extents are legal for both ops; library and reference agree.
  @Test("zero extents", arguments: SIMDTarget.compiled)
  func zeroExtents(target: SIMDTarget) throws {
    try requireSupported(target)
    for shape in [[0], [3, 0], [0, 5], [2, 0, 3]] {
      let mask = try Tensor(integers: [], dtype: .uint1, shape: shape)
      for dtype in Self.iOS18Types {
        let data = try Tensor(dtype: dtype, shape: [0], bytes: [])
        expectSame(
          Outcome { try CoreMLOps.sparseToDenseIOS18(nonzeroData: data, mask: mask, target: target) },
          Outcome { try Reference.sparseToDenseIOS18(nonzeroData: data, mask: mask) }, "target \(target) iOS18 \(shape) \(dtype)")
      }
      let none = try Tensor(integers: [], dtype: .uint3, shape: [0])
      let lut = try Tensor(fp16Bits: Array(0..<16), shape: Array(repeating: 1, count: shape.count) + [8, 2])
      for axis in [nil, 0, -1] {
        let actual = Outcome { try CoreMLOps.lutToSparse(indicesMask: mask, indicesNonzeroData: none, lut: lut, vectorAxis: axis, target: target) }
        let expected = Outcome { try Reference.lutToSparse(indicesMask: mask, indicesNonzeroData: none, lut: lut, vectorAxis: axis) }
        switch (actual, expected) {
        case (.value(let a), .value(let e)):
          expectBits(a.mask, e.mask, "target \(target) lut_to_sparse \(shape) axis \(String(describing: axis)): mask")
          expectBits(a.nonzeroData, e.nonzeroData, "target \(target) lut_to_sparse \(shape) axis \(String(describing: axis)): values")
        default:
          #expect(actual.kind != nil && actual.kind == expected.kind, "target \(target) lut_to_sparse \(shape) axis \(String(describing: axis)): library \(actual), reference \(expected)")
        }
      }
    }
    let shape16 = try Tensor(integers: [4, 0], dtype: .uint32, shape: [2])
    let none8 = try Tensor(integers: [], dtype: .uint8, shape: [0])
    expectSame(
      Outcome { try CoreMLOps.sparseToDenseIOS16(nonzeroData: none8, mask: none8, shape: shape16, target: target) },
      Outcome { try Reference.sparseToDenseIOS16(nonzeroData: none8, mask: none8, shape: shape16) }, "target \(target) iOS16 [4, 0]")
  }
}
