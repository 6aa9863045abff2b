import CKernels
import Foundation
import Testing
import WeightKernels
import WeightKernelsReference

// The C ABI's one matrix type (weightkernels.h, "Matrices"): wk_matrix_get_info for every format,
// W8A8 eligibility, the thread count (0…WK_MAX_THREADS, bit-identical results) and a
// caller-supplied parallel_for, and wk_version.

/// A matrix made through the C ABI, with the memory it points into (freed after the matrix).
final class CMatrix {
  let pointer: OpaquePointer
  let memory: [Bytes]
  let rows: Int
  let cols: Int

  /// `operands` are copied into memory that lives as long as the matrix; `create` gets their
  /// wk_tensor pointers (nil stays NULL) and the wk_matrix** to fill.
  init(
    _ operands: [Tensor?], rows: Int, cols: Int,
    _ create: ([UnsafePointer<wk_tensor>?], UnsafeMutablePointer<OpaquePointer?>, UnsafeMutablePointer<wk_context>) -> wk_status
  ) throws {
    let memory = operands.map { $0.map { Bytes($0.bytes) } }
    let tensors = zip(memory, operands).map { m, t in t.map { cTensor(m!, $0) } }
    var ctx = wk_context()
    wk_context_init(&ctx)
    var matrix: OpaquePointer?
    let status = withTensorPointers(tensors) { create($0, &matrix, &ctx) }
    guard status == WK_OK, let matrix else {
      throw WeightKernelsError.invalidArgument("create: \(statusName(status)) \(contextMessage(&ctx))")
    }
    self.pointer = matrix
    self.memory = memory.compactMap { $0 }
    self.rows = rows
    self.cols = cols
  }

  deinit { wk_matrix_destroy(pointer) }

  var info: wk_matrix_info { matrixInfo(pointer) }

  static func dense(_ w: Tensor) throws -> CMatrix {
    try CMatrix([w], rows: w.shape[0], cols: w.shape[1]) { p, m, ctx in wk_dense_matrix_create(p[0], m, ctx) }
  }

  static func palettized(indices: Tensor, lut: Tensor, lutScale: Tensor? = nil, lutOffset: Tensor? = nil, scale: Tensor? = nil) throws -> CMatrix {
    try CMatrix([indices, lut, lutScale, lutOffset, scale], rows: indices.shape[0], cols: indices.shape[1]) { p, m, ctx in
      var desc = wk_lut_matrix_desc(indices: p[0], lut: p[1], lut_scale: p[2], lut_offset: p[3], scale: p[4])
      return wk_lut_matrix_create(&desc, m, ctx)
    }
  }

  static func sparse(mask: Tensor, values: Tensor, lut: Tensor? = nil, scale: Tensor? = nil, offset: Tensor? = nil) throws -> CMatrix {
    try CMatrix([mask, values, lut, scale, offset], rows: mask.shape[0], cols: mask.shape[1]) { p, m, ctx in
      var desc = wk_sparse_matrix_desc(mask: p[0], values: p[1], lut: p[2], scale: p[3], offset: p[4])
      return wk_sparse_matrix_create(&desc, m, ctx)
    }
  }

  static func quantized(data: Tensor, scale: Tensor, offset: Tensor? = nil) throws -> CMatrix {
    try CMatrix([data, scale, offset], rows: data.shape[0], cols: data.shape[1]) { p, m, ctx in
      var desc = wk_quant_matrix_desc(data: p[0], scale: p[1], offset: p[2])
      return wk_quant_matrix_create(&desc, m, ctx)
    }
  }

  /// Runs `call` (decompress, gemv or gemv_w8a8 on this matrix) with a context prepared by
  /// `setUp` into a canary-filled buffer of `bytes`, which starts `offset` bytes past a 64-byte
  /// boundary (nil: wherever the allocator puts it); returns the status, the output and the
  /// context's message.
  func run(
    bytes: Int, offset: Int? = nil, setUp: (inout wk_context) -> Void = { _ in },
    _ call: (OpaquePointer, UnsafePointer<wk_buffer>, UnsafeMutablePointer<wk_context>) -> wk_status
  ) -> (status: wk_status, output: [UInt8], message: String) {
    let out = Bytes(count: bytes + (offset == nil ? 0 : 64 + offset!), fill: 0xA5)
    var start = out.base
    if let offset { start = out.base.alignedUp(toMultipleOf: 64) + offset }
    var buffer = wk_buffer(data: start, nbytes: bytes)
    var ctx = wk_context()
    wk_context_init(&ctx)
    setUp(&ctx)
    let status = call(pointer, &buffer, &ctx)
    return (status, Array(UnsafeRawBufferPointer(start: start, count: bytes)), contextMessage(&ctx))
  }
}

/// What a lent parallel-for saw: its calls and the task count of each.
final class LentPool: @unchecked Sendable {
  private let lock = NSLock()
  private var counts = [Int]()
  /// Run the tasks on several threads (DispatchQueue.concurrentPerform) instead of serially.
  let concurrent: Bool

  init(concurrent: Bool) { self.concurrent = concurrent }

  func record(_ count: Int) {
    lock.lock()
    counts.append(count)
    lock.unlock()
  }

  /// Task counts of the calls so far; resets.
  func take() -> [Int] {
    lock.lock()
    defer { counts = []; lock.unlock() }
    return counts
  }
}

/// A caller-supplied parallel-for: runs every task, in reverse order (serially or spread over
/// several threads), and records the call in the LentPool passed as `pool`.
let lentParallelFor: wk_parallel_for_fn = { pool, task, data, count in
  let lent = Unmanaged<LentPool>.fromOpaque(pool!).takeUnretainedValue()
  lent.record(count)
  if lent.concurrent {
    DispatchQueue.concurrentPerform(iterations: count) { i in task!(data, count - 1 - i) }
  } else {
    for i in (0..<count).reversed() { task!(data, i) }
  }
}

@Suite("C ABI: wk_matrix info, W8A8 eligibility, threads, a lent parallel_for, version")
struct CABIMatrixTests {
  @Test("wk_version is WK_VERSION_MAJOR * 1000 + WK_VERSION_MINOR")
  func version() {
    #expect(wk_version() == UInt32(WK_VERSION_MAJOR * 1000 + WK_VERSION_MINOR), "wk_version \(wk_version())")
    #expect(wk_version() == 2, "this header is 0.2")
  }

  /// Every field of wk_matrix_info, for each format and variant.
  @Test("wk_matrix_get_info: every field, every format")
  func info() throws {
    var r = SplitMix64(seed: 0x1F0)
    let f16 = code(WK_DTYPE_FP16), f32 = code(WK_DTYPE_FP32)
    struct Expected {
      var format: wk_matrix_format
      var weight: Int32
      var value: Int32
      var bytes: Int
      var nbits: UInt32 = 0
      var nonzeros: Int64 = 40
      var lut: UInt32 = 0
      var scale: UInt32 = 0
      var offset: UInt32 = 0
      var w8a8: UInt32 = 0
    }
    let bits = r.maskBits(rows: 4, cols: 10, density: 0.5)
    let d = bits.reduce(0, +)
    let mask = try Tensor(integers: bits, dtype: .uint1, shape: [4, 10])
    let cases: [(String, CMatrix, Expected)] = [
      ("dense fp32", try CMatrix.dense(r.floatTensor(.fp32, shape: [4, 10], .finite)),
       Expected(format: WK_FORMAT_DENSE, weight: f32, value: f32, bytes: 160)),
      ("dense fp16", try CMatrix.dense(r.floatTensor(.fp16, shape: [4, 10], .finite)),
       Expected(format: WK_FORMAT_DENSE, weight: f16, value: f16, bytes: 80)),
      ("palettized uint3, fp16 LUT [1, 2, 8, 1]",
       try CMatrix.palettized(indices: r.indices(bits: 3, shape: [4, 10], garbagePadding: false), lut: r.floatTensor(.fp16, shape: [1, 2, 8, 1], .finite)),
       Expected(format: WK_FORMAT_PALETTIZED, weight: f16, value: code(WK_DTYPE_UINT3), bytes: 15 + 32, nbits: 3, lut: 1)),
      ("palettized uint2, int8 LUT, lut_scale, lut_offset, scale",
       try CMatrix.palettized(
        indices: r.indices(bits: 2, shape: [4, 10], garbagePadding: false), lut: r.integerTensor(.int8, shape: [1, 1, 4, 1]),
        lutScale: r.floatTensor(.fp32, shape: [1, 1, 1, 1], .finite), lutOffset: r.integerTensor(.int8, shape: [1, 1, 1, 1]),
        scale: r.floatTensor(.fp32, shape: [4, 1], .finite)),
       Expected(format: WK_FORMAT_PALETTIZED, weight: f32, value: code(WK_DTYPE_UINT2), bytes: 10 + 4 + 4 + 1 + 16, nbits: 2, lut: 1, scale: 1, offset: 1)),
      ("palettized uint1, fp16 LUT, lut_scale only",
       try CMatrix.palettized(
        indices: r.indices(bits: 1, shape: [4, 10], garbagePadding: false), lut: r.floatTensor(.fp16, shape: [1, 1, 2, 1], .finite),
        lutScale: r.floatTensor(.fp16, shape: [1, 1, 1, 1], .finite)),
       Expected(format: WK_FORMAT_PALETTIZED, weight: f16, value: code(WK_DTYPE_UINT1), bytes: 5 + 4 + 2, nbits: 1, lut: 1, scale: 1)),
      ("sparse fp16", try CMatrix.sparse(mask: mask, values: r.floatTensor(.fp16, shape: [d], .finite)),
       Expected(format: WK_FORMAT_SPARSE, weight: f16, value: f16, bytes: 5 + 2 * d, nonzeros: Int64(d))),
      ("sparse + palettized uint4, fp32 LUT",
       try CMatrix.sparse(mask: mask, values: r.indices(bits: 4, shape: [d], garbagePadding: false), lut: r.floatTensor(.fp32, shape: [1, 1, 16, 1], .finite)),
       Expected(format: WK_FORMAT_SPARSE, weight: f32, value: code(WK_DTYPE_UINT4), bytes: 5 + (4 * d + 7) / 8 + 64, nbits: 4,
                nonzeros: Int64(d), lut: 1)),
      ("sparse + quantized int8, fp16 scale, int8 offset",
       try CMatrix.sparse(mask: mask, values: r.integerTensor(.int8, shape: [d]), scale: r.floatTensor(.fp16, shape: [4, 1], .finite),
                   offset: r.integerTensor(.int8, shape: [4, 1])),
       Expected(format: WK_FORMAT_SPARSE, weight: f16, value: code(WK_DTYPE_INT8), bytes: 5 + d + 8 + 4, nonzeros: Int64(d), scale: 1, offset: 1)),
      ("quantized int8, per-row fp32 scale (W8A8)",
       try CMatrix.quantized(data: r.integerTensor(.int8, shape: [4, 10]), scale: r.floatTensor(.fp32, shape: [4, 1], .finite)),
       Expected(format: WK_FORMAT_QUANTIZED, weight: f32, value: code(WK_DTYPE_INT8), bytes: 40 + 16, scale: 1, w8a8: 1)),
      ("quantized int8, per-tensor fp16 scale (W8A8)",
       try CMatrix.quantized(data: r.integerTensor(.int8, shape: [4, 10]), scale: r.floatTensor(.fp16, shape: [1, 1], .finite)),
       Expected(format: WK_FORMAT_QUANTIZED, weight: f16, value: code(WK_DTYPE_INT8), bytes: 40 + 2, scale: 1, w8a8: 1)),
      ("quantized uint4, fp16 scale and offset",
       try CMatrix.quantized(data: r.integerTensor(.uint4, shape: [4, 10]), scale: r.floatTensor(.fp16, shape: [1, 2], .finite),
                      offset: r.floatTensor(.fp16, shape: [1, 2], .finite)),
       Expected(format: WK_FORMAT_QUANTIZED, weight: f16, value: code(WK_DTYPE_UINT4), bytes: 20 + 4 + 4, scale: 1, offset: 1)),
    ]
    for (name, m, e) in cases {
      let i = m.info
      let actual = "format \(i.format) weight \(i.weight_dtype) rows \(i.rows) cols \(i.cols) bytes \(i.compressed_bytes) value \(i.value_dtype) "
        + "nbits \(i.nbits) nonzeros \(i.nonzeros) lut \(i.has_lut) scale \(i.has_scale) offset \(i.has_offset) w8a8 \(i.w8a8)"
      #expect(i.format == Int32(e.format.rawValue) && i.weight_dtype == e.weight && i.rows == 4 && i.cols == 10, "\(name): \(actual)")
      #expect(i.compressed_bytes == UInt64(e.bytes), "\(name): compressed_bytes \(i.compressed_bytes), expected \(e.bytes)")
      #expect(i.value_dtype == e.value && i.nbits == e.nbits && i.nonzeros == e.nonzeros, "\(name): \(actual)")
      #expect(i.has_lut == e.lut && i.has_scale == e.scale && i.has_offset == e.offset && i.w8a8 == e.w8a8, "\(name): \(actual)")
    }
  }

  /// wk_matrix_gemv_w8a8 takes only what info.w8a8 admits; anything else is
  /// WK_ERROR_UNSUPPORTED with a message and an untouched y.
  @Test("wk_matrix_gemv_w8a8 on a non-eligible matrix: WK_ERROR_UNSUPPORTED")
  func w8a8Unsupported() throws {
    var r = SplitMix64(seed: 0x3A8)
    let (rows, cols) = (6, 20)
    let bits = r.maskBits(rows: rows, cols: cols, density: 0.5)
    let mask = try Tensor(integers: bits, dtype: .uint1, shape: [rows, cols])
    let d = bits.reduce(0, +)
    let int8 = try r.integerTensor(.int8, shape: [rows, cols])
    let perRow = try r.floatTensor(.fp32, shape: [rows, 1], .finite)
    let ineligible: [(String, CMatrix)] = [
      ("dense", try CMatrix.dense(r.floatTensor(.fp32, shape: [rows, cols], .finite))),
      ("palettized", try CMatrix.palettized(indices: r.indices(bits: 2, shape: [rows, cols], garbagePadding: false), lut: r.floatTensor(.fp16, shape: [1, 1, 4, 1], .finite))),
      ("sparse", try CMatrix.sparse(mask: mask, values: r.floatTensor(.fp32, shape: [d], .finite))),
      ("sparse + quantized int8 per-row", try CMatrix.sparse(mask: mask, values: r.integerTensor(.int8, shape: [d]), scale: perRow)),
      ("quantized int8 with offset", try CMatrix.quantized(data: int8, scale: perRow, offset: r.integerTensor(.int8, shape: [rows, 1]))),
      ("quantized uint8", try CMatrix.quantized(data: r.integerTensor(.uint8, shape: [rows, cols]), scale: perRow)),
      ("quantized int4", try CMatrix.quantized(data: r.integerTensor(.int4, shape: [rows, cols]), scale: perRow)),
      ("quantized int8 per-column scale", try CMatrix.quantized(data: int8, scale: r.floatTensor(.fp32, shape: [1, cols], .finite))),
      ("quantized int8 row-blocked scale [3, 1]", try CMatrix.quantized(data: int8, scale: r.floatTensor(.fp32, shape: [3, 1], .finite))),
    ]
    let x = Bytes(try r.floatTensor(.fp32, shape: [2, cols], .finite).bytes)
    defer { withExtendedLifetime(x) {} }
    var tx = cTensor(x.base, nbytes: x.count, dtype: code(WK_DTYPE_FP32), shape: [2, Int64(cols)])
    for (name, m) in ineligible {
      #expect(m.info.w8a8 == 0, "\(name): info.w8a8 \(m.info.w8a8)")
      for target in SIMDTarget.supported {
        let result = m.run(bytes: 2 * rows * 4, setUp: { $0.target = target.rawValue }) { wk_matrix_gemv_w8a8($0, &tx, $1, code(WK_DTYPE_FP32), $2) }
        #expect(result.status == WK_ERROR_UNSUPPORTED, "\(name) on \(target): \(statusName(result.status)) \(result.message)")
        #expect(!result.message.isEmpty && result.output.allSatisfy { $0 == 0xA5 }, "\(name) on \(target): message or output")
      }
      // The ordinary GEMV of the same matrix works.
      let gemv = m.run(bytes: 2 * rows * 4) { wk_matrix_gemv($0, &tx, $1, code(WK_DTYPE_FP32), $2) }
      #expect(gemv.status == WK_OK, "\(name): gemv \(statusName(gemv.status)) \(gemv.message)")
    }
    let eligible = try CMatrix.quantized(data: int8, scale: perRow)
    #expect(eligible.info.w8a8 == 1)
    var y = [UInt8](repeating: 0, count: 2 * rows * 4)
    let status = y.withUnsafeMutableBytes { raw -> wk_status in
      var buffer = wk_buffer(data: raw.baseAddress, nbytes: raw.count)
      return wk_matrix_gemv_w8a8(eligible.pointer, &tx, &buffer, code(WK_DTYPE_FP32), nil)
    }
    #expect(status == WK_OK, "eligible matrix, NULL ctx: \(statusName(status))")
  }

  /// Matrices large enough to be split into several tasks (each task needs at least 64 K
  /// multiply-adds): [512, 512] of every format (the quantized one W8A8-eligible), x of batch 1
  /// and 4.
  static func largeMatrices() throws -> (matrices: [(String, CMatrix)], x1: Bytes, x4: Bytes) {
    var r = SplitMix64(seed: 0x7A5C)
    let (rows, cols) = (512, 512)
    let bits = r.maskBits(rows: rows, cols: cols, density: 0.5)
    let matrices: [(String, CMatrix)] = [
      ("dense fp16", try CMatrix.dense(r.floatTensor(.fp16, shape: [rows, cols], .finite))),
      ("palettized uint4", try CMatrix.palettized(indices: r.indices(bits: 4, shape: [rows, cols], garbagePadding: false),
                                           lut: r.floatTensor(.fp16, shape: [1, 4, 16, 1], .finite))),
      ("sparse + quantized int4", try CMatrix.sparse(
        mask: Tensor(integers: bits, dtype: .uint1, shape: [rows, cols]), values: r.integerTensor(.int4, shape: [bits.reduce(0, +)]),
        scale: r.floatTensor(.fp16, shape: [rows, 4], .finite))),
      ("quantized int8 per-row", try CMatrix.quantized(data: r.integerTensor(.int8, shape: [rows, cols]), scale: r.floatTensor(.fp32, shape: [rows, 1], .finite))),
    ]
    let x1 = Bytes(try r.floatTensor(.fp32, shape: [cols], .finite).bytes)
    let x4 = Bytes(try r.floatTensor(.fp16, shape: [4, cols], .finite).bytes)
    return (matrices, x1, x4)
  }

  /// The calls compared: decompress, gemv at batch 1 (fp32 x) and 4 (fp16 x), W8A8 where
  /// eligible; each with its output size.
  static func calls(_ m: CMatrix, x1: Bytes, x4: Bytes) -> [(String, Int, (OpaquePointer, UnsafePointer<wk_buffer>, UnsafeMutablePointer<wk_context>) -> wk_status)] {
    let weightBytes = m.rows * m.cols * Int(wk_dtype_bits(m.info.weight_dtype)) / 8
    let t1 = cTensor(x1.base, nbytes: x1.count, dtype: code(WK_DTYPE_FP32), shape: [Int64(m.cols)])
    let t4 = cTensor(x4.base, nbytes: x4.count, dtype: code(WK_DTYPE_FP16), shape: [4, Int64(m.cols)])
    var list: [(String, Int, (OpaquePointer, UnsafePointer<wk_buffer>, UnsafeMutablePointer<wk_context>) -> wk_status)] = [
      ("decompress", weightBytes, { wk_matrix_decompress($0, $1, $2) }),
      ("gemv batch 1", m.rows * 4, { var t = t1; return wk_matrix_gemv($0, &t, $1, code(WK_DTYPE_FP32), $2) }),
      ("gemv batch 4", 4 * m.rows * 2, { var t = t4; return wk_matrix_gemv($0, &t, $1, code(WK_DTYPE_FP16), $2) }),
    ]
    if m.info.w8a8 != 0 {
      list.append(("gemv_w8a8 batch 1", m.rows * 4, { var t = t1; return wk_matrix_gemv_w8a8($0, &t, $1, code(WK_DTYPE_FP32), $2) }))
      list.append(("gemv_w8a8 batch 4", 4 * m.rows * 4, { var t = t4; return wk_matrix_gemv_w8a8($0, &t, $1, code(WK_DTYPE_FP32), $2) }))
    }
    return list
  }

  /// threads 0…256 give the threads-1 bits on every target; 257 and above are
  /// WK_ERROR_INVALID_ARGUMENT naming threads, with nothing written.
  @Test("threads: 0, 2, 3, 7, 256 equal 1 on every target; 257 is WK_ERROR_INVALID_ARGUMENT")
  func threads() throws {
    let (matrices, x1, x4) = try Self.largeMatrices()
    defer { withExtendedLifetime((x1, x4)) {} }
    for (name, m) in matrices {
      for (call, bytes, body) in Self.calls(m, x1: x1, x4: x4) {
        for target in SIMDTarget.supported {
          let one = m.run(bytes: bytes, setUp: { $0.target = target.rawValue }, body)
          #expect(one.status == WK_OK, "\(name) \(call) on \(target): \(statusName(one.status)) \(one.message)")
          for threads: UInt32 in [0, 2, 3, 7, 256] {
            let t = m.run(bytes: bytes, setUp: { $0.target = target.rawValue; $0.threads = threads }, body)
            #expect(t.status == WK_OK && t.output == one.output, "\(name) \(call) on \(target): threads \(threads) differs from threads 1 (\(statusName(t.status)))")
          }
        }
        for threads: UInt32 in [UInt32(WK_MAX_THREADS) + 1, 4096, UInt32.max] {
          let t = m.run(bytes: bytes, setUp: { $0.threads = threads }, body)
          #expect(t.status == WK_ERROR_INVALID_ARGUMENT, "\(name) \(call) threads \(threads): \(statusName(t.status))")
          #expect(t.message.contains("threads") && t.output.allSatisfy { $0 == 0xA5 }, "\(name) \(call) threads \(threads): \(t.message)")
        }
      }
    }
  }

  /// A caller-supplied parallel_for (tasks run in reverse order, serially or on several
  /// threads) runs the work instead of the library's pool: called once per call with more than
  /// one task, and the bits are those of threads 1. With `threads` 0 or 4 it only changes how
  /// finely the work is split. A one-task call may run inline (at most one call per call).
  @Test("a caller-supplied parallel_for is used and gives the threads-1 bits")
  func lentParallelForTest() throws {
    let (matrices, x1, x4) = try Self.largeMatrices()
    defer { withExtendedLifetime((x1, x4)) {} }
    for concurrent in [false, true] {
      let lent = LentPool(concurrent: concurrent)
      let pool = Unmanaged.passUnretained(lent).toOpaque()
      defer { withExtendedLifetime(lent) {} }
      for (name, m) in matrices {
        for (call, bytes, body) in Self.calls(m, x1: x1, x4: x4) {
          let one = m.run(bytes: bytes, body)
          #expect(one.status == WK_OK, "\(name) \(call): \(statusName(one.status)) \(one.message)")
          for threads: UInt32 in [1, 0, 4] {
            for target in SIMDTarget.supported {
              let what = "\(name) \(call) on \(target), lent parallel_for (\(concurrent ? "concurrent" : "serial"), reverse order), threads \(threads)"
              _ = lent.take()
              let t = m.run(bytes: bytes, setUp: {
                $0.target = target.rawValue
                $0.threads = threads
                $0.parallel_for = lentParallelFor
                $0.parallel_for_pool = pool
              }, body)
              let counts = lent.take()
              #expect(t.status == WK_OK && t.output == one.output, "\(what): differs from threads 1 (\(statusName(t.status)) \(t.message))")
              #expect(counts.count == 1 && counts[0] > 1, "\(what): parallel_for calls with task counts \(counts); one call of several tasks expected")
            }
          }
        }
      }
      // A small matrix (one task): parallel_for is called at most once and the bits are right.
      var r = SplitMix64(seed: 0x5A11)
      let w = try r.floatTensor(.fp32, shape: [3, 20], .finite)
      let small = try CMatrix.dense(w)
      let x = Bytes(try r.floatTensor(.fp32, shape: [20], .finite).bytes)
      var tx = cTensor(x.base, nbytes: x.count, dtype: code(WK_DTYPE_FP32), shape: [20])
      let plain = small.run(bytes: 12) { wk_matrix_gemv($0, &tx, $1, code(WK_DTYPE_FP32), $2) }
      let lentRun = small.run(bytes: 12, setUp: { $0.parallel_for = lentParallelFor; $0.parallel_for_pool = pool }) {
        wk_matrix_gemv($0, &tx, $1, code(WK_DTYPE_FP32), $2)
      }
      #expect(plain.status == WK_OK && lentRun.status == WK_OK && lentRun.output == plain.output, "one-task call with a lent parallel_for")
      #expect(lent.take().count <= 1, "parallel_for called more than once in one call")
      withExtendedLifetime(x) {}
    }
  }
}
