import CKernels

enum GEMVCall {
  /// y = W·x for a matrix of `rows` rows: x is [cols] or [batch, cols]; y is [rows] or
  /// [batch, rows] of `outputType`. `body` runs the C GEMV into y's buffer on `target` with
  /// `threads`.
  static func run(
    rows: Int, x: Tensor, outputType: DType, target: SIMDTarget?, threads: Int,
    _ body: (UnsafePointer<wk_tensor>, UnsafePointer<wk_buffer>, Int32, UnsafeMutablePointer<wk_context>) -> wk_status
  ) throws -> Tensor {
    let shape = x.rank == 2 ? [x.shape[0], rows] : [rows]
    let count = x.rank == 2 ? x.shape[0] * rows : rows
    // A non-float output type gets no buffer: the C call rejects it before writing.
    var bytes = [UInt8](repeating: 0, count: outputType.isFloatingPoint ? count * outputType.bits / 8 : 0)
    try x.withCTensor { xt in
      try bytes.withUnsafeMutableBytes { raw in
        var y = wk_buffer(data: raw.baseAddress, nbytes: raw.count)
        try CCall.run(target: target, threads: threads) { body(xt, &y, outputType.rawValue, $0) }
      }
    }
    return try Tensor(dtype: outputType, shape: shape, bytes: bytes)
  }

  /// The same into caller-owned memory (no allocation).
  static func run(
    into y: UnsafeMutableRawBufferPointer, x: Tensor, outputType: DType, target: SIMDTarget?, threads: Int,
    _ body: (UnsafePointer<wk_tensor>, UnsafePointer<wk_buffer>, Int32, UnsafeMutablePointer<wk_context>) -> wk_status
  ) throws {
    try x.withCTensor { xt in
      var buffer = wk_buffer(data: y.baseAddress, nbytes: y.count)
      try CCall.run(target: target, threads: threads) { body(xt, &buffer, outputType.rawValue, $0) }
    }
  }
}
