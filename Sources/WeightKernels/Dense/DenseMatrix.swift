import CKernels

/// A dense fp16 or fp32 weight matrix [rows, cols] (a Core ML linear weight [out, in]): the
/// baseline every fused kernel is bit-identical to. A value type: copies share one prepared
/// form. GEMV (and `decompress`, which returns the weights) come from `WeightMatrix`.
public struct DenseMatrix: WeightMatrix {
  public let handle: MatrixHandle
  /// The weights as given.
  public let weights: Tensor

  /// - Throws: `.invalidDType` unless fp16/fp32; `.invalidShape` unless [rows, cols] with both ≥ 1.
  /// - Complexity: O(rows · cols): the weights are copied once into memory the matrix points
  ///   into.
  public init(weights: Tensor) throws {
    let copy = OwnedTensor(weights)
    handle = try MatrixHandle(borrowing: [copy]) { matrix in
      try copy.withCTensor { w in
        _ = try CCall.run(target: nil) { wk_dense_matrix_create(w, &matrix, $0) }
      }
    }
    self.weights = weights
  }
}
