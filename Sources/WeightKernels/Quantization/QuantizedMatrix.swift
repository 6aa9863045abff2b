import CKernels

/// A linearly quantized linear weight [rows, cols] as Core ML stores it (iOS18
/// `constexpr_blockwise_shift_scale` on int4/uint4/int8/uint8 data: per-tensor, per-channel or
/// per-block scales, optional offsets), prepared once for fused dequantize-GEMV. A value type:
/// copies share one immutable prepared form.
public struct QuantizedMatrix: Sendable {
  final class Storage: @unchecked Sendable {
    let handle: OpaquePointer
    let data: OwnedTensor  // the matrix points into it

    init(handle: OpaquePointer, data: OwnedTensor) {
      self.handle = handle
      self.data = data
    }

    deinit { wk_quant_matrix_destroy(handle) }
  }

  let storage: Storage
  public let rows: Int
  public let cols: Int
  /// int4, uint4, int8 or uint8.
  public let dataType: DType
  /// Type of the dequantized weights: the scale's (fp16 or fp32).
  public let weightType: DType
  /// Bytes of data, scale and offset as Core ML stores them.
  public let compressedByteCount: Int

  /// - Parameters:
  ///   - data: int4/uint4/int8/uint8 [rows, cols], rows and cols ≥ 1.
  ///   - scale: fp16/fp32 [Sr, Sc] dividing [rows, cols].
  ///   - offset: nil, or [Sr, Sc] of the data's dtype, or fp16/fp32.
  /// - Throws: `WeightKernelsError` naming the operand at fault; `.unsupported` for an fp32
  ///   offset with an fp16 scale (Core ML's result type is ill-defined there).
  /// - Complexity: O(Sr · Sc + cols); the data is copied once, never expanded.
  public init(data: Tensor, scale: Tensor, offset: Tensor? = nil) throws {
    let owned = OwnedTensor(data)
    var handle: OpaquePointer?
    try owned.withCTensor { d in
      try scale.withCTensor { s in
        try offset.withCTensor { o in
          var desc = wk_quant_matrix_desc(data: d, scale: s, offset: o)
          try CCall.run(target: nil) { wk_quant_matrix_create(&desc, &handle, $0) }
        }
      }
    }
    guard let handle else { throw WeightKernelsError.outOfMemory("matrix") }
    storage = Storage(handle: handle, data: owned)
    var info = wk_quant_matrix_info()
    wk_quant_matrix_get_info(handle, &info)
    rows = Int(info.rows)
    cols = Int(info.cols)
    dataType = DType(rawValue: info.data_dtype) ?? .int8
    weightType = DType(rawValue: info.weight_dtype) ?? .fp32
    compressedByteCount = Int(info.compressed_bytes)
  }

  /// The dequantized weights [rows, cols] of `weightType`, bit-exact with Core ML.
  public func decompress(target: SIMDTarget? = nil) throws -> Tensor {
    var bytes = [UInt8](repeating: 0, count: rows * cols * weightType.bits / 8)
    try bytes.withUnsafeMutableBytes { try decompress(into: $0, target: target) }
    return try Tensor(dtype: weightType, shape: [rows, cols], bytes: bytes)
  }

  /// `decompress` into caller-owned memory of at least rows · cols · weightType.bits / 8 bytes.
  public func decompress(into out: UnsafeMutableRawBufferPointer, target: SIMDTarget? = nil) throws {
    var buffer = wk_buffer(data: out.baseAddress, nbytes: out.count)
    try CCall.run(target: target) { wk_quant_matrix_decompress(storage.handle, &buffer, $0) }
  }

  /// Fused y = W·x, bit-identical to `DenseMatrix(weights: decompress()).gemv(x)`.
  /// - Complexity: rows · cols · batch multiply-adds; reads the data once per batch row.
  public func gemv(_ x: Tensor, outputType: DType = .fp32, target: SIMDTarget? = nil) throws -> Tensor {
    try GEMVCall.run(rows: rows, x: x, outputType: outputType, target: target) { xt, y, t, ctx in
      wk_quant_matrix_gemv(storage.handle, xt, y, t, ctx)
    }
  }

  /// `gemv` into caller-owned memory: y holds batch · rows elements of `outputType`.
  public func gemv(
    _ x: Tensor, into y: UnsafeMutableRawBufferPointer, outputType: DType = .fp32,
    target: SIMDTarget? = nil
  ) throws {
    try GEMVCall.run(into: y, x: x, outputType: outputType, target: target) { xt, yb, t, ctx in
      wk_quant_matrix_gemv(storage.handle, xt, yb, t, ctx)
    }
  }

  /// W8A8: activations quantized to int8 per batch row, exact integer dot products with the int8
  /// weights, rescaled in fp32 (the order is in `wk_quant_matrix_gemv_w8a8`'s documentation and
  /// `Reference.gemvW8A8`). Needs int8 data without offset and a [rows, 1] or [1, 1] scale.
  /// - Throws: `.unsupported` for other matrices.
  public func gemvW8A8(_ x: Tensor, outputType: DType = .fp32, target: SIMDTarget? = nil) throws -> Tensor {
    try GEMVCall.run(rows: rows, x: x, outputType: outputType, target: target) { xt, y, t, ctx in
      wk_quant_matrix_gemv_w8a8(storage.handle, xt, y, t, ctx)
    }
  }

  /// `gemvW8A8` into caller-owned memory: y holds batch · rows elements of `outputType`.
  public func gemvW8A8(
    _ x: Tensor, into y: UnsafeMutableRawBufferPointer, outputType: DType = .fp32,
    target: SIMDTarget? = nil
  ) throws {
    try GEMVCall.run(into: y, x: x, outputType: outputType, target: target) { xt, yb, t, ctx in
      wk_quant_matrix_gemv_w8a8(storage.handle, xt, yb, t, ctx)
    }
  }
}
