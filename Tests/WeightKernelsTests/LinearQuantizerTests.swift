import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// LinearQuantizer: the encoder of coremltools 9.0's linear_quantize_weights (FORMATS.md §9).
// Random weights round-trip through the reference blockwise_shift_scale decoder; the exact bytes are
// pinned by hand-worked examples (numpy semantics, each confirmed with coremltools 9.0 / numpy 2.4.6).
// No api_* fixture records its source weight, so no fixture can be re-encoded.

@Suite("LinearQuantizer: coremltools linear_quantize_weights encoder")
struct LinearQuantizerTests {
  static let dtypes: [DType] = [.int4, .uint4, .int8, .uint8]
  static let modes: [QuantizationMode] = [.linear, .linearSymmetric]

  /// `get_quant_range`: symmetric drops the signed minimum and the unsigned maximum.
  static func quantRange(_ dtype: DType, _ mode: QuantizationMode) -> ClosedRange<Int> {
    let full = dtype.integerRange!
    guard mode == .linearSymmetric else { return full }
    return dtype.isSigned ? (full.lowerBound + 1)...full.upperBound : full.lowerBound...(full.upperBound - 1)
  }

  /// Blocks per axis as FORMATS.md §9 states them for each granularity.
  static func expectedGrid(_ shape: [Int], _ granularity: QuantizationGranularity, output: Int, input: Int) -> [Int] {
    var grid = shape.map { _ in 1 }
    switch granularity {
    case .perTensor: break
    case .perChannel: grid[output] = shape[output]
    case .perBlock(let size):
      grid[output] = shape[output]
      grid[input] = size == 0 ? 1 : shape[input] / size
    }
    return grid
  }

  /// A weight with a random magnitude scale, some zeros, and sometimes an all-zero or constant
  /// slice along axis 0.
  static func randomWeight(_ r: inout SplitMix64, _ dtype: DType, _ shape: [Int]) throws -> Tensor {
    let low = r.int(100...127)
    let mix = ValueMix(special: 0, wide: 0, moderate: low...r.int(low...131))
    let count = shape.reduce(1, *)
    var values = (0..<count).map { _ -> Float in
      if r.chance(0.1) { return 0 }
      return dtype == .fp16 ? Float(Float16(bitPattern: r.fp16(mix))) : Float(bitPattern: r.fp32(mix))
    }
    let slice = count / shape[0]
    if shape[0] > 1 && r.chance(0.5) {
      let start = r.int(0..<shape[0]) * slice
      let constant: Float = r.chance(0.5) ? 0 : values[start]
      for i in start..<(start + slice) { values[i] = constant }
    }
    if dtype == .fp16 { return try Tensor(fp16Bits: values.map { Float16($0).bitPattern }, shape: shape) }
    return try Tensor(floats: values, shape: shape)
  }

  /// Checks the operands' types and shapes, the data range, the offset rule, and that decoding
  /// with the reference gives back each weight within `scale/2` plus rounding: `RN_T(w/scale)` and
  /// the decoded product each add one unit roundoff; a value clipped at the end of the range also
  /// absorbs how far the stored scale and zero point are from their exact values.
  static func checkRoundTrip(
    _ weight: Tensor, _ result: QuantizedWeight, dtype: DType, mode: QuantizationMode, grid: [Int],
    _ context: String
  ) throws {
    let range = quantRange(dtype, mode)
    #expect(result.data.dtype == dtype && result.data.shape == weight.shape, "\(context): data \(result.data)")
    #expect(result.scale.dtype == weight.dtype && result.scale.shape == grid, "\(context): scale \(result.scale), grid \(grid)")
    let zeroPoints: [Int]
    if mode == .linearSymmetric && dtype.isSigned {
      #expect(result.offset == nil, "\(context): signed symmetric must have no offset")
      zeroPoints = [Int](repeating: 0, count: grid.reduce(1, *))
    } else {
      let offset = try #require(result.offset, "\(context): offset missing")
      #expect(offset.dtype == dtype && offset.shape == grid, "\(context): offset \(offset)")
      zeroPoints = offset.integers()
      if mode == .linearSymmetric {
        #expect(zeroPoints.allSatisfy { $0 == range.upperBound / 2 }, "\(context): offsets \(zeroPoints)")
      }
    }
    let data = result.data.integers()
    #expect(data.allSatisfy { range.contains($0) }, "\(context): data outside \(range)")

    let values = weight.floats().map(Double.init)
    let scales = result.scale.floats().map(Double.init)
    let decoded = try Reference.blockwiseShiftScale(data: result.data, scale: result.scale, offset: result.offset)
      .floats().map(Double.init)
    let blockOf = (0..<values.count).map { i -> Int in
      let c = coordinates(i, shape: weight.shape)
      return weight.shape.indices.reduce(0) { $0 * grid[$1] + c[$1] / (weight.shape[$1] / grid[$1]) }
    }
    var low = [Double](repeating: 0, count: scales.count)  // range always includes 0 (linear)
    var high = [Double](repeating: 0, count: scales.count)
    var maxAbs = [Double](repeating: 0, count: scales.count)
    for (i, w) in values.enumerated() {
      low[blockOf[i]] = min(low[blockOf[i]], w)
      high[blockOf[i]] = max(high[blockOf[i]], w)
      maxAbs[blockOf[i]] = max(maxAbs[blockOf[i]], abs(w))
    }
    let unit = weight.dtype == .fp16 ? 0x1p-11 : 0x1p-24
    let halfSubnormal = weight.dtype == .fp16 ? 0x1p-25 : 0x1p-150
    let steps = Double(range.upperBound - range.lowerBound)
    var failures = 0
    for (i, w) in values.enumerated() {
      let b = blockOf[i]
      let s = scales[b]
      let (vmin, vmax) = mode == .linear ? (low[b], high[b]) : (-maxAbs[b], maxAbs[b])
      let span = vmax - vmin
      var tolerance = s / 2 + unit * (abs(w) + abs(decoded[i])) + halfSubnormal
      if data[i] == range.lowerBound || data[i] == range.upperBound, span > 0 {
        let exactZeroPoint = (Double(range.lowerBound) * vmax - Double(range.upperBound) * vmin) / span
        tolerance += abs(s * steps - span) + s * abs(Double(zeroPoints[b]) - exactZeroPoint)
      }
      if !(abs(decoded[i] - w) <= tolerance) {
        failures += 1
        if failures <= 3 {
          Issue.record("\(context): element \(i) w \(w) → q \(data[i]) scale \(s) zp \(zeroPoints[b]) decodes to \(decoded[i]), tolerance \(tolerance)")
        }
      }
    }
  }

  @Test("random weights, every dtype × mode × granularity: decode within scale/2, data in range", .shrinking(false))
  func roundTrip() async {
    await Property.check(count: 40) { seed in
      var r = SplitMix64(seed: seed)
      let weightType = r.pick([DType.fp16, .fp32])
      let shape = r.shape(rank: r.int(1...4), maxCount: 240, maxExtent: 40)
      let weight = try Self.randomWeight(&r, weightType, shape)
      let rank = shape.count
      var output = 0
      var input = 1
      var granularities: [QuantizationGranularity] = [.perTensor]
      if rank >= 2 {
        output = r.int(0..<rank)
        input = (output + r.int(1..<rank)) % rank
        granularities += [.perChannel, .perBlock(r.divisor(of: shape[input])), .perBlock(0)]
      }
      // Negative axes count from the end.
      let outputArgument = r.chance(0.3) ? output - rank : output
      let inputArgument = r.chance(0.3) ? input - rank : input
      for dtype in Self.dtypes {
        for mode in Self.modes {
          for granularity in granularities {
            let context = "seed \(hex(seed)) \(weightType)\(shape) \(dtype) \(mode) \(granularity) axes \(outputArgument)/\(inputArgument)"
            let result = try LinearQuantizer.quantize(
              weight, dtype: dtype, mode: mode, granularity: granularity,
              outputChannelAxis: outputArgument, inputChannelAxis: inputArgument)
            try Self.checkRoundTrip(
              weight, result, dtype: dtype, mode: mode,
              grid: Self.expectedGrid(shape, granularity, output: output, input: input), context)
          }
        }
      }
    }
  }

  @Test("hand-worked: linear int8 per-channel, fp32")
  func linearInt8PerChannel() throws {
    // Row 0: vmin −1, vmax 2.984375; span 3.984375 = 255/64, so scale = 1/64 exactly;
    //   zp = (−128·2.984375 − 127·(−1)) / 3.984375 = −255 / 3.984375 = −64;
    //   q = round(64·w) − 64: 64·w = [−64, 191, 32, 0.5, 1.5] → [−64, 191, 32, 0, 2] (half to even)
    //   → [−128, 127, −32, −64, −62].
    // Row 1: all ≤ 0, so vmax = 0, vmin = −2; scale = RN32(2/255) = 0x3C008081;
    //   zp = (−128·0 − 127·(−2)) / 2 = 127; w/scale ≈ [−255, −63.75, −159.375, −255, 0]
    //   → [−255, −64, −159, −255, 0] + 127 = [−128, 63, −32, −128, 127].
    let weight = try Tensor(floats: [-1.0, 2.984375, 0.5, 0.0078125, 0.0234375, -2.0, -0.5, -1.25, -2.0, 0.0], shape: [2, 5])
    let q = try LinearQuantizer.quantize(weight, dtype: .int8, mode: .linear, granularity: .perChannel)
    #expect(q.data == (try Tensor(integers: [-128, 127, -32, -64, -62, -128, 63, -32, -128, 127], dtype: .int8, shape: [2, 5])))
    #expect(q.scale == (try Tensor(fp32Bits: [0x3C80_0000, 0x3C00_8081], shape: [2, 1])))
    #expect(q.offset == (try Tensor(integers: [-64, 127], dtype: .int8, shape: [2, 1])))
  }

  @Test("hand-worked: linear_symmetric uint4 per-block 4, fp16")
  func symmetricUInt4PerBlock() throws {
    // Range [0, 14], zp = 14 // 2 = 7, scale = RN16(2m / 14) with m = max|w| of the block, and
    // q = round(RN16(w / scale)) + 7. fp16 ulps: 2⁻⁸ on [4, 8), 2⁻⁹ on [2, 4), 2⁻¹⁰ on [1, 2).
    // (0,0) m 3.5: scale 0.5 (0x3800); w/scale = [7, −2.5, 0.5, −7] → [7, −2, 0, −7] → [14, 5, 7, 0].
    // (0,1) m 1: scale = RN16(1/7) = 1170·2⁻¹³ (0x3092). 1/scale = 7.0017 → RN16 7 → 14; −1 → 0;
    //   1463·2⁻¹²/scale = 2926/1170 = 2.50085 → RN16 2.5 → half to even 2 → 9 (the exact quotient
    //   would round to 3); −0.0625/scale = −0.43760 → RN16 −0.4375 → −0 → 7.
    // (1,0) m 2: scale = RN16(2/7) = 1170·2⁻¹² (0x3492). −2 → −7.0017 → −7 → 0;
    //   1 → 3.50085 → RN16 3.5 → 4 → 11; 0.5 → 1.75043 → RN16 1.75 → 2 → 9; 0 → 7.
    // (1,1) m 0.375: scale = RN16(0.75/14 = 0.0535714) = 1755·2⁻¹⁵ (0x2ADB).
    //   0.125 → 2.33390 → 2 → 9; 0.25 → 4.66781 → 5 → 12; −0.375 → −7.0017 → −7 → 0; 0.0625 → 1.16695 → 1 → 8.
    let values: [Float] = [3.5, -1.25, 0.25, -3.5, 1.0, -1.0, 1463 * 0x1p-12, -0.0625,
                           -2.0, 1.0, 0.5, 0.0, 0.125, 0.25, -0.375, 0.0625]
    let weight = try Tensor(fp16Bits: values.map { Float16($0).bitPattern }, shape: [2, 8])
    let q = try LinearQuantizer.quantize(weight, dtype: .uint4, mode: .linearSymmetric, granularity: .perBlock(4))
    #expect(q.data == (try Tensor(integers: [14, 5, 7, 0, 14, 0, 9, 7, 0, 11, 9, 7, 9, 12, 0, 8], dtype: .uint4, shape: [2, 8])))
    #expect(q.scale == (try Tensor(fp16Bits: [0x3800, 0x3092, 0x3492, 0x2ADB], shape: [2, 2])))
    #expect(q.offset == (try Tensor(integers: [7, 7, 7, 7], dtype: .uint4, shape: [2, 2])))
  }

  @Test("hand-worked: fp16 weights are quantized in fp16 arithmetic (span, zero point, w/scale)")
  func fp16Arithmetic() throws {
    // linear uint8 per-tensor of [0.9375, −7, −155, 3.9375]: vmin −155, vmax 3.9375.
    // span 158.9375 is a tie on the 0.125 grid → RN16 159; scale = RN16(159/255 = 0.6235294)
    //   = 1277·2⁻¹¹ = 0.62353515625 (0x38FD).
    // zp: 0·3.9375 − RN16(255·(−155) = −39525) = 39520 (ulp 32); 39520/159 = 248.55 → RN16 248.5
    //   → half to even 248 (fp64 arithmetic would give 249).
    // w/scale: 1.50352 → RN16 1.50390625 → 2 → 250; −11.2263 → −11 → 237; −248.58 → RN16 −248.625
    //   → −249 → −1 → clipped to 0; 6.3147 → 6 → 254.
    let weight = try Tensor(fp16Bits: [0.9375, -7, -155, 3.9375].map { Float16($0).bitPattern }, shape: [1, 4])
    let q = try LinearQuantizer.quantize(weight, dtype: .uint8, mode: .linear, granularity: .perTensor)
    #expect(q.data == (try Tensor(integers: [250, 237, 0, 254], dtype: .uint8, shape: [1, 4])))
    #expect(q.scale == (try Tensor(fp16Bits: [0x38FD], shape: [1, 1])))
    #expect(q.offset == (try Tensor(integers: [248], dtype: .uint8, shape: [1, 1])))
  }

  @Test("fp16 overflow and underflow follow coremltools (inf scale, NaN zero point → 0, saturation)")
  func fp16OverflowAndUnderflow() throws {
    // coremltools keeps these results; a caller should avoid such ranges, but must get the same bytes.
    // (a) uint8 linear of [1.4375, −314.5, 3.375, −7]: 255·(−314.5) overflows fp16 to −inf, so the
    //   zero point is inf → clipped 255 and every positive weight saturates. span 317.875 (tie on
    //   the 0.25 grid) → 318; scale RN16(318/255) = 1277·2⁻¹⁰ (0x3CFD); w/scale = [1.15, −252.19,
    //   2.71, −5.61] → [1, −252, 3, −6] + 255 → [255 (clipped), 3, 255 (clipped), 249].
    let a = try Tensor(fp16Bits: [1.4375, -314.5, 3.375, -7].map { Float16($0).bitPattern }, shape: [1, 4])
    let qa = try LinearQuantizer.quantize(a, dtype: .uint8, mode: .linear, granularity: .perTensor)
    #expect(qa.data == (try Tensor(integers: [255, 3, 255, 249], dtype: .uint8, shape: [1, 4])))
    #expect(qa.scale == (try Tensor(fp16Bits: [0x3CFD], shape: [1, 1])))
    #expect(qa.offset == (try Tensor(integers: [255], dtype: .uint8, shape: [1, 1])))

    // (b) per channel, u = 2⁻²⁴ (the smallest fp16 subnormal).
    //   Row 0 [−60000, 60000, 1, 0]: span 120000 → inf, scale inf, w/inf = 0.
    //     linear: zp = (−inf − (−inf)) / inf = NaN → offset 0, data NaN → 0.
    //     symmetric uint8: data 0 + 127 = 127.
    //   Row 1 [2u, −3u, 0, 5u]: span 8u, 8u/255 underflows to scale 0.
    //     linear int8: zp = (−640u + 381u) / 8u = −32.375 → −32; ±w/0 = ±inf → clipped to 127 / −128;
    //     0/0 = NaN → 0 (numpy casts NaN to 0).
    //     symmetric uint8: m 5u, scale 0; ±inf + 127 → 254 / 0; 0 → NaN → 0.
    let b = try Tensor(fp16Bits: [0xFB53, 0x7B53, 0x3C00, 0x0000, 0x0002, 0x8003, 0x0000, 0x0005], shape: [2, 4])
    let linear = try LinearQuantizer.quantize(b, dtype: .int8, mode: .linear, granularity: .perChannel)
    #expect(linear.data == (try Tensor(integers: [0, 0, 0, 0, 127, -128, 0, 127], dtype: .int8, shape: [2, 4])))
    #expect(linear.scale == (try Tensor(fp16Bits: [0x7C00, 0x0000], shape: [2, 1])))
    #expect(linear.offset == (try Tensor(integers: [0, -32], dtype: .int8, shape: [2, 1])))
    let symmetric = try LinearQuantizer.quantize(b, dtype: .uint8, mode: .linearSymmetric, granularity: .perChannel)
    #expect(symmetric.data == (try Tensor(integers: [127, 127, 127, 127, 254, 0, 0, 254], dtype: .uint8, shape: [2, 4])))
    #expect(symmetric.scale == (try Tensor(fp16Bits: [0x7C00, 0x0000], shape: [2, 1])))
    #expect(symmetric.offset == (try Tensor(integers: [127, 127], dtype: .uint8, shape: [2, 1])))
  }

  @Test("all-zero channel: scale +0, data 0, offset 0 (qmax/2 for unsigned symmetric)", arguments: [DType.fp16, .fp32])
  func allZeroChannel(weightType: DType) throws {
    // vmin = vmax = 0 (±0 alike): scale 0, w/scale = 0/0 = NaN, and numpy casts NaN to 0.
    let values: [Float] = [-0.0, 0, 0, -0.0, 1, -2, 0.5, 3]
    let weight = weightType == .fp16
      ? try Tensor(fp16Bits: values.map { Float16($0).bitPattern }, shape: [2, 4])
      : try Tensor(floats: values, shape: [2, 4])
    for dtype in Self.dtypes {
      for mode in Self.modes {
        let q = try LinearQuantizer.quantize(weight, dtype: dtype, mode: mode, granularity: .perChannel)
        let context = "\(weightType) \(dtype) \(mode)"
        #expect(Array(q.data.integers()[0..<4]) == [0, 0, 0, 0], "\(context)")
        #expect(q.scale.floats()[0].bitPattern == 0 && q.scale.floats()[1] > 0, "\(context): \(q.scale.floats())")
        if let offset = q.offset {
          #expect(offset.integers()[0] == (mode == .linear ? 0 : Self.quantRange(dtype, mode).upperBound / 2), "\(context)")
        }
        let decoded = try Reference.blockwiseShiftScale(data: q.data, scale: q.scale, offset: q.offset).floats()
        #expect(decoded[0..<4].allSatisfy { $0 == 0 }, "\(context): \(decoded)")
      }
    }
  }

  @Test("constant channels (vmax == vmin before 0 joins the range) land on the range ends")
  func constantChannels() throws {
    // linear: a positive constant c gives [0, c], so w/scale = 255 (int8: −128 + 255 = 127) and a
    // negative one [c, 0] gives qmin; symmetric: ±m/scale = ±(qmax − qmin)/2.
    let weight = try Tensor(floats: [1.5, 1.5, 1.5, -0.75, -0.75, -0.75], shape: [2, 3])
    for dtype in Self.dtypes {
      for mode in Self.modes {
        let range = Self.quantRange(dtype, mode)
        let q = try LinearQuantizer.quantize(weight, dtype: dtype, mode: mode, granularity: .perChannel)
        let top = range.upperBound
        let bottom = range.lowerBound
        #expect(q.data.integers() == [top, top, top, bottom, bottom, bottom], "\(dtype) \(mode)")
        let decoded = try Reference.blockwiseShiftScale(data: q.data, scale: q.scale, offset: q.offset).floats()
        #expect(zip(decoded, weight.floats()).allSatisfy { abs($0 - $1) <= 1e-6 }, "\(dtype) \(mode): \(decoded)")
      }
    }
  }

  @Test("block shapes: conv weights, swapped axes, negative axes, block 0 = per channel")
  func blockShapes() throws {
    var r = SplitMix64(seed: 7)
    let conv = try r.floatTensor(.fp16, shape: [4, 6, 3, 3], .finite)
    let perBlock = try LinearQuantizer.quantize(conv, dtype: .int4, mode: .linear, granularity: .perBlock(2))
    #expect(perBlock.scale.shape == [4, 3, 1, 1] && perBlock.offset?.shape == [4, 3, 1, 1])
    // conv_transpose: output axis 1, input axis 0.
    let transposed = try LinearQuantizer.quantize(
      conv, dtype: .int8, mode: .linearSymmetric, granularity: .perBlock(2), outputChannelAxis: 1, inputChannelAxis: 0)
    #expect(transposed.scale.shape == [2, 6, 1, 1] && transposed.offset == nil)
    let negative = try LinearQuantizer.quantize(
      conv, dtype: .int8, mode: .linearSymmetric, granularity: .perBlock(2), outputChannelAxis: -3, inputChannelAxis: -4)
    #expect(negative == transposed)
    let blockZero = try LinearQuantizer.quantize(conv, dtype: .uint8, mode: .linear, granularity: .perBlock(0))
    #expect(blockZero == (try LinearQuantizer.quantize(conv, dtype: .uint8, mode: .linear, granularity: .perChannel)))
    #expect(blockZero.scale.shape == [4, 1, 1, 1])
    let vector = try r.floatTensor(.fp32, shape: [7], .finite)
    #expect(try LinearQuantizer.quantize(vector, dtype: .uint4, mode: .linear, granularity: .perTensor).scale.shape == [1])
  }

  @Test("invalid inputs throw the typed error")
  func invalidInputs() throws {
    let weight = try Tensor(floats: (0..<16).map { Float($0) - 7.5 }, shape: [2, 8])
    func kind(
      _ w: Tensor, dtype: DType = .int8, granularity: QuantizationGranularity = .perChannel, output: Int = 0, input: Int = 1
    ) -> WeightKernelsError.Kind? {
      Outcome {
        try LinearQuantizer.quantize(
          w, dtype: dtype, mode: .linear, granularity: granularity, outputChannelAxis: output, inputChannelAxis: input)
      }.kind
    }
    #expect(kind(try Tensor(integers: [1, 2, 3, 4], dtype: .int8, shape: [2, 2])) == .invalidDType)
    for dtype in [DType.fp16, .fp32, .uint1, .uint2, .uint3, .uint6, .int16, .uint16, .int32, .uint32] {
      #expect(kind(weight, dtype: dtype) == .invalidDType, "dtype \(dtype)")
    }
    #expect(kind(try Tensor(floats: [1], shape: []), granularity: .perTensor) == .invalidShape)
    #expect(kind(try Tensor(floats: [], shape: [0, 4])) == .invalidShape)
    #expect(kind(try Tensor(floats: [], shape: [3, 0]), granularity: .perTensor) == .invalidShape)
    let vector = try Tensor(floats: [1, 2, 3, 4], shape: [4])
    #expect(kind(vector, granularity: .perChannel) == .invalidShape)
    #expect(kind(vector, granularity: .perBlock(2)) == .invalidShape)
    #expect(kind(weight, granularity: .perBlock(3)) == .invalidShape)  // coremltools: left uncompressed
    #expect(kind(weight, granularity: .perBlock(16)) == .invalidShape)
    #expect(kind(weight, granularity: .perBlock(-1)) == .invalidArgument)
    #expect(kind(weight, output: 2) == .invalidArgument)
    #expect(kind(weight, output: -3) == .invalidArgument)
    #expect(kind(weight, granularity: .perBlock(4), input: 2) == .invalidArgument)
    #expect(kind(weight, granularity: .perBlock(4), output: 1, input: -1) == .invalidArgument)
    // NaN and ±inf: coremltools skips weights with ±inf and turns NaN into arbitrary data.
    for bad: UInt16 in [0x7E00, 0x7C00, 0xFC00] {
      var bits = (0..<8).map { _ in UInt16(0x3C00) }
      bits[5] = bad
      #expect(kind(try Tensor(fp16Bits: bits, shape: [2, 4]), granularity: .perTensor) == .invalidArgument)
    }
    for bad: Float in [.nan, .infinity, -.infinity] {
      #expect(kind(try Tensor(floats: [1, 2, bad, 4], shape: [2, 2])) == .invalidArgument)
    }
  }
}
