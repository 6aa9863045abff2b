import CKernels

/// How a matrix's weights are stored (the C ABI's `wk_matrix_format`).
public enum MatrixFormat: Sendable {
  /// fp16 or fp32 weights as they are (`DenseMatrix`).
  case dense
  /// n-bit indices into look-up tables (`PalettizedMatrix`).
  case palettized
  /// A bit mask and the non-zeros: stored, palettized or quantized (`SparseMatrix`).
  case sparse
  /// Linearly quantized integers with scales and offsets (`QuantizedMatrix`).
  case quantized
}

/// A prepared, immutable C matrix (`wk_matrix`) and the memory it points into. Shared by every
/// copy of the value type that made it; freed with the last one. Opaque: only the library
/// creates and uses it.
public final class MatrixHandle: @unchecked Sendable {
  /// The `wk_matrix*`.
  let pointer: OpaquePointer
  /// Copies of the large operands (weights, indices, masks, values) the matrix points into:
  /// they live exactly as long as the matrix.
  let operands: [OwnedTensor]
  /// What `wk_matrix_get_info` reported at creation (a matrix never changes).
  let info: wk_matrix_info
  /// What else must outlive the matrix: the model whose mapping a model weight's matrix points
  /// into (nil for matrices over `operands`).
  let owner: AnyObject?

  /// Runs one `wk_*_matrix_create` call: `create` receives the `wk_matrix**` to fill and runs the
  /// C call through `CCall` (which throws its failure). `operands` are the copies the matrix
  /// keeps pointers into; `owner` anything else it points into.
  init(
    borrowing operands: [OwnedTensor], keepingAlive owner: AnyObject? = nil,
    _ create: (inout OpaquePointer?) throws -> Void
  ) throws {
    var matrix: OpaquePointer?
    try create(&matrix)
    guard let matrix else { throw WeightKernelsError.outOfMemory("matrix: create returned no matrix") }
    var info = wk_matrix_info()
    let status = wk_matrix_get_info(matrix, &info)
    guard status == WK_OK else {
      wk_matrix_destroy(matrix)
      throw WeightKernelsError.nullArgument("matrix: wk_matrix_get_info failed")
    }
    self.pointer = matrix
    self.operands = operands
    self.owner = owner
    self.info = info
  }

  deinit { wk_matrix_destroy(pointer) }

  var rows: Int { Int(info.rows) }
  var cols: Int { Int(info.cols) }
  var weightType: DType { DType(rawValue: info.weight_dtype) ?? .fp32 }
  /// dtype of the stored elements (weights, indices, non-zeros or quantized data).
  var valueType: DType { DType(rawValue: info.value_dtype) ?? weightType }

  /// The one GEMV of every format: `wk_matrix_gemv`, or `wk_matrix_gemv_w8a8`.
  func gemv(_ x: Tensor, outputType: DType, target: SIMDTarget?, threads: Int, w8a8: Bool) throws -> Tensor {
    try GEMVCall.run(rows: rows, x: x, outputType: outputType, target: target, threads: threads) { xt, y, t, ctx in
      w8a8 ? wk_matrix_gemv_w8a8(pointer, xt, y, t, ctx) : wk_matrix_gemv(pointer, xt, y, t, ctx)
    }
  }

  func gemv(
    _ x: Tensor, into y: UnsafeMutableRawBufferPointer, outputType: DType, target: SIMDTarget?, threads: Int,
    w8a8: Bool
  ) throws {
    try GEMVCall.run(into: y, x: x, outputType: outputType, target: target, threads: threads) { xt, yb, t, ctx in
      w8a8 ? wk_matrix_gemv_w8a8(pointer, xt, yb, t, ctx) : wk_matrix_gemv(pointer, xt, yb, t, ctx)
    }
  }

  func decompress(into out: UnsafeMutableRawBufferPointer, target: SIMDTarget?, threads: Int) throws {
    var buffer = wk_buffer(data: out.baseAddress, nbytes: out.count)
    try CCall.run(target: target, threads: threads) { wk_matrix_decompress(pointer, &buffer, $0) }
  }

  func decompress(target: SIMDTarget?, threads: Int) throws -> Tensor {
    var bytes = [UInt8](repeating: 0, count: rows * cols * weightType.bits / 8)
    try bytes.withUnsafeMutableBytes { try decompress(into: $0, target: target, threads: threads) }
    return try Tensor(dtype: weightType, shape: [rows, cols], bytes: bytes)
  }
}

/// A prepared linear weight [rows, cols] (a Core ML linear weight [out, in]) in any storage
/// format: `DenseMatrix`, `PalettizedMatrix`, `SparseMatrix`, `QuantizedMatrix`. Every format
/// has the same operations (this protocol's extension), run by one C implementation
/// (`wk_matrix_*`): fused GEMV and decompression, bit-exact on every SIMD target, for every
/// batch size and every thread count. Matrices are immutable and may be shared between threads:
/// concurrent calls on one matrix are safe.
public protocol WeightMatrix: Sendable {
  /// The prepared C matrix (opaque).
  var handle: MatrixHandle { get }
}

extension WeightMatrix {
  /// Output rows (the product's length).
  public var rows: Int { handle.rows }
  /// Input columns (x's length).
  public var cols: Int { handle.cols }
  /// Type of the decompressed weights (fp16 or fp32).
  public var weightType: DType { handle.weightType }
  /// Bytes of the stored form as Core ML keeps it: weights, indices, masks, values, LUTs,
  /// scales and offsets.
  public var compressedByteCount: Int { Int(handle.info.compressed_bytes) }
  /// How the weights are stored.
  public var format: MatrixFormat {
    switch handle.info.format {
    case Int32(WK_FORMAT_PALETTIZED.rawValue): return .palettized
    case Int32(WK_FORMAT_SPARSE.rawValue): return .sparse
    case Int32(WK_FORMAT_QUANTIZED.rawValue): return .quantized
    default: return .dense
    }
  }

  /// Fused y = W·x with the canonical accumulation order (docs/ARITHMETIC.md §2):
  /// bit-identical to `DenseMatrix(weights: decompress()).gemv(x)` without ever materialising
  /// W, on every target, for every batch size and every thread count (row b of a batch equals
  /// the batch-1 product of x[b]).
  /// - Parameters:
  ///   - x: fp16/fp32 [cols] or [batch, cols] (batch may be 0).
  ///   - outputType: `.fp32` or `.fp16` (RN16 of the fp32 result).
  ///   - target: the SIMD target; nil for the best one this CPU supports.
  ///   - threads: 1 runs on the calling thread; 0 uses every CPU this process may run on; n > 1
  ///     uses the calling thread and n − 1 workers of the library's pool. The bits never depend
  ///     on it.
  /// - Returns: [rows] for an x of rank 1, [batch, rows] for rank 2, of `outputType`.
  /// - Throws: `WeightKernelsError` naming the operand at fault: `.invalidShape` for an x of
  ///   another length or rank, `.invalidDType` for x or output types, `.unsupportedTarget`,
  ///   `.invalidArgument` naming `threads` when it is negative or above 256.
  /// - Complexity: rows · cols · batch multiply-adds. For batch 1 the stored weights are read
  ///   once and decoded in registers; for larger batches each weight is decoded once per 64
  ///   batch rows. O(batch · cols) floats of per-thread scratch, reused across calls.
  public func gemv(
    _ x: Tensor, outputType: DType = .fp32, target: SIMDTarget? = nil, threads: Int = 1
  ) throws -> Tensor {
    try handle.gemv(x, outputType: outputType, target: target, threads: threads, w8a8: false)
  }

  /// `gemv` into caller-owned memory: y holds at least batch · rows elements of `outputType`
  /// and may not overlap x (no allocation, for inference loops).
  /// - Throws: as `gemv(_:outputType:target:threads:)`; `.sizeMismatch` when y is too small,
  ///   `.aliasing` when it overlaps x.
  /// - Complexity: as `gemv(_:outputType:target:threads:)`.
  public func gemv(
    _ x: Tensor, into y: UnsafeMutableRawBufferPointer, outputType: DType = .fp32, target: SIMDTarget? = nil,
    threads: Int = 1
  ) throws {
    try handle.gemv(x, into: y, outputType: outputType, target: target, threads: threads, w8a8: false)
  }

  /// The dense weights [rows, cols] of `weightType`: exactly what the Core ML chain produces
  /// (the stored weights themselves for a `DenseMatrix`), bit-identical for every target and
  /// every thread count.
  /// - Parameters:
  ///   - target: the SIMD target; nil for the best one this CPU supports.
  ///   - threads: as for `gemv`: 1 the calling thread, 0 every CPU, n the library's pool.
  /// - Throws: `.unsupportedTarget`; `.invalidArgument` naming `threads` when it is negative or
  ///   above 256.
  /// - Complexity: O(rows · cols).
  public func decompress(target: SIMDTarget? = nil, threads: Int = 1) throws -> Tensor {
    try handle.decompress(target: target, threads: threads)
  }

  /// `decompress` into caller-owned memory of at least rows · cols · weightType.bits / 8 bytes.
  /// - Throws: as `decompress(target:threads:)`; `.sizeMismatch` when `out` is too small.
  /// - Complexity: O(rows · cols).
  public func decompress(
    into out: UnsafeMutableRawBufferPointer, target: SIMDTarget? = nil, threads: Int = 1
  ) throws {
    try handle.decompress(into: out, target: target, threads: threads)
  }
}
