import CKernels

// Bridges value types to the C ABI: every call validates in C (one validator for the Swift API,
// the C ABI and the fuzzers) and a failing status becomes a typed Swift error.

extension Tensor {
  /// Calls `body` with a `wk_tensor` viewing this tensor's bytes (valid only inside `body`).
  func withCTensor<R>(_ body: (UnsafePointer<wk_tensor>) throws -> R) rethrows -> R {
    try bytes.withUnsafeBytes { raw in
      var t = Tensor.cTensor(raw, dtype: dtype, shape: shape)
      return try withUnsafePointer(to: &t) { try body($0) }
    }
  }

  static func cTensor(_ raw: UnsafeRawBufferPointer, dtype: DType, shape: [Int]) -> wk_tensor {
    var t = wk_tensor()
    t.data = raw.count > 0 ? raw.baseAddress : nil
    t.nbytes = raw.count
    t.dtype = dtype.rawValue
    t.rank = UInt32(shape.count)
    withUnsafeMutableBytes(of: &t.shape) { dims in
      for (axis, extent) in shape.enumerated() {
        dims.storeBytes(of: Int64(extent), toByteOffset: axis * 8, as: Int64.self)
      }
    }
    return t
  }
}

/// A copy of a tensor in memory the library owns: prepared matrices keep pointers into their
/// large operands (weights, indices, masks, values) instead of copying them again in C.
final class OwnedTensor: @unchecked Sendable {
  let dtype: DType
  let shape: [Int]
  private let storage: UnsafeMutableRawBufferPointer
  private let byteCount: Int

  init(_ tensor: Tensor) {
    dtype = tensor.dtype
    shape = tensor.shape
    byteCount = tensor.bytes.count
    storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
    tensor.bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
  }

  deinit { storage.deallocate() }

  /// A `wk_tensor` over the copy; the pointer stays valid as long as this object lives.
  func withCTensor<R>(_ body: (UnsafePointer<wk_tensor>) throws -> R) rethrows -> R {
    var t = Tensor.cTensor(UnsafeRawBufferPointer(rebasing: storage[0..<byteCount]), dtype: dtype, shape: shape)
    return try withUnsafePointer(to: &t) { try body($0) }
  }
}

extension Optional where Wrapped == Tensor {
  func withCTensor<R>(_ body: (UnsafePointer<wk_tensor>?) throws -> R) rethrows -> R {
    switch self {
    case .some(let tensor): return try tensor.withCTensor { try body($0) }
    case .none: return try body(nil)
    }
  }
}

enum CCall {
  /// Runs one C call with a fresh context on `target` (nil: best) and `threads` (1: the calling
  /// thread; 0: every CPU; the C side validates the count) and throws its failure.
  @discardableResult
  static func run(
    target: SIMDTarget?, threads: Int = 1, _ body: (UnsafeMutablePointer<wk_context>) -> wk_status
  ) throws -> SIMDTarget {
    var ctx = wk_context()
    wk_context_init(&ctx)
    ctx.target = target?.rawValue ?? 0
    // The C ABI validates the count (WK_MAX_THREADS); only what its uint32_t cannot hold is
    // rejected here.
    guard let count = UInt32(exactly: threads) else {
      throw WeightKernelsError.invalidArgument("threads: \(threads); 0 ... \(WK_MAX_THREADS) expected")
    }
    ctx.threads = count
    let status = body(&ctx)
    guard status == WK_OK else { throw error(status, &ctx) }
    return SIMDTarget(rawValue: ctx.used_target)
  }

  static func error(_ status: wk_status, _ ctx: inout wk_context) -> WeightKernelsError {
    let message = withUnsafeBytes(of: &ctx.message) { raw in
      String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
    }
    let kind = WeightKernelsError.Kind(rawValue: Int32(status.rawValue)) ?? .invalidArgument
    return WeightKernelsError(kind: kind, message: message.isEmpty ? String(cString: wk_status_name(status)) : message)
  }

  /// An op with shape inference: asks C for the output's dtype and shape (out = NULL), then runs
  /// it into a buffer of exactly that size.
  static func produce(
    target: SIMDTarget?,
    _ body: (UnsafePointer<wk_buffer>?, UnsafeMutablePointer<wk_tensor_info>, UnsafeMutablePointer<wk_context>) -> wk_status
  ) throws -> Tensor {
    var info = wk_tensor_info()
    try run(target: target) { body(nil, &info, $0) }
    var bytes = [UInt8](repeating: 0, count: info.nbytes)
    try bytes.withUnsafeMutableBytes { raw in
      var buffer = wk_buffer(data: raw.baseAddress, nbytes: raw.count)
      try run(target: target) { body(&buffer, &info, $0) }
    }
    return try tensor(info: &info, bytes: bytes)
  }

  /// An op with two outputs (a mask and values), with the same two-phase protocol as `produce`.
  static func producePair(
    target: SIMDTarget?,
    _ body: (
      UnsafePointer<wk_buffer>?, UnsafePointer<wk_buffer>?, UnsafeMutablePointer<wk_tensor_info>,
      UnsafeMutablePointer<wk_tensor_info>, UnsafeMutablePointer<wk_context>
    ) -> wk_status
  ) throws -> (Tensor, Tensor) {
    var firstInfo = wk_tensor_info()
    var secondInfo = wk_tensor_info()
    try run(target: target) { body(nil, nil, &firstInfo, &secondInfo, $0) }
    var first = [UInt8](repeating: 0, count: firstInfo.nbytes)
    var second = [UInt8](repeating: 0, count: secondInfo.nbytes)
    try first.withUnsafeMutableBytes { a in
      try second.withUnsafeMutableBytes { b in
        var bufferA = wk_buffer(data: a.baseAddress, nbytes: a.count)
        var bufferB = wk_buffer(data: b.baseAddress, nbytes: b.count)
        try run(target: target) { body(&bufferA, &bufferB, &firstInfo, &secondInfo, $0) }
      }
    }
    return (try tensor(info: &firstInfo, bytes: first), try tensor(info: &secondInfo, bytes: second))
  }

  /// The tensor a `wk_tensor_info` describes, over `bytes`.
  static func tensor(info: inout wk_tensor_info, bytes: [UInt8]) throws -> Tensor {
    let shape = withUnsafeBytes(of: &info.shape) { raw in
      (0..<Int(info.rank)).map { Int(raw.load(fromByteOffset: $0 * 8, as: Int64.self)) }
    }
    guard let dtype = DType(rawValue: info.dtype) else {
      throw WeightKernelsError.invalidDType("output dtype code \(info.dtype)")
    }
    return try Tensor(dtype: dtype, shape: shape, bytes: bytes)
  }
}
