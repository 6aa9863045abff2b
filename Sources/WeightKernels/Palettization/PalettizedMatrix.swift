import CKernels

/// A palettized linear weight [rows, cols] as Core ML stores it (iOS18 `constexpr_lut_to_dense`
/// with rank-2 indices), optionally with the per-channel-scale or quantized-LUT chains of
/// FORMATS.md §7.6, prepared once for fused decompress-GEMV. A value type: copies share one
/// immutable prepared form.
public struct PalettizedMatrix: Sendable {
  final class Storage: @unchecked Sendable {
    let handle: OpaquePointer
    let indices: OwnedTensor  // the matrix points into it

    init(handle: OpaquePointer, indices: OwnedTensor) {
      self.handle = handle
      self.indices = indices
    }

    deinit { wk_lut_matrix_destroy(handle) }
  }

  let storage: Storage
  public let rows: Int
  public let cols: Int
  /// Index width n (1, 2, 3, 4, 6 or 8).
  public let bits: Int
  /// Type of the decompressed weights (fp16 or fp32).
  public let weightType: DType
  /// Bytes of the compressed form: indices, LUT, scales and offsets.
  public let compressedByteCount: Int

  /// - Parameters:
  ///   - indices: uint1…uint8 [rows, cols].
  ///   - lut: fp16/fp32/int8/uint8 [Gr, Gc, 2ⁿ, 1]; Gr divides rows, Gc divides cols.
  ///   - lutScale, lutOffset: a `blockwise_shift_scale` applied to the LUT first (Core ML's
  ///     canonical per-channel-scale form, or a quantized LUT): shape [a, b, c, 1].
  ///   - scale: a `blockwise_shift_scale` (no offset) applied to the dense result: [Sr, Sc].
  /// - Throws: `WeightKernelsError` naming the operand at fault; `.unsupported` for vector
  ///   palettization (decompress it instead) or integer weights without a scale.
  /// - Complexity: O(LUT + scales + rows + cols); the indices are copied once, never expanded.
  public init(
    indices: Tensor, lut: Tensor, lutScale: Tensor? = nil, lutOffset: Tensor? = nil,
    scale: Tensor? = nil
  ) throws {
    let copy = OwnedTensor(indices)
    var handle: OpaquePointer?
    try lut.withCTensor { l in
      try lutScale.withCTensor { ls in
        try lutOffset.withCTensor { lo in
          try scale.withCTensor { s in
            try copy.withCTensor { i in
              var desc = wk_lut_matrix_desc(indices: i, lut: l, lut_scale: ls, lut_offset: lo, scale: s)
              try CCall.run(target: nil) { wk_lut_matrix_create(&desc, &handle, $0) }
            }
          }
        }
      }
    }
    guard let handle else { throw WeightKernelsError.outOfMemory("matrix") }
    storage = Storage(handle: handle, indices: copy)
    var info = wk_lut_matrix_info()
    wk_lut_matrix_get_info(handle, &info)
    rows = Int(info.rows)
    cols = Int(info.cols)
    bits = Int(info.nbits)
    weightType = DType(rawValue: info.weight_dtype) ?? .fp32
    compressedByteCount = Int(info.compressed_bytes)
  }

  /// The dense weights [rows, cols] of `weightType`: exactly what the Core ML chain produces.
  public func decompress(target: SIMDTarget? = nil) throws -> Tensor {
    var bytes = [UInt8](repeating: 0, count: rows * cols * weightType.bits / 8)
    try bytes.withUnsafeMutableBytes { raw in
      var out = wk_buffer(data: raw.baseAddress, nbytes: raw.count)
      try CCall.run(target: target) { wk_lut_matrix_decompress(storage.handle, &out, $0) }
    }
    return try Tensor(dtype: weightType, shape: [rows, cols], bytes: bytes)
  }

  /// `decompress` into caller-owned memory of at least rows · cols · weightType.bits / 8 bytes.
  public func decompress(into out: UnsafeMutableRawBufferPointer, target: SIMDTarget? = nil) throws {
    var buffer = wk_buffer(data: out.baseAddress, nbytes: out.count)
    try CCall.run(target: target) { wk_lut_matrix_decompress(storage.handle, &buffer, $0) }
  }

  /// Fused y = W·x: bit-identical to `DenseMatrix(weights: decompress()).gemv(x)`, without ever
  /// materialising W.
  /// - Parameters:
  ///   - x: fp16/fp32 [cols] or [batch, cols].
  ///   - outputType: `.fp32` or `.fp16`.
  /// - Complexity: rows · cols · batch multiply-adds; reads the indices once per batch row.
  public func gemv(_ x: Tensor, outputType: DType = .fp32, target: SIMDTarget? = nil) throws -> Tensor {
    try GEMVCall.run(rows: rows, x: x, outputType: outputType, target: target) { xt, y, t, ctx in
      wk_lut_matrix_gemv(storage.handle, xt, y, t, ctx)
    }
  }

  /// `gemv` into caller-owned memory: y holds batch · rows elements of `outputType` (no
  /// allocation, for inference loops).
  public func gemv(
    _ x: Tensor, into y: UnsafeMutableRawBufferPointer, outputType: DType = .fp32,
    target: SIMDTarget? = nil
  ) throws {
    try GEMVCall.run(into: y, x: x, outputType: outputType, target: target) { xt, yb, t, ctx in
      wk_lut_matrix_gemv(storage.handle, xt, yb, t, ctx)
    }
  }
}
