import WeightKernels

// Linear quantization: FORMATS.md §5 (iOS16 affine), §7.3 (blockwise shift scale) and §7.5
// (its sparse variant). Every arithmetic step is one IEEE operation in fp32 followed, where the
// step's numpy type is fp16, by RN16; operations are never fused or re-associated.
// NaN rule for each step a ∘ b: the data-side operand's NaN (quieted) wins, then the parameter's.

extension Reference {
  /// iOS16 `constexpr_affine_dequantize` (FORMATS.md §5):
  /// `d = RN32(q − zp)`, `p = RN32(d · scale)`, `out = p` (fp32 scale) or `RN16(p)` (fp16 scale).
  ///
  /// - Parameters:
  ///   - quantizedData: int8 or uint8, any rank.
  ///   - zeroPoint: int8, uint8 or fp32; a scalar or a vector of length `shape[axis]`.
  ///   - scale: fp16 or fp32 (the output dtype); a scalar or a vector of length `shape[axis]`.
  ///   - axis: in `[−rank, rank)`; vector parameters apply along it.
  /// - Returns: a tensor of the scale's dtype and the data's shape.
  /// - Throws: `.invalidDType`; `.invalidArgument` for the axis; `.invalidShape` for parameter
  ///   ranks and lengths.
  public static func affineDequantize(
    quantizedData: Tensor, zeroPoint: Tensor, scale: Tensor, axis: Int
  ) throws -> Tensor {
    try requireDType(quantizedData, "quantized_data", [.int8, .uint8])
    try requireDType(zeroPoint, "zero_point", [.int8, .uint8, .fp32])
    try requireDType(scale, "scale", scaleTypes)
    let rank = quantizedData.rank
    guard -rank <= axis, axis < rank else {
      throw WeightKernelsError.invalidArgument(
        "axis: \(axis) is outside [\(-rank), \(rank)) for rank-\(rank) quantized_data")
    }
    let axis = axis < 0 ? axis + rank : axis
    let extent = quantizedData.shape[axis]
    for (parameter, name) in [(scale, "scale"), (zeroPoint, "zero_point")] {
      guard parameter.rank <= 1 else {
        throw WeightKernelsError.invalidShape("\(name): must be a scalar or a vector, got shape \(parameter.shape)")
      }
    }
    for (parameter, name) in [(scale, "scale"), (zeroPoint, "zero_point")] where parameter.rank == 1 {
      guard parameter.shape[0] == extent else {
        throw WeightKernelsError.invalidShape(
          "\(name): \(parameter.shape[0]) values, quantized_data has \(extent) along axis \(axis)")
      }
    }

    let data = Elements.fields(quantizedData)
    let scales = Elements.fields(scale).map { Elements.value($0, dtype: scale.dtype) }
    let zeroPoints = Elements.fields(zeroPoint).map { Elements.value($0, dtype: zeroPoint.dtype) }
    let axisStride = RowMajor.strides(quantizedData.shape)[axis]
    var output = [Int]()
    output.reserveCapacity(data.count)
    for (i, q) in data.enumerated() {
      let channel = (i / axisStride) % extent  // coordinate along `axis`
      let zp = zeroPoints[zeroPoint.rank == 0 ? 0 : channel]
      let s = scales[scale.rank == 0 ? 0 : channel]
      let difference = subtract(Float(q), zp)  // RN32; exact for integer zero points
      let product = multiply(difference, s)  // RN32
      output.append(
        scale.dtype == .fp16 ? Int(roundToF16(product.bitPattern)) : Int(product.bitPattern))
    }
    return try Elements.tensor(output, dtype: scale.dtype, shape: quantizedData.shape)
  }

  /// `constexpr_blockwise_shift_scale` (FORMATS.md §7.3): `out = scale[k] · (T(x) − offset[k])`
  /// with k the block of x's coordinate (`i[d] / (Dshape[d] / Sshape[d])`) and T the scale dtype.
  ///
  /// Steps: `x' = T(x)` (exact for integers and widening; RN16 for fp32 data with an fp16
  /// scale); `y = x' − off` (exact for integer offsets; RN of the wider of T and the offset
  /// dtype for float offsets); `out = RN_T(scale · y)`.
  ///
  /// - Parameters:
  ///   - data: int4, uint4, int8, uint8, fp16 or fp32, rank ≥ 1.
  ///   - scale: fp16 or fp32 (the output dtype), same rank, dividing the data shape.
  ///   - offset: optional, the scale's shape; an integer offset must have the data dtype.
  /// - Returns: a tensor of the scale's dtype and the data's shape.
  /// - Throws: `.invalidDType`; `.invalidShape` for rank, divisibility and offset shape;
  ///   `.unsupported` for an fp32 offset with an fp16 scale (coremltools' result is not fp16).
  public static func blockwiseShiftScale(data: Tensor, scale: Tensor, offset: Tensor?) throws -> Tensor {
    try requireShiftScaleDTypes(data: data, dataName: "data", scale: scale, offset: offset)
    try validateShiftScale(
      dataShape: data.shape, dataType: data.dtype, dataName: "data", scale: scale, offset: offset)
    let dequantizer = ShiftScale(dataType: data.dtype, scale: scale, offset: offset)
    let fields = Elements.fields(data)
    var output = [Int]()
    output.reserveCapacity(fields.count)
    RowMajor.forEach(data.shape) { i, coordinates in
      let block = RowMajor.blockIndex(coordinates, shape: data.shape, grid: scale.shape)
      output.append(dequantizer.apply(fields[i], block: block))
    }
    return try Elements.tensor(output, dtype: scale.dtype, shape: data.shape)
  }

  /// `constexpr_sparse_blockwise_shift_scale` (FORMATS.md §7.5): `blockwiseShiftScale` applied to
  /// the non-zeros of a sparse tensor; value j uses the block of the j-th one's coordinate in S.
  ///
  /// - Parameters:
  ///   - dataMask: uint1, shape S (rank ≥ 1).
  ///   - nonzeroData: int4, uint4, int8, uint8, fp16 or fp32 `[D]`, D = ones in the mask.
  ///   - scale, offset: as `blockwiseShiftScale`, against S.
  /// - Returns: `mask` = `dataMask` unchanged; `nonzeroData`: the scale's dtype, `[D]`.
  /// - Throws: as `blockwiseShiftScale`, plus `.invalidShape` for the sparse operands.
  public static func sparseBlockwiseShiftScale(
    dataMask: Tensor, nonzeroData: Tensor, scale: Tensor, offset: Tensor?
  ) throws -> (mask: Tensor, nonzeroData: Tensor) {
    try requireDType(dataMask, "data_mask", [.uint1])
    try requireShiftScaleDTypes(data: nonzeroData, dataName: "nonzero_data", scale: scale, offset: offset)
    // coremltools checks the sparse operands first, then shift/scale against the mask's shape.
    try validateSparse(values: nonzeroData, valuesName: "nonzero_data", mask: dataMask, maskName: "data_mask")
    try validateShiftScale(
      dataShape: dataMask.shape, dataType: nonzeroData.dtype, dataName: "data_mask", scale: scale,
      offset: offset)
    let dequantizer = ShiftScale(dataType: nonzeroData.dtype, scale: scale, offset: offset)
    let values = Elements.fields(nonzeroData)
    let maskBits = Elements.fields(dataMask)
    var output = [Int]()
    output.reserveCapacity(values.count)
    RowMajor.forEach(dataMask.shape) { position, coordinates in
      guard maskBits[position] != 0 else { return }
      let block = RowMajor.blockIndex(coordinates, shape: dataMask.shape, grid: scale.shape)
      output.append(dequantizer.apply(values[output.count], block: block))  // the j-th one
    }
    return (dataMask, try Elements.tensor(output, dtype: scale.dtype, shape: [output.count]))
  }

  /// The type domains of the shift-scale ops (`SrcT`, `DstT`, `OffsetT`).
  static func requireShiftScaleDTypes(data: Tensor, dataName: String, scale: Tensor, offset: Tensor?) throws {
    try requireDType(data, dataName, shiftScaleDataTypes)
    try requireDType(scale, "scale", scaleTypes)
    if let offset { try requireDType(offset, "offset", shiftScaleDataTypes) }
  }

  /// `constexpr_blockwise_shift_scale._validate_shift_scale_inputs`, in its order, then the
  /// combination the reference cannot define (fp32 offset with fp16 scale).
  static func validateShiftScale(
    dataShape: [Int], dataType: DType, dataName: String, scale: Tensor, offset: Tensor?
  ) throws {
    guard dataShape.count == scale.rank else {
      throw WeightKernelsError.invalidShape(
        "scale: rank \(scale.rank), \(dataName) has rank \(dataShape.count); they must be equal")
    }
    guard dataShape.count >= 1 else {
      throw WeightKernelsError.invalidShape("\(dataName): needs rank ≥ 1, got a scalar")
    }
    for axis in 0..<dataShape.count {
      guard scale.shape[axis] >= 1, dataShape[axis] % scale.shape[axis] == 0 else {
        throw WeightKernelsError.invalidShape(
          "scale: \(scale.shape[axis]) blocks at axis \(axis) do not divide \(dataName) extent \(dataShape[axis])")
      }
    }
    guard let offset else { return }
    guard offset.shape == scale.shape else {
      throw WeightKernelsError.invalidShape("offset: shape \(offset.shape) differs from scale shape \(scale.shape)")
    }
    guard offset.dtype.isFloatingPoint || offset.dtype == dataType else {
      throw WeightKernelsError.invalidDType(
        "offset: integer offset dtype \(offset.dtype) must equal the data dtype \(dataType)")
    }
    if offset.dtype == .fp32 && scale.dtype == .fp16 {
      throw WeightKernelsError.unsupported(
        "offset: an fp32 offset with an fp16 scale has no fp16 result in coremltools")
    }
  }
}

/// One element of `blockwise_shift_scale` with all operand types fixed (FORMATS.md §7.3).
struct ShiftScale {
  let dataType: DType
  let scaleType: DType  // T, the output type
  let scales: [Float]  // exact values
  let offsets: [Float]?  // exact values
  let offsetIsFloat: Bool
  /// Whether the float-offset difference is rounded to fp16 (W = fp16, i.e. T = offset = fp16).
  let differenceIsF16: Bool

  init(dataType: DType, scale: Tensor, offset: Tensor?) {
    self.dataType = dataType
    self.scaleType = scale.dtype
    self.scales = Elements.fields(scale).map { Elements.value($0, dtype: scale.dtype) }
    self.offsets = offset.map { o in Elements.fields(o).map { Elements.value($0, dtype: o.dtype) } }
    self.offsetIsFloat = offset?.dtype.isFloatingPoint ?? false
    // Validation excludes fp32 offset + fp16 scale, so W = fp16 exactly when both are fp16.
    self.differenceIsF16 = scale.dtype == .fp16 && offset?.dtype == .fp16
  }

  /// The output field (fp16 or fp32 bits) for data field `x` in parameter block `block`.
  func apply(_ x: Int, block: Int) -> Int {
    // x' = T(x): exact for integers (≤ 8 bits) and for fp16 → fp32; RN16 for fp32 → fp16, as
    // numpy narrows (a NaN is not quieted by the narrowing itself).
    var value = Elements.value(x, dtype: dataType)
    if dataType == .fp32 && scaleType == .fp16 { value = Reference.narrowedToF16LikeNumpy(value) }

    if let offsets {
      // Integer offset: exact difference (|y| ≤ 510). Float offset: RN32, then RN16 when
      // W = fp16 (fp16 − fp16 rounded in fp32 then fp16 equals the correctly rounded fp16).
      value = Reference.subtract(value, offsets[block])
      if offsetIsFloat && differenceIsF16 { value = Reference.roundedToF16(value) }
    }

    // scale · y: one fp32 rounding; for T = fp16 both factors are fp16 values (or small
    // integers), so the fp32 product is exact and RN16 of it is the single correct rounding.
    let product = Reference.multiply(value, scales[block])
    return scaleType == .fp16
      ? Int(Reference.roundToF16(product.bitPattern)) : Int(product.bitPattern)
  }
}
