// Linear weight quantization (the encoder of FORMATS.md §7.3), as coremltools 9.0's
// `optimize.coreml.linear_quantize_weights` computes it: `optimize/_utils.py:
// compute_qparams_by_dtype` → `quantize_weight_by_dtype` (ranges from `get_quant_range`, block
// sizes from `infer_block_sizes`). Every step is reproduced in numpy's precision so that the
// bytes, and hence what Core ML decodes, are identical.

/// How the quantization range is chosen (coremltools `mode`).
public enum QuantizationMode: Sendable {
  /// `"linear"`: the range is `[min(0, min w), max(0, max w)]`, with a zero point (offset).
  case linear
  /// `"linear_symmetric"`: the range is `[−max|w|, max|w|]`; signed types have no offset,
  /// unsigned ones the fixed offset `qmax / 2` (127 for uint8, 7 for uint4).
  case linearSymmetric
}

/// Which elements share one scale (and offset).
public enum QuantizationGranularity: Sendable, Equatable {
  /// One scale for the whole weight.
  case perTensor
  /// One scale per index of the output-channel axis.
  case perChannel
  /// Blocks of the given size along the input-channel axis, one per output channel, spanning
  /// every other axis (a conv weight `[Cout, Cin, kh, kw]` gets scales `[Cout, Cin/bs, 1, 1]`).
  /// 0 means the whole input axis (the same as `perChannel`), as in coremltools.
  case perBlock(Int)
}

/// The operands of an iOS18 `constexpr_blockwise_shift_scale` (FORMATS.md §7.3) that decode to the
/// quantized weight: `weight ≈ scale · (data − offset)`.
public struct QuantizedWeight: Equatable, Sendable {
  /// int4, uint4, int8 or uint8; the weight's shape.
  public let data: Tensor
  /// The weight's dtype (fp16 or fp32); the weight's rank, each extent the number of blocks.
  public let scale: Tensor
  /// The data dtype and the scale's shape; nil for `linearSymmetric` with a signed dtype, the
  /// only case where coremltools emits no offset.
  public let offset: Tensor?

  public init(data: Tensor, scale: Tensor, offset: Tensor?) {
    self.data = data
    self.scale = scale
    self.offset = offset
  }
}

/// Encoder for `QuantizedWeight`, bit-compatible with coremltools 9.0 (numpy 2).
public enum LinearQuantizer {
  /// Quantizes a float weight as `linear_quantize_weights(OpLinearQuantizerConfig(mode, dtype,
  /// granularity, block_size))` does for an iOS18 target.
  ///
  /// Per block, in the weight's precision T (numpy computes fp16 weights in fp16, rounding every
  /// step): `[vmin, vmax]` as `mode` says, `scale = RN_T(RN_T(vmax − vmin) / (qmax − qmin))`,
  /// linear zero point `zp = clip(round(RN_T(RN_T(qmin·vmax) − RN_T(qmax·vmin)) / RN_T(vmax − vmin)))`;
  /// per element `q = clip(round(RN_T(w / scale)) + zp)`. Rounding is half-to-even; the ranges are
  /// `[−2ⁿ⁻¹, 2ⁿ⁻¹−1]` (symmetric: `−2ⁿ⁻¹+1`) and `[0, 2ⁿ−1]` (symmetric: `2ⁿ−2`).
  ///
  /// Degenerate blocks follow numpy too: an all-zero block gets scale 0, data 0 and offset 0
  /// (`qmax / 2` for unsigned symmetric), because numpy casts the NaN of 0/0 to integer 0. A range
  /// that overflows T gives an infinite scale (and NaN zero point → 0), one too small gives scale 0
  /// with saturated data; both decode badly, exactly as coremltools' output does.
  ///
  /// - Parameters:
  ///   - weight: fp16 or fp32, rank ≥ 1 (≥ 2 for `perChannel` / `perBlock`), at least one
  ///     element, every value finite.
  ///   - dtype: int4, uint4, int8 or uint8.
  ///   - outputChannelAxis: the channel axis of `perChannel` and `perBlock`; negative counts from
  ///     the end (coremltools: 0; conv_transpose 1; matmul's `y` −1).
  ///   - inputChannelAxis: the block axis of `perBlock` (coremltools: 1; conv_transpose 0;
  ///     matmul's `y` −2); ignored otherwise.
  /// - Throws: `.invalidDType` for the weight or `dtype`; `.invalidShape` for a scalar or empty
  ///   weight, rank 1 with `perChannel` / `perBlock`, or a block size that does not divide the input
  ///   axis (coremltools then leaves the weight uncompressed); `.invalidArgument` for an axis out of
  ///   range, equal axes with `perBlock`, a negative block size, or a NaN / ±inf weight
  ///   (coremltools skips weights with ±inf and turns NaN into arbitrary data).
  /// - Complexity: two passes over the weight; O(N) time, O(N) extra memory.
  public static func quantize(
    _ weight: Tensor, dtype: DType, mode: QuantizationMode, granularity: QuantizationGranularity,
    outputChannelAxis: Int = 0, inputChannelAxis: Int = 1
  ) throws -> QuantizedWeight {
    guard weight.dtype.isFloatingPoint else {
      throw WeightKernelsError.invalidDType("weight: must be fp16 or fp32, got \(weight.dtype)")
    }
    guard [DType.int4, .uint4, .int8, .uint8].contains(dtype) else {
      throw WeightKernelsError.invalidDType("dtype: must be int4, uint4, int8 or uint8, got \(dtype)")
    }
    let grid = try scaleShape(
      weight.shape, granularity: granularity, outputChannelAxis: outputChannelAxis,
      inputChannelAxis: inputChannelAxis)
    let values = weight.floats()
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw WeightKernelsError.invalidArgument("weight: element \(bad) is \(values[bad]); only finite weights can be quantized")
    }

    let range = QuantRange(dtype: dtype, mode: mode)
    let precision = Precision(weight.dtype)
    let blockCount = grid.reduce(1, *)
    var low = [Float](repeating: .infinity, count: blockCount)
    var high = [Float](repeating: -.infinity, count: blockCount)
    forEachElement(shape: weight.shape, grid: grid) { i, block in
      low[block] = Swift.min(low[block], values[i])
      high[block] = Swift.max(high[block], values[i])
    }
    let parameters = (0..<blockCount).map {
      BlockParameters(min: low[$0], max: high[$0], range: range, mode: mode, precision: precision)
    }

    var data = [Int](repeating: 0, count: values.count)
    forEachElement(shape: weight.shape, grid: grid) { i, block in
      data[i] = parameters[block].quantize(values[i], range: range, precision: precision)
    }
    let scales = parameters.map(\.scale)
    let scale =
      weight.dtype == .fp16
      ? try Tensor(fp16Bits: scales.map { Float16($0).bitPattern }, shape: grid)
      : try Tensor(floats: scales, shape: grid)
    var offset: Tensor?
    if range.hasOffset {
      offset = try Tensor(integers: parameters.map { integer($0.zeroPoint ?? 0) }, dtype: dtype, shape: grid)
    }
    return QuantizedWeight(
      data: try Tensor(integers: data, dtype: dtype, shape: weight.shape), scale: scale, offset: offset)
  }

  /// The scale tensor's shape (blocks per axis), from coremltools' `infer_block_sizes`: block 1 on
  /// the output axis for per-channel and per-block, `bs` on the input axis, whole axis elsewhere.
  static func scaleShape(
    _ shape: [Int], granularity: QuantizationGranularity, outputChannelAxis: Int, inputChannelAxis: Int
  ) throws -> [Int] {
    let count = try Tensor.elementCount(shape, name: "weight")
    guard !shape.isEmpty, count > 0 else {
      throw WeightKernelsError.invalidShape("weight: needs rank ≥ 1 and at least one element, got shape \(shape)")
    }
    var grid = shape.map { _ in 1 }
    if granularity == .perTensor { return grid }
    guard shape.count >= 2 else {
      throw WeightKernelsError.invalidShape("weight: \(granularity) needs rank ≥ 2, got shape \(shape)")
    }
    let output = try normalizedAxis(outputChannelAxis, rank: shape.count, name: "outputChannelAxis")
    grid[output] = shape[output]
    guard case .perBlock(let blockSize) = granularity else { return grid }
    let input = try normalizedAxis(inputChannelAxis, rank: shape.count, name: "inputChannelAxis")
    guard input != output else {
      throw WeightKernelsError.invalidArgument("inputChannelAxis: equals outputChannelAxis (\(output))")
    }
    guard blockSize >= 0 else {
      throw WeightKernelsError.invalidArgument("perBlock: block size \(blockSize) is negative")
    }
    guard blockSize == 0 || shape[input] % blockSize == 0 else {
      throw WeightKernelsError.invalidShape(
        "perBlock: block size \(blockSize) does not divide the input axis extent \(shape[input]) "
          + "(coremltools leaves such a weight uncompressed)")
    }
    if blockSize > 0 { grid[input] = shape[input] / blockSize }
    return grid
  }

  private static func normalizedAxis(_ axis: Int, rank: Int, name: String) throws -> Int {
    guard -rank <= axis, axis < rank else {
      throw WeightKernelsError.invalidArgument("\(name): \(axis) is outside [\(-rank), \(rank)) for a rank-\(rank) weight")
    }
    return axis < 0 ? axis + rank : axis
  }

  /// Calls `body(element, block)` in row-major order; `block` is the row-major index in `grid` of
  /// the element's block (FORMATS.md §0: coordinate `i` lies in block `i / (shape / grid)`).
  private static func forEachElement(shape: [Int], grid: [Int], _ body: (Int, Int) -> Void) {
    let rank = shape.count
    var gridStride = 1
    var blockOffsets = [[Int]](repeating: [], count: rank)  // per axis: coordinate → block offset
    for axis in stride(from: rank - 1, through: 0, by: -1) {
      let extent = shape[axis] / grid[axis]
      blockOffsets[axis] = (0..<shape[axis]).map { ($0 / extent) * gridStride }
      gridStride *= grid[axis]
    }
    let inner = blockOffsets[rank - 1]
    var coordinates = [Int](repeating: 0, count: rank)
    var base = 0  // block offset of the outer coordinates
    var element = 0
    let rows = shape.reduce(1, *) / shape[rank - 1]
    for _ in 0..<rows {
      for offset in inner {
        body(element, base + offset)
        element += 1
      }
      var axis = rank - 2
      while axis >= 0 {
        base -= blockOffsets[axis][coordinates[axis]]
        coordinates[axis] += 1
        if coordinates[axis] < shape[axis] {
          base += blockOffsets[axis][coordinates[axis]]
          break
        }
        coordinates[axis] = 0
        base += blockOffsets[axis][0]
        axis -= 1
      }
    }
  }

  /// numpy's float → integer cast of an already clipped value: NaN becomes 0.
  fileprivate static func integer(_ x: Float) -> Int { x.isNaN ? 0 : Int(x) }
}

/// `get_quant_range(n_bits, signed, mode)`.
private struct QuantRange {
  let min: Float
  let max: Float
  let signed: Bool
  let symmetric: Bool

  init(dtype: DType, mode: QuantizationMode) {
    signed = dtype.isSigned
    symmetric = mode == .linearSymmetric
    let full = dtype.integerRange!
    // Symmetric drops the most negative signed value and the largest unsigned one.
    min = Float(symmetric && signed ? full.lowerBound + 1 : full.lowerBound)
    max = Float(symmetric && !signed ? full.upperBound - 1 : full.upperBound)
  }

  var hasOffset: Bool { !(symmetric && signed) }

  /// `np.clip`, which keeps NaN.
  func clip(_ x: Float) -> Float { x.isNaN ? x : Swift.min(Swift.max(x, min), max) }
}

/// The numpy dtype of the computation: python scalars are "weak" (NEP 50), so an fp16 weight is
/// quantized in fp16 arithmetic, which numpy evaluates in fp32 and rounds to fp16 per operation.
private struct Precision {
  let isHalf: Bool

  init(_ dtype: DType) { isHalf = dtype == .fp16 }

  /// Rounds an fp32 result to the weight's precision (identity for fp32).
  func round(_ x: Float) -> Float { isHalf ? Float(Float16(x)) : x }
}

/// One block's scale and zero point, from `quantize_weight_by_dtype`.
private struct BlockParameters {
  let scale: Float
  /// An integer value, or NaN (0/0 in an all-zero block, inf − inf in an overflowing range),
  /// which the cast to the data dtype turns into 0.
  let zeroPoint: Float?

  init(min: Float, max: Float, range: QuantRange, mode: QuantizationMode, precision: Precision) {
    let vmin: Float
    let vmax: Float
    switch mode {
    case .linearSymmetric:
      let maxAbs = Swift.max(Swift.abs(min), Swift.abs(max))
      vmin = -maxAbs
      vmax = maxAbs
    case .linear:
      // np.minimum(0.0, ·) / np.maximum(0.0, ·); the sign of a zero never reaches the output.
      vmin = min < 0 ? min : 0
      vmax = max > 0 ? max : 0
    }
    let span = precision.round(vmax - vmin)
    scale = precision.round(span / (range.max - range.min))
    if range.symmetric {
      // `q_val_max // 2`; signed symmetric has no zero point.
      zeroPoint = range.signed ? nil : (range.max / 2).rounded(.down)
    } else {
      let numerator = precision.round(
        precision.round(range.min * vmax) - precision.round(range.max * vmin))
      zeroPoint = range.clip(precision.round(numerator / span).rounded(.toNearestOrEven))
    }
  }

  /// `clip(round(w / scale) + zp)`, cast to an integer.
  func quantize(_ w: Float, range: QuantRange, precision: Precision) -> Int {
    var q = precision.round(w / scale).rounded(.toNearestOrEven)
    // numpy adds in fp16 (fp64 for the unsigned symmetric shift): integer sums are exact up to
    // 2048 in magnitude and larger ones are clipped anyway, so fp32 gives the same result.
    if let zeroPoint { q += zeroPoint }
    return LinearQuantizer.integer(range.clip(q))
  }
}
