import WeightKernels

// Sparsity (bit masks): FORMATS.md §4 (iOS16) and §7.2 (iOS18). Zeros are the all-zero bit
// pattern of the data dtype (+0.0 for floats); stored values are copied bit for bit.

extension Reference {
  /// iOS16 `constexpr_sparse_to_dense` (FORMATS.md §4): the j-th set bit of the mask stream
  /// (bits 0…N−1, N = prod(shape)) receives `nonzeroData[j]`, every other element is 0.
  ///
  /// - Parameters:
  ///   - nonzeroData: fp16, fp32, int8 or uint8 `[D]`.
  ///   - mask: uint8 `[M]`, a 1-bit stream (§2.1) with M = ceil(N/8) and zero padding bits.
  ///   - shape: uint32 `[K]`, the output shape.
  /// - Returns: a tensor of the data dtype and shape `shape`.
  /// - Throws: `.invalidDType`; `.invalidShape` for ranks, popcount(mask bytes) ≠ D (checked
  ///   first, over all bytes, as coremltools does) or M ≠ ceil(N/8); `.invalidArgument` when a
  ///   padding bit is set.
  public static func sparseToDenseIOS16(nonzeroData: Tensor, mask: Tensor, shape: Tensor) throws -> Tensor {
    try requireDType(nonzeroData, "nonzero_data", [.fp16, .fp32, .int8, .uint8])
    try requireDType(mask, "mask", [.uint8])
    try requireDType(shape, "shape", [.uint32])
    try requireRank(nonzeroData, "nonzero_data", 1)
    try requireRank(mask, "mask", 1)
    try requireRank(shape, "shape", 1)

    let setBits = mask.bytes.reduce(0) { $0 + $1.nonzeroBitCount }
    guard setBits == nonzeroData.shape[0] else {
      throw WeightKernelsError.invalidShape(
        "mask: \(setBits) set bits but nonzero_data holds \(nonzeroData.shape[0]) values")
    }
    let outputShape = shape.integers()
    let count = try Tensor.elementCount(outputShape, name: "shape")
    guard mask.shape[0] == (count + 7) / 8 else {
      throw WeightKernelsError.invalidShape(
        "mask: \(mask.shape[0]) bytes, \(count) elements need \((count + 7) / 8)")
    }
    for bit in count..<(8 * mask.shape[0]) where mask.bytes[bit / 8] & (1 << UInt8(bit % 8)) != 0 {
      throw WeightKernelsError.invalidArgument(
        "mask: padding bit \(bit) is set but the tensor has only \(count) elements")
    }

    // The iOS16 mask bytes are exactly a uint1 tensor of N elements (§7.2).
    let bits = BitPacking.unpack(mask.bytes, dtype: .uint1, count: count)
    let output = scatter(Elements.fields(nonzeroData), at: bits)
    return try Elements.tensor(output, dtype: nonzeroData.dtype, shape: outputShape)
  }

  /// iOS18 `constexpr_sparse_to_dense` (FORMATS.md §7.2): the j-th one of the mask (row-major)
  /// receives `nonzeroData[j]`, every other element is 0. Mask padding bits are ignored.
  ///
  /// - Parameters:
  ///   - nonzeroData: fp16, fp32, int8, uint8, int4 or uint4 `[D]`.
  ///   - mask: uint1 of the output shape S.
  /// - Returns: a tensor of the data dtype and shape S.
  /// - Throws: `.invalidDType`; `.invalidShape` when the data is not rank 1 or D ≠ ones(mask).
  public static func sparseToDenseIOS18(nonzeroData: Tensor, mask: Tensor) throws -> Tensor {
    try requireDType(nonzeroData, "nonzero_data", [.fp16, .fp32, .int8, .uint8, .int4, .uint4])
    try requireDType(mask, "mask", [.uint1])
    try validateSparse(values: nonzeroData, valuesName: "nonzero_data", mask: mask, maskName: "mask")
    let output = scatter(Elements.fields(nonzeroData), at: Elements.fields(mask))
    return try Elements.tensor(output, dtype: nonzeroData.dtype, shape: mask.shape)
  }

  /// Dense fields: `values[j]` at the position of the j-th non-zero bit, 0 elsewhere.
  /// - Precondition: `values.count` equals the number of non-zero bits.
  static func scatter(_ values: [Int], at bits: [Int]) -> [Int] {
    var output = [Int](repeating: 0, count: bits.count)
    var next = 0
    for position in bits.indices where bits[position] != 0 {
      output[position] = values[next]
      next += 1
    }
    return output
  }
}
