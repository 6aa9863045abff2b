import CKernels

/// A dense fp16 or fp32 weight matrix [rows, cols] (a Core ML linear weight [out, in]): the
/// baseline every fused kernel is bit-identical to.
public struct DenseMatrix: Sendable {
  public let weights: Tensor
  public var rows: Int { weights.shape[0] }
  public var cols: Int { weights.shape[1] }

  /// - Throws: `.invalidDType` unless fp16/fp32; `.invalidShape` unless [rows, cols] with both ≥ 1.
  public init(weights: Tensor) throws {
    guard weights.dtype.isFloatingPoint else {
      throw WeightKernelsError.invalidDType("w: dtype \(weights.dtype); fp16 or fp32 expected")
    }
    guard weights.rank == 2, weights.shape[0] >= 1, weights.shape[1] >= 1 else {
      throw WeightKernelsError.invalidShape("w: \(weights.shape); [rows, cols] with rows, cols ≥ 1 expected")
    }
    self.weights = weights
  }

  /// y = W·x with the canonical accumulation order (docs/ARITHMETIC.md).
  /// - Parameters:
  ///   - x: fp16/fp32 [cols] or [batch, cols].
  ///   - outputType: `.fp32` or `.fp16` (RN16 of the fp32 result).
  /// - Complexity: rows · cols · batch multiply-adds; the weights are read once per batch row.
  public func gemv(_ x: Tensor, outputType: DType = .fp32, target: SIMDTarget? = nil) throws -> Tensor {
    try weights.withCTensor { w in
      try GEMVCall.run(rows: rows, x: x, outputType: outputType, target: target) { xt, y, t, ctx in
        wk_dense_gemv(w, xt, y, t, ctx)
      }
    }
  }

  /// `gemv` into caller-owned memory: y holds batch · rows elements of `outputType`.
  public func gemv(
    _ x: Tensor, into y: UnsafeMutableRawBufferPointer, outputType: DType = .fp32,
    target: SIMDTarget? = nil
  ) throws {
    try weights.withCTensor { w in
      try GEMVCall.run(into: y, x: x, outputType: outputType, target: target) { xt, yb, t, ctx in
        wk_dense_gemv(w, xt, yb, t, ctx)
      }
    }
  }
}
