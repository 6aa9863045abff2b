import CKernels

/// A pruned linear weight [rows, cols] as Core ML stores it, prepared once for fused
/// expand-GEMV: `constexpr_sparse_to_dense` (uint1 mask + fp16/fp32 non-zeros), the joint
/// sparse + palettized chain `constexpr_lut_to_sparse → sparse_to_dense` (mask + n-bit LUT
/// indices of the non-zeros + LUT), or the joint sparse + quantized chain
/// `constexpr_sparse_blockwise_shift_scale → sparse_to_dense` (mask + integer non-zeros + scale
/// and offset). Per-row offsets into the values are computed here, once. A value type: copies
/// share one immutable prepared form.
public struct SparseMatrix: Sendable {
  final class Storage: @unchecked Sendable {
    let handle: OpaquePointer
    let operands: [OwnedTensor]  // the matrix points into them

    init(handle: OpaquePointer, operands: [OwnedTensor]) {
      self.handle = handle
      self.operands = operands
    }

    deinit { wk_sparse_matrix_destroy(handle) }
  }

  let storage: Storage
  public let rows: Int
  public let cols: Int
  /// Ones of the mask.
  public let nonzeroCount: Int
  /// LUT index width of a sparse + palettized matrix; nil otherwise.
  public let bits: Int?
  /// Type of the stored non-zeros: fp16/fp32, uint1…uint8 LUT indices, or int4/uint4/int8/uint8
  /// quantized values.
  public let valueType: DType
  /// Type of the decompressed weights (fp16 or fp32).
  public let weightType: DType
  /// Bytes of the compressed form: mask, values (or indices) and LUT or scale and offset.
  public let compressedByteCount: Int

  /// Sparse, or sparse + palettized.
  /// - Parameters:
  ///   - mask: uint1 [rows, cols], rows and cols ≥ 1.
  ///   - values: fp16/fp32 [D] (D = ones of the mask); with `lut`, the uint1…uint8 LUT indices
  ///     of the non-zeros [D].
  ///   - lut: nil, or fp16/fp32 [Gr, Gc, 2ⁿ, 1] with Gr dividing rows and Gc dividing cols.
  /// - Throws: `WeightKernelsError` naming the operand at fault; `.unsupported` for vector
  ///   palettization (decompress it with `CoreMLOps.lutToSparse` instead).
  /// - Complexity: O(rows · cols / 8); mask and values are copied once, never expanded.
  public init(mask: Tensor, values: Tensor, lut: Tensor? = nil) throws {
    try self.init(mask: mask, values: values, lut: lut, scale: nil, offset: nil)
  }

  /// Sparse + quantized: each non-zero dequantized with the scale and offset block of its
  /// position, as `constexpr_sparse_blockwise_shift_scale` does.
  /// - Parameters:
  ///   - mask: uint1 [rows, cols], rows and cols ≥ 1.
  ///   - values: int4/uint4/int8/uint8 [D] (D = ones of the mask).
  ///   - scale: fp16/fp32 [Sr, Sc] dividing [rows, cols].
  ///   - offset: nil, or [Sr, Sc] of the values' dtype, or fp16/fp32.
  /// - Throws: `WeightKernelsError` naming the operand at fault; `.unsupported` for an fp32
  ///   offset with an fp16 scale.
  /// - Complexity: O(rows · cols / 8 + Sr · Sc); mask and values are copied once.
  public init(mask: Tensor, values: Tensor, scale: Tensor, offset: Tensor? = nil) throws {
    try self.init(mask: mask, values: values, lut: nil, scale: scale, offset: offset)
  }

  private init(mask: Tensor, values: Tensor, lut: Tensor?, scale: Tensor?, offset: Tensor?) throws {
    let ownedMask = OwnedTensor(mask)
    let ownedValues = OwnedTensor(values)
    var handle: OpaquePointer?
    try ownedMask.withCTensor { m in
      try ownedValues.withCTensor { v in
        try lut.withCTensor { l in
          try scale.withCTensor { s in
            try offset.withCTensor { o in
              var desc = wk_sparse_matrix_desc(mask: m, values: v, lut: l, scale: s, offset: o)
              try CCall.run(target: nil) { wk_sparse_matrix_create(&desc, &handle, $0) }
            }
          }
        }
      }
    }
    guard let handle else { throw WeightKernelsError.outOfMemory("matrix") }
    storage = Storage(handle: handle, operands: [ownedMask, ownedValues])
    var info = wk_sparse_matrix_info()
    wk_sparse_matrix_get_info(handle, &info)
    rows = Int(info.rows)
    cols = Int(info.cols)
    nonzeroCount = Int(info.nonzeros)
    bits = info.nbits == 0 ? nil : Int(info.nbits)
    valueType = DType(rawValue: info.value_dtype) ?? values.dtype
    weightType = DType(rawValue: info.weight_dtype) ?? .fp32
    compressedByteCount = Int(info.compressed_bytes)
  }

  /// The dense weights [rows, cols] of `weightType`: exactly what the Core ML chain produces.
  public func decompress(target: SIMDTarget? = nil) throws -> Tensor {
    var bytes = [UInt8](repeating: 0, count: rows * cols * weightType.bits / 8)
    try bytes.withUnsafeMutableBytes { try decompress(into: $0, target: target) }
    return try Tensor(dtype: weightType, shape: [rows, cols], bytes: bytes)
  }

  /// `decompress` into caller-owned memory of at least rows · cols · weightType.bits / 8 bytes.
  public func decompress(into out: UnsafeMutableRawBufferPointer, target: SIMDTarget? = nil) throws {
    var buffer = wk_buffer(data: out.baseAddress, nbytes: out.count)
    try CCall.run(target: target) { wk_sparse_matrix_decompress(storage.handle, &buffer, $0) }
  }

  /// Fused y = W·x: bit-identical to `DenseMatrix(weights: decompress()).gemv(x)`, without ever
  /// materialising W.
  /// - Parameters:
  ///   - x: fp16/fp32 [cols] or [batch, cols].
  ///   - outputType: `.fp32` or `.fp16`.
  /// - Complexity: rows · cols · batch multiply-adds; reads mask and values once per batch row.
  public func gemv(_ x: Tensor, outputType: DType = .fp32, target: SIMDTarget? = nil) throws -> Tensor {
    try GEMVCall.run(rows: rows, x: x, outputType: outputType, target: target) { xt, y, t, ctx in
      wk_sparse_matrix_gemv(storage.handle, xt, y, t, ctx)
    }
  }

  /// `gemv` into caller-owned memory: y holds batch · rows elements of `outputType`.
  public func gemv(
    _ x: Tensor, into y: UnsafeMutableRawBufferPointer, outputType: DType = .fp32,
    target: SIMDTarget? = nil
  ) throws {
    try GEMVCall.run(into: y, x: x, outputType: outputType, target: target) { xt, yb, t, ctx in
      wk_sparse_matrix_gemv(storage.handle, xt, yb, t, ctx)
    }
  }
}
