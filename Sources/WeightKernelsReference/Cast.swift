import WeightKernels

// `constexpr_cast` (FORMATS.md §6), identical in iOS16 and iOS18.

extension Reference {
  /// `constexpr_cast`: exact widening of every fp16 element to fp32 (`widenF16`: NaN payloads
  /// kept, quiet bit not forced, as numpy's `astype`).
  ///
  /// - Parameters:
  ///   - source: fp16, any shape.
  ///   - outputType: must be `.fp32` (coremltools implements no other output dtype).
  /// - Returns: an fp32 tensor of the source's shape.
  /// - Throws: `.invalidDType` when the source is not fp16; `.invalidArgument` for any other
  ///   output type.
  public static func cast(_ source: Tensor, to outputType: DType) throws -> Tensor {
    try requireDType(source, "source_val", [.fp16])
    guard outputType == .fp32 else {
      throw WeightKernelsError.invalidArgument("output_dtype: only fp32 is supported, got \(outputType)")
    }
    return try Tensor(fp32Bits: source.fp16Bits().map(widenF16), shape: source.shape)
  }
}
