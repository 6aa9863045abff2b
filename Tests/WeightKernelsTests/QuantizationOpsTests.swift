import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// constexpr_affine_dequantize (iOS16, FORMATS.md §5) and constexpr_sparse_blockwise_shift_scale
// (iOS18, §7.5) on every SIMD target == the reference, bit for bit; invalid operands fail with
// the reference's error kind.

/// Library and reference agree: the same bits, or errors of the same kind.
private func expectSameOutcome(
  _ actual: Outcome<Tensor>, _ expected: Outcome<Tensor>, _ context: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) {
  switch (actual, expected) {
  case (.value(let a), .value(let e)): expectBits(a, e, context(), sourceLocation: sourceLocation)
  default:
    #expect(actual.kind != nil && actual.kind == expected.kind, "\(context()): library \(actual), reference \(expected)", sourceLocation: sourceLocation)
  }
}

/// A tensor of `dtype` and `shape` whose bytes are zero.
private func zeroTensor(_ dtype: DType, _ shape: [Int]) throws -> Tensor {
  try Tensor(dtype: dtype, shape: shape, bytes: [UInt8](repeating: 0, count: Tensor.byteCount(dtype: dtype, count: shape.reduce(1, *))))
}

/// A random valid affine_dequantize.
struct AffineCase: CustomStringConvertible {
  let data: Tensor
  let zeroPoint: Tensor
  let scale: Tensor
  let axis: Int

  var description: String {
    "data \(data.dtype)\(data.shape) zero_point \(zeroPoint.dtype)\(zeroPoint.shape) scale \(scale.dtype)\(scale.shape) axis \(axis)"
  }

  static func make(_ r: inout SplitMix64) throws -> AffineCase {
    let shape = r.shape(rank: r.pick([1, 1, 2, 2, 3, 4, 5]), maxCount: 3000)
    let rank = shape.count
    let axis = r.int(0..<rank)
    let extent = shape[axis]
    let data = try r.integerTensor(r.pick([.int8, .uint8]), shape: shape)
    let zeroPointType = r.pick([DType.int8, .uint8, .fp32])
    let zeroPointShape = r.chance(0.5) ? [] : [extent]
    let zeroPoint: Tensor
    if zeroPointType == .fp32 {
      // Non-integer zero points (two fp32 roundings), integral ones, sometimes specials.
      var bits = (0..<zeroPointShape.reduce(1, *)).map { _ in
        r.fp32(ValueMix(special: r.chance(0.3) ? 0.05 : 0, signallingNaN: r.chance(0.3), wide: 0.05, moderate: 120...134))
      }
      if r.chance(0.3) { bits = bits.map { Float(bitPattern: $0).isFinite ? Float(bitPattern: $0).rounded().bitPattern : $0 } }
      zeroPoint = try Tensor(fp32Bits: bits, shape: zeroPointShape)
    } else {
      zeroPoint = try r.integerTensor(zeroPointType, shape: zeroPointShape)
    }
    let scaleMix = ValueMix(
      special: r.pick([0, 0.08]), signallingNaN: r.chance(0.3), wide: 0.05, moderate: r.chance(0.2) ? 90...115 : 112...130)
    let scale = try r.floatTensor(r.pick([.fp16, .fp32]), shape: r.chance(0.5) ? [] : [extent], scaleMix)
    return AffineCase(data: data, zeroPoint: zeroPoint, scale: scale, axis: r.chance(0.4) ? axis - rank : axis)
  }
}

@Suite("affine_dequantize and sparse_blockwise_shift_scale on every target == reference")
struct QuantizationOpsTests {
  // MARK: - affine_dequantize

  @Test("affine_dequantize: any rank and axis, scalar or vector parameters, specials", .shrinking(false), arguments: SIMDTarget.compiled)
  func affineProperty(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 200) { seed in
      var r = SplitMix64(seed: seed)
      let c = try AffineCase.make(&r)
      let expected = try Reference.affineDequantize(quantizedData: c.data, zeroPoint: c.zeroPoint, scale: c.scale, axis: c.axis)
      let actual = try CoreMLOps.affineDequantize(quantizedData: c.data, zeroPoint: c.zeroPoint, scale: c.scale, axis: c.axis, target: target)
      expectBits(actual, expected, "seed \(hex(seed)) target \(target) \(c)")
    }
  }

  /// Every int8/uint8 value against every zero point of each dtype (reference computed once,
  /// compared on every supported target), and exact bits of the §5 edges: overflow to ±Inf, −0
  /// from a zero difference and a negative scale, the double rounding of an fp32 zero point
  /// (computed here with plain Float arithmetic).
  @Test("affine_dequantize: every value × zero point, §5 edges")
  func affineEdges() throws {
    var r = SplitMix64(seed: 0xAFF1)
    for dataType in [DType.int8, .uint8] {
      for zeroPointType in [DType.int8, .uint8] {
        for scaleType in [DType.fp16, .fp32] {
          // data[z, i] = value i, zero point z along axis 0, one scale per zero point.
          let values = Array(dataType.integerRange!)
          let zeroPoints = Array(zeroPointType.integerRange!)
          let data = try Tensor(integers: zeroPoints.flatMap { _ in values }, dtype: dataType, shape: [256, 256])
          let zeroPoint = try Tensor(integers: zeroPoints, dtype: zeroPointType, shape: [256])
          let scale = try r.floatTensor(scaleType, shape: [256], ValueMix(special: 0.1, wide: 0.3))
          let expected = try Reference.affineDequantize(quantizedData: data, zeroPoint: zeroPoint, scale: scale, axis: -2)
          for target in SIMDTarget.supported {
            expectBits(
              try CoreMLOps.affineDequantize(quantizedData: data, zeroPoint: zeroPoint, scale: scale, axis: -2, target: target),
              expected, "target \(target) \(dataType) data, \(zeroPointType) zero points, \(scaleType) scales")
          }
        }
      }
    }
    for target in SIMDTarget.supported {
      func affine(_ q: [Int], _ qType: DType, _ zp: Tensor, _ scale: Tensor) throws -> Tensor {
        try CoreMLOps.affineDequantize(quantizedData: Tensor(integers: q, dtype: qType, shape: [q.count]), zeroPoint: zp, scale: scale, axis: 0, target: target)
      }
      // −128 − 255 = −383 and 127 − 0 times 2^15 overflow fp16; 5 − 5 times −0.5 is −0.
      #expect(try affine([-128, 127, 5], .int8, Tensor(integers: [255, 0, 5], dtype: .uint8, shape: [3]), Tensor(fp16Bits: [0x7800, 0x7800, 0xB800], shape: [3])).fp16Bits() == [0xFC00, 0x7C00, 0x8000], "target \(target)")
      // An fp32 zero point: d = RN32(q − zp), p = RN32(d · s), out = p or RN16(p).
      let zp: Float = 0.1
      let s32: Float = 3.0000002
      let s16 = Float16(0.3334)
      let q = [0, 1, 77, 200, 255]
      #expect(try affine(q, .uint8, Tensor(floats: [zp], shape: []), Tensor(floats: [s32], shape: [])).fp32Bits() == q.map { ((Float($0) - zp) * s32).bitPattern }, "target \(target)")
      #expect(try affine(q, .uint8, Tensor(floats: [zp], shape: []), Tensor(fp16Bits: [s16.bitPattern], shape: [])).fp16Bits() == q.map { Float16((Float($0) - zp) * Float(s16)).bitPattern }, "target \(target)")
    }
  }

  /// One rule broken at a time: the library (every target) and the reference throw the same kind.
  @Test("affine_dequantize: invalid operands", arguments: SIMDTarget.compiled)
  func affineInvalid(target: SIMDTarget) throws {
    try requireSupported(target)
    let data = try zeroTensor(.int8, [3, 4, 5])
    let zp = try zeroTensor(.uint8, [4])
    let scale = try zeroTensor(.fp16, [4])
    let cases: [(String, WeightKernelsError.Kind, Tensor, Tensor, Tensor, Int)] = [
      ("fp16 data", .invalidDType, try zeroTensor(.fp16, [3, 4, 5]), zp, scale, 1),
      ("int4 data", .invalidDType, try zeroTensor(.int4, [3, 4, 5]), zp, scale, 1),
      ("uint4 data", .invalidDType, try zeroTensor(.uint4, [3, 4, 5]), zp, scale, 1),
      ("int16 data", .invalidDType, try zeroTensor(.int16, [3, 4, 5]), zp, scale, 1),
      ("fp16 zero point", .invalidDType, data, try zeroTensor(.fp16, [4]), scale, 1),
      ("int4 zero point", .invalidDType, data, try zeroTensor(.int4, [4]), scale, 1),
      ("int32 zero point", .invalidDType, data, try zeroTensor(.int32, [4]), scale, 1),
      ("int8 scale", .invalidDType, data, zp, try zeroTensor(.int8, [4]), 1),
      ("uint8 scale", .invalidDType, data, zp, try zeroTensor(.uint8, [4]), 1),
      ("axis 3 for rank 3", .invalidArgument, data, zp, scale, 3),
      ("axis −4 for rank 3", .invalidArgument, data, zp, scale, -4),
      ("axis 2³¹", .invalidArgument, data, zp, scale, 1 << 31),
      ("axis −2³¹ − 1", .invalidArgument, data, zp, scale, -(1 << 31) - 1),
      ("rank-0 data", .invalidArgument, try zeroTensor(.int8, []), try zeroTensor(.uint8, []), try zeroTensor(.fp16, []), 0),
      ("rank-2 scale", .invalidShape, data, zp, try zeroTensor(.fp16, [1, 4]), 1),
      ("rank-2 zero point", .invalidShape, data, try zeroTensor(.uint8, [4, 1]), scale, 1),
      ("scale of 5 along an axis of 4", .invalidShape, data, zp, try zeroTensor(.fp32, [5]), 1),
      ("zero point of 3 along an axis of 4", .invalidShape, data, try zeroTensor(.fp32, [3]), scale, -2),
      ("one-element scale along an axis of 4", .invalidShape, data, zp, try zeroTensor(.fp16, [1]), 1),
    ]
    for (name, kind, d, z, s, axis) in cases {
      let expected = Outcome { try Reference.affineDequantize(quantizedData: d, zeroPoint: z, scale: s, axis: axis) }
      let actual = Outcome { try CoreMLOps.affineDequantize(quantizedData: d, zeroPoint: z, scale: s, axis: axis, target: target) }
      #expect(expected.kind == kind, "\(name): reference \(expected), expected \(kind)")
      expectSameOutcome(actual, expected, "target \(target) \(name)")
    }
  }

  // MARK: - sparse_blockwise_shift_scale

  /// A uint1 mask of `bits`; with `garbagePadding` the unused high bits of the last byte are
  /// random (ignored by the op, passed through in its output mask).
  static func mask(_ r: inout SplitMix64, _ bits: [Int], shape: [Int], garbagePadding: Bool) throws -> Tensor {
    var bytes = BitPacking.pack(bits, dtype: .uint1)
    if garbagePadding, bits.count % 8 != 0 {
      bytes[bytes.count - 1] |= UInt8(truncatingIfNeeded: r.next()) & UInt8(truncatingIfNeeded: 0xFF << (bits.count % 8))
    }
    return try Tensor(dtype: .uint1, shape: shape, bytes: bytes)
  }

  /// Both outputs against the reference; the output mask must be the input's bytes (padding
  /// included); and each value equals blockwise_shift_scale of the densified data at its one.
  static func checkSparse(
    mask: Tensor, data: Tensor, scale: Tensor, offset: Tensor?, target: SIMDTarget, label: String
  ) throws {
    let context = "\(label) target \(target) mask \(mask.shape) data \(data.dtype)\(data.shape) scale \(scale.dtype)\(scale.shape) offset \(offset.map { "\($0.dtype)\($0.shape)" } ?? "nil")"
    let expected = try Reference.sparseBlockwiseShiftScale(dataMask: mask, nonzeroData: data, scale: scale, offset: offset)
    let actual = try CoreMLOps.sparseBlockwiseShiftScale(dataMask: mask, nonzeroData: data, scale: scale, offset: offset, target: target)
    #expect(actual.mask.bytes == mask.bytes && actual.mask.shape == mask.shape, "\(context): output mask \(actual.mask.bytes.suffix(2)) vs \(mask.bytes.suffix(2))")
    expectBits(actual.mask, expected.mask, "\(context): mask")
    expectBits(actual.nonzeroData, expected.nonzeroData, "\(context): values")

    let dense = try CoreMLOps.blockwiseShiftScale(
      data: CoreMLOps.sparseToDenseIOS18(nonzeroData: data, mask: mask, target: target), scale: scale, offset: offset, target: target)
    let ones = mask.integers().enumerated().filter { $0.element == 1 }.map(\.offset)
    let gathered = ones.map { dense.rawElement($0) }
    let values = (0..<actual.nonzeroData.count).map { actual.nonzeroData.rawElement($0) }
    #expect(values == gathered, "\(context): values differ from blockwise_shift_scale of the dense data at the ones")
  }

  /// Shapes of rank 1–8, every data dtype, any grid (per tensor, per axis, per block,
  /// elementwise), every offset kind, densities 0 (D = 0) to 1, garbage mask padding, NaNs
  /// (signalling too) in data, scale and offset.
  @Test("sparse_blockwise_shift_scale: dtypes, grids, offsets, densities", .shrinking(false), arguments: SIMDTarget.compiled)
  func sparseProperty(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 100) { seed in
      var r = SplitMix64(seed: seed)
      let c = try ShiftScaleCase.make(&r, signalling: r.chance(0.2))
      let shape = c.data.shape
      let density = r.pick([0, 0.03, 0.5, 0.97, 1, Double.random(in: 0...1, using: &r)])
      let bits = (0..<shape.reduce(1, *)).map { _ in r.chance(density) ? 1 : 0 }
      let mask = try Self.mask(&r, bits, shape: shape, garbagePadding: r.chance(0.6))
      let mix = ValueMix(special: r.pick([0, 0.05]), signallingNaN: r.chance(0.2), wide: r.pick([0, 0.1, 0.5]))
      let data = try r.tensor(c.data.dtype, shape: [bits.reduce(0, +)], mix)
      try Self.checkSparse(mask: mask, data: data, scale: c.scale, offset: c.offset, target: target, label: "seed \(hex(seed))")
    }
  }

  /// Every element count 0…40 (every padding width, D = 0 and D = N) × data dtype, per-tensor
  /// and elementwise scales.
  @Test("sparse_blockwise_shift_scale: every N 0…40 × dtype × density 0, ½, 1", arguments: SIMDTarget.compiled)
  func sparseEveryCount(target: SIMDTarget) throws {
    try requireSupported(target)
    for count in 0...40 {
      for dataType in ShiftScaleCase.dataTypes {
        for density in [0, 0.5, 1] {
          let seed = UInt64(count) << 16 | UInt64(dataType.rawValue) << 4 | UInt64(density * 2)
          var r = SplitMix64(seed: seed)
          let bits = (0..<count).map { _ in r.chance(density) ? 1 : 0 }
          let mask = try Self.mask(&r, bits, shape: [count], garbagePadding: true)
          let data = try r.tensor(dataType, shape: [bits.reduce(0, +)], .moderate)
          let grid = [count > 0 && r.chance(0.5) ? count : 1]
          let scaleType = r.pick([DType.fp16, .fp32])
          let offset = dataType.isFloatingPoint || r.chance(0.5)
            ? try r.floatTensor(scaleType, shape: grid, .moderate) : try r.integerTensor(dataType, shape: grid)
          let scale = try r.floatTensor(scaleType, shape: grid, .moderate)
          try Self.checkSparse(mask: mask, data: data, scale: scale, offset: r.chance(0.7) ? offset : nil, target: target, label: "seed \(hex(seed))")
        }
      }
    }
  }

  /// One rule broken at a time: the library (every target) and the reference throw the same kind.
  @Test("sparse_blockwise_shift_scale: invalid operands", arguments: SIMDTarget.compiled)
  func sparseInvalid(target: SIMDTarget) throws {
    try requireSupported(target)
    var r = SplitMix64(seed: 0x5B55)
    let bits = (0..<45).map { _ in r.chance(0.5) ? 1 : 0 }
    let ones = bits.reduce(0, +)
    let mask = try Self.mask(&r, bits, shape: [3, 15], garbagePadding: true)
    let data = try r.integerTensor(.int4, shape: [ones])
    let scale = try r.floatTensor(.fp16, shape: [3, 5], .moderate)
    let cases: [(String, WeightKernelsError.Kind, Tensor, Tensor, Tensor, Tensor?)] = [
      ("uint8 mask", .invalidDType, try Tensor(integers: bits, dtype: .uint8, shape: [3, 15]), data, scale, nil),
      ("uint2 mask", .invalidDType, try Tensor(integers: bits, dtype: .uint2, shape: [3, 15]), data, scale, nil),
      ("D = ones + 1", .invalidShape, mask, try r.integerTensor(.int4, shape: [ones + 1]), scale, nil),
      ("D = ones − 1", .invalidShape, mask, try r.floatTensor(.fp32, shape: [ones - 1], .moderate), scale, nil),
      ("data rank 2", .invalidShape, mask, try r.integerTensor(.int4, shape: [1, ones]), scale, nil),
      ("uint2 data", .invalidDType, mask, try r.integerTensor(.uint2, shape: [ones]), scale, nil),
      ("int16 data", .invalidDType, mask, try r.integerTensor(.int16, shape: [ones]), scale, nil),
      ("int8 scale", .invalidDType, mask, data, try r.integerTensor(.int8, shape: [3, 5]), nil),
      ("scale rank 1", .invalidShape, mask, data, try r.floatTensor(.fp16, shape: [5], .moderate), nil),
      ("scale 4 blocks over 15", .invalidShape, mask, data, try r.floatTensor(.fp32, shape: [3, 4], .moderate), nil),
      ("scale 0 blocks", .invalidShape, mask, data, try zeroTensor(.fp32, [0, 5]), nil),
      ("offset shape [3, 1]", .invalidShape, mask, data, scale, try r.integerTensor(.int4, shape: [3, 1])),
      ("uint4 offset for int4 data", .invalidDType, mask, data, scale, try r.integerTensor(.uint4, shape: [3, 5])),
      ("int8 offset for fp16 data", .invalidDType, mask, try r.floatTensor(.fp16, shape: [ones], .moderate), scale, try r.integerTensor(.int8, shape: [3, 5])),
      ("uint1 offset", .invalidDType, mask, data, scale, try zeroTensor(.uint1, [3, 5])),
      ("fp32 offset with fp16 scale", .unsupported, mask, data, scale, try r.floatTensor(.fp32, shape: [3, 5], .moderate)),
    ]
    for (name, kind, m, d, s, o) in cases {
      let expected = Outcome { try Reference.sparseBlockwiseShiftScale(dataMask: m, nonzeroData: d, scale: s, offset: o).nonzeroData }
      let actual = Outcome { try CoreMLOps.sparseBlockwiseShiftScale(dataMask: m, nonzeroData: d, scale: s, offset: o, target: target).nonzeroData }
      #expect(expected.kind == kind, "\(name): reference \(expected), expected \(kind)")
      expectSameOutcome(actual, expected, "target \(target) \(name)")
    }
  }
}
