import CKernels

/// A linearly quantized linear weight [rows, cols] as Core ML stores it (iOS18
/// `constexpr_blockwise_shift_scale` on int4/uint4/int8/uint8 data: per-tensor, per-channel or
/// per-block scales, optional offsets), prepared once for fused dequantize-GEMV. A value type:
/// copies share one immutable prepared form. GEMV and decompression come from `WeightMatrix`;
/// `gemvW8A8` is this format's own.
public struct QuantizedMatrix: WeightMatrix {
  public let handle: MatrixHandle

  /// int4, uint4, int8 or uint8.
  public var dataType: DType { handle.valueType }
  /// Whether `gemvW8A8` accepts this matrix: int8 data without offset, a [rows, 1] or [1, 1]
  /// scale and at most 131072 columns.
  public var supportsW8A8: Bool { handle.info.w8a8 != 0 }

  /// - Parameters:
  ///   - data: int4/uint4/int8/uint8 [rows, cols], rows and cols ≥ 1.
  ///   - scale: fp16/fp32 [Sr, Sc] dividing [rows, cols].
  ///   - offset: nil, or [Sr, Sc] of the data's dtype, or fp16/fp32.
  /// - Throws: `WeightKernelsError` naming the operand at fault; `.unsupported` for an fp32
  ///   offset with an fp16 scale (Core ML's result type is ill-defined there).
  /// - Complexity: O(Sr · Sc + cols); the data is copied once, never expanded.
  public init(data: Tensor, scale: Tensor, offset: Tensor? = nil) throws {
    let owned = OwnedTensor(data)
    handle = try MatrixHandle(borrowing: [owned]) { matrix in
      try owned.withCTensor { d in
        try scale.withCTensor { s in
          try offset.withCTensor { o in
            var desc = wk_quant_matrix_desc(data: d, scale: s, offset: o)
            try CCall.run(target: nil) { wk_quant_matrix_create(&desc, &matrix, $0) }
          }
        }
      }
    }
  }

  /// W8A8: activations quantized to int8 per batch row, exact integer dot products with the int8
  /// weights, rescaled in fp32 (the order is in `wk_matrix_gemv_w8a8`'s documentation,
  /// docs/ARITHMETIC.md §3 and `Reference.gemvW8A8`). Needs `supportsW8A8`: int8 data without
  /// offset and a [rows, 1] or [1, 1] scale. Batch rows are independent: row b of a batch equals
  /// the batch-1 product of x[b], bit for bit, on every target and for every thread count.
  /// - Parameters:
  ///   - x: fp16/fp32 [cols] or [batch, cols].
  ///   - outputType: `.fp32` or `.fp16`.
  ///   - target: the SIMD target; nil for the best one this CPU supports.
  ///   - threads: 1 runs on the calling thread; 0 uses every CPU this process may run on; n > 1
  ///     uses the calling thread and n − 1 workers of the library's pool. The bits never depend
  ///     on it.
  /// - Throws: `.unsupported` for other matrices; x and output errors as `gemv`;
  ///   `.invalidArgument` naming `threads` when it is negative or above 256.
  /// - Complexity: rows · cols · batch integer multiply-adds plus O(cols) per batch row.
  public func gemvW8A8(
    _ x: Tensor, outputType: DType = .fp32, target: SIMDTarget? = nil, threads: Int = 1
  ) throws -> Tensor {
    try handle.gemv(x, outputType: outputType, target: target, threads: threads, w8a8: true)
  }

  /// `gemvW8A8` into caller-owned memory: y holds at least batch · rows elements of
  /// `outputType`.
  /// - Throws: as `gemvW8A8(_:outputType:target:threads:)`; `.sizeMismatch` when y is too small.
  /// - Complexity: as `gemvW8A8(_:outputType:target:threads:)`.
  public func gemvW8A8(
    _ x: Tensor, into y: UnsafeMutableRawBufferPointer, outputType: DType = .fp32,
    target: SIMDTarget? = nil, threads: Int = 1
  ) throws {
    try handle.gemv(x, into: y, outputType: outputType, target: target, threads: threads, w8a8: true)
  }
}
