import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// constexpr_cast (FORMATS.md §6) and constexpr_blockwise_shift_scale (§7.3) on every SIMD target
// == the reference, bit for bit.

/// A random valid blockwise_shift_scale.
struct ShiftScaleCase: CustomStringConvertible {
  let data: Tensor
  let scale: Tensor
  let offset: Tensor?

  var description: String {
    "data \(data.dtype)\(data.shape) scale \(scale.dtype)\(scale.shape) offset \(offset.map { "\($0.dtype)\($0.shape)" } ?? "nil")"
  }

  static let dataTypes: [DType] = [.int4, .uint4, .int8, .uint8, .fp16, .fp32]

  static func make(_ r: inout SplitMix64, signalling: Bool = false) throws -> ShiftScaleCase {
    let shape = r.shape(rank: r.pick([1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8]), maxCount: 3000)
    let dataType = r.pick(dataTypes)
    let scaleType = r.pick([DType.fp16, .fp32])
    // Per tensor, per channel (one axis), per block, elementwise: any grid dividing the shape.
    let grid: [Int]
    switch r.int(0..<4) {
    case 0: grid = shape.map { _ in 1 }
    case 1:
      let axis = r.int(0..<shape.count)
      grid = shape.indices.map { $0 == axis ? shape[$0] : 1 }
    case 2: grid = shape
    default: grid = shape.map { r.divisor(of: $0) }
    }
    let dataMix = ValueMix(special: r.pick([0, 0.03, 0.1]), signallingNaN: signalling, wide: r.pick([0, 0.1, 0.5]))
    let data = try r.tensor(dataType, shape: shape, dataMix)
    let scaleMix = ValueMix(special: r.pick([0, 0.05]), signallingNaN: signalling, wide: 0.05, moderate: r.chance(0.2) ? 90...115 : 115...132)
    let scale = try r.floatTensor(scaleType, shape: grid, scaleMix)
    var offset: Tensor?
    if r.chance(0.6) {
      var offsetTypes = [DType.fp16]
      if !dataType.isFloatingPoint { offsetTypes += [dataType, dataType] }
      if scaleType == .fp32 { offsetTypes.append(.fp32) }
      let offsetType = r.pick(offsetTypes)
      offset = try r.tensor(offsetType, shape: grid, ValueMix(special: r.pick([0, 0.05]), signallingNaN: signalling, wide: 0.1))
    }
    return ShiftScaleCase(data: data, scale: scale, offset: offset)
  }
}

@Suite("cast and blockwise_shift_scale on every target == reference")
struct CastAndShiftScaleTests {
  @Test("cast: every fp16 bit pattern", arguments: SIMDTarget.compiled)
  func castExhaustive(target: SIMDTarget) throws {
    try requireSupported(target)
    let all = try Tensor(fp16Bits: (0...0xFFFF).map { UInt16($0) }, shape: [256, 256])
    let actual = try CoreMLOps.cast(all, to: .fp32, target: target)
    expectBits(actual, try Reference.cast(all, to: .fp32), "target \(target) all fp16 patterns")
    // Signalling NaNs keep payload and quiet bit; quiet ones stay quiet.
    let nans = try Tensor(fp16Bits: [0x7C01, 0xFC01, 0x7D55, 0x7DFF, 0x7E00, 0xFFFF, 0x7C00, 0x0001, 0x8000], shape: [9])
    #expect(try CoreMLOps.cast(nans, to: .fp32, target: target).fp32Bits()
      == [0x7F80_2000, 0xFF80_2000, 0x7FAA_A000, 0x7FBF_E000, 0x7FC0_0000, 0xFFFF_E000, 0x7F80_0000, 0x3380_0000, 0x8000_0000])
  }

  @Test("cast: random shapes (rank 0…8), any bits", .shrinking(false), arguments: SIMDTarget.compiled)
  func castProperty(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 100) { seed in
      var r = SplitMix64(seed: seed)
      let shape = r.shape(rank: r.int(0...8), maxCount: 3000)
      let source = try r.floatTensor(.fp16, shape: shape, .anyBits)
      let actual = try CoreMLOps.cast(source, to: .fp32, target: target)
      expectBits(actual, try Reference.cast(source, to: .fp32), "seed \(hex(seed)) target \(target) shape \(shape)")
    }
  }

  @Test("blockwise_shift_scale: random dtypes, grids, offsets, specials", .shrinking(false), arguments: SIMDTarget.compiled)
  func shiftScaleProperty(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 300) { seed in
      var r = SplitMix64(seed: seed)
      let c = try ShiftScaleCase.make(&r)
      let expected = try Reference.blockwiseShiftScale(data: c.data, scale: c.scale, offset: c.offset)
      let actual = try CoreMLOps.blockwiseShiftScale(data: c.data, scale: c.scale, offset: c.offset, target: target)
      expectBits(actual, expected, "seed \(hex(seed)) target \(target) \(c)")
    }
  }

  /// Signalling NaNs in data, scale and offset: the NaN rule (data-side NaN first, quieted;
  /// payload kept) and numpy's fp32 → fp16 narrowing of the data.
  @Test("blockwise_shift_scale: signalling NaNs", .shrinking(false), arguments: SIMDTarget.compiled)
  func shiftScaleSignalling(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 100) { seed in
      var r = SplitMix64(seed: seed)
      let c = try ShiftScaleCase.make(&r, signalling: true)
      let expected = try Reference.blockwiseShiftScale(data: c.data, scale: c.scale, offset: c.offset)
      let actual = try CoreMLOps.blockwiseShiftScale(data: c.data, scale: c.scale, offset: c.offset, target: target)
      expectBits(actual, expected, "seed \(hex(seed)) target \(target) \(c)")
    }
  }

  /// Rounding edges of §7.3: −0 from a negative scale, overflow to Inf, subnormal results, the
  /// fp16 offset difference rounded before the multiply, fp32 data narrowed to an fp16 scale.
  @Test("blockwise_shift_scale: FORMATS.md §7.3 edges", arguments: SIMDTarget.compiled)
  func shiftScaleEdges(target: SIMDTarget) throws {
    try requireSupported(target)
    func both(_ data: Tensor, _ scale: Tensor, _ offset: Tensor?, _ label: String) throws {
      expectBits(
        try CoreMLOps.blockwiseShiftScale(data: data, scale: scale, offset: offset, target: target),
        try Reference.blockwiseShiftScale(data: data, scale: scale, offset: offset), "target \(target) \(label)")
    }
    let f16 = { (bits: [UInt16], shape: [Int]) in try Tensor(fp16Bits: bits, shape: shape) }
    // y = 0 with a negative scale: −0.
    try both(Tensor(integers: [3, 3, -8, 7], dtype: .int4, shape: [4]), f16([0xB800], [1]), Tensor(integers: [3], dtype: .int4, shape: [1]), "−0")
    // fp16 overflow: 127 · 32768 and −128 · 32768.
    try both(Tensor(integers: [127, -128], dtype: .int8, shape: [2]), f16([0x7800], [1]), nil, "overflow")
    // Subnormal fp16 and fp32 results.
    try both(Tensor(integers: [1, 2, 3, 255], dtype: .uint8, shape: [4]), f16([0x0001, 0x0200], [2]), nil, "fp16 subnormal")
    try both(Tensor(integers: [1, -3, 5, 7], dtype: .int8, shape: [4]), Tensor(fp32Bits: [0x0000_0001, 0x0040_0000], shape: [2]), nil, "fp32 subnormal scale")
    // The fp16 offset difference rounds first (0xC570, not 0xC571).
    try both(Tensor(integers: [-12], dtype: .int8, shape: [1]), f16([0x3842], [1]), f16([0xBF1E], [1]), "fp16 offset rounding")
    #expect(try CoreMLOps.blockwiseShiftScale(
      data: Tensor(integers: [-12], dtype: .int8, shape: [1]), scale: f16([0x3842], [1]), offset: f16([0xBF1E], [1]), target: target).fp16Bits() == [0xC570])
    // fp32 data with an fp16 scale: narrowed (ties, overflow, subnormals) before the multiply.
    let narrow = try Tensor(fp32Bits: [0x3F80_1000, 0x3F80_3000, 0x477F_F000, 0x3300_0001, 0x387F_E000, 0xC77F_EFFF], shape: [6])
    try both(narrow, f16([0x3C00], [1]), nil, "fp32 data narrowed to fp16")
    try both(narrow, f16([0x3C00], [1]), f16([0x0001], [1]), "fp32 data narrowed, fp16 offset")
    // Elementwise grid, every int4 value against every int4 offset.
    let values = (0..<256).map { $0 / 16 - 8 }
    let offsets = (0..<256).map { $0 % 16 - 8 }
    try both(
      Tensor(integers: values, dtype: .int4, shape: [16, 16]), Tensor(fp32Bits: Array(repeating: 0xBE80_0000, count: 256), shape: [16, 16]),
      Tensor(integers: offsets, dtype: .int4, shape: [16, 16]), "int4 elementwise")
  }
}
