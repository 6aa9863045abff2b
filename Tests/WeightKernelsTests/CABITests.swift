import CKernels
import Foundation
import Glibc
import Testing
import WeightKernels
import WeightKernelsReference

// The C ABI (CKernels/include/weightkernels.h) validates every argument, returns a status with a
// message, writes nothing on failure, writes exactly info.nbytes on success, and never reads or
// writes outside the buffers it is given (checked with PROT_NONE guard pages).

// MARK: - Memory the tests control

/// Heap bytes at a stable address (alignment 1 is enough: the ABI requires none).
final class Bytes {
  let base: UnsafeMutableRawPointer
  let count: Int

  init(_ bytes: [UInt8]) {
    count = bytes.count
    base = UnsafeMutableRawPointer.allocate(byteCount: max(1, count), alignment: 1)
    bytes.withUnsafeBytes { if $0.count > 0 { base.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
  }

  convenience init(count: Int, fill: UInt8) { self.init([UInt8](repeating: fill, count: count)) }

  deinit { base.deallocate() }

  var array: [UInt8] { Array(UnsafeRawBufferPointer(start: base, count: count)) }
}

/// Bytes placed flush against a PROT_NONE guard page: ending right before one (`atEnd`) or
/// starting right after one. Any access outside [pointer, pointer + count) next to the guard
/// faults.
final class Guarded {
  let region: UnsafeMutableRawPointer
  let regionSize: Int
  let pointer: UnsafeMutableRawPointer
  let count: Int

  static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

  init(_ bytes: [UInt8], atEnd: Bool) {
    let page = Guarded.pageSize
    let dataPages = max(1, (bytes.count + page - 1) / page)
    regionSize = (dataPages + 2) * page
    let mapped = mmap(nil, regionSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
    precondition(mapped != nil && mapped != UnsafeMutableRawPointer(bitPattern: -1), "mmap failed")
    region = mapped!
    precondition(mprotect(region, page, PROT_NONE) == 0)
    precondition(mprotect(region + (dataPages + 1) * page, page, PROT_NONE) == 0)
    count = bytes.count
    pointer = region + (atEnd ? page + dataPages * page - bytes.count : page)
    bytes.withUnsafeBytes { if $0.count > 0 { pointer.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
  }

  deinit { munmap(region, regionSize) }

  var array: [UInt8] { Array(UnsafeRawBufferPointer(start: pointer, count: count)) }
}

/// A wk_tensor with arbitrary (possibly invalid) fields.
func cTensor(_ data: UnsafeRawPointer?, nbytes: Int, dtype: Int32, shape: [Int64], rank: UInt32? = nil) -> wk_tensor {
  var t = wk_tensor()
  t.data = data
  t.nbytes = nbytes
  t.dtype = dtype
  t.rank = rank ?? UInt32(shape.count)
  withUnsafeMutableBytes(of: &t.shape) { raw in
    for (axis, extent) in shape.prefix(Int(WK_MAX_RANK)).enumerated() {
      raw.storeBytes(of: extent, toByteOffset: axis * 8, as: Int64.self)
    }
  }
  return t
}

func cTensor(_ memory: Bytes, _ tensor: Tensor) -> wk_tensor {
  cTensor(memory.base, nbytes: memory.count, dtype: tensor.dtype.rawValue, shape: tensor.shape.map(Int64.init))
}

func shapeOf(_ t: wk_tensor) -> [Int64] {
  var t = t
  return withUnsafeBytes(of: &t.shape) { raw in (0..<Int(min(t.rank, UInt32(WK_MAX_RANK)))).map { raw.load(fromByteOffset: $0 * 8, as: Int64.self) } }
}

/// Calls `body` with stable pointers to copies of `tensors` (nil stays NULL).
func withTensorPointers<R>(_ tensors: [wk_tensor?], _ body: ([UnsafePointer<wk_tensor>?]) throws -> R) rethrows -> R {
  let storage = UnsafeMutablePointer<wk_tensor>.allocate(capacity: max(1, tensors.count))
  defer { storage.deallocate() }
  var pointers = [UnsafePointer<wk_tensor>?]()
  for (i, t) in tensors.enumerated() {
    if let t {
      (storage + i).initialize(to: t)
      pointers.append(UnsafePointer(storage + i))
    } else {
      pointers.append(nil)
    }
  }
  return try body(pointers)
}

func contextMessage(_ ctx: inout wk_context) -> String {
  withUnsafeBytes(of: &ctx.message) { raw in String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self) }
}

/// A wk_dtype as the Int32 the ABI's dtype fields and arguments take.
func code(_ d: wk_dtype) -> Int32 { Int32(d.rawValue) }

func statusName(_ s: wk_status) -> String { "\(String(cString: wk_status_name(s))) (\(s.rawValue))" }

/// Creates a matrix with `create` (given the wk_matrix** to fill), runs `body` on it and
/// destroys it. A failed create returns its status and must have set *matrix to NULL.
func withMatrix(
  _ label: String, _ create: (UnsafeMutablePointer<OpaquePointer?>) -> wk_status, _ body: (OpaquePointer) -> wk_status
) -> wk_status {
  var matrix: OpaquePointer? = OpaquePointer(bitPattern: 0xDEAD)
  let status = create(&matrix)
  guard status == WK_OK, let m = matrix else {
    if matrix != nil { Issue.record("\(label): create failed (\(statusName(status))) but left *matrix non-NULL") }
    if status == WK_OK { Issue.record("\(label): create succeeded without a matrix") }
    return status
  }
  defer { wk_matrix_destroy(m) }
  return body(m)
}

/// wk_matrix_get_info of a matrix (fields zero if it fails, which the caller's checks catch).
func matrixInfo(_ m: OpaquePointer?) -> wk_matrix_info {
  var info = wk_matrix_info()
  _ = wk_matrix_get_info(m, &info)
  return info
}

// MARK: - One valid call per entry point, with its operands exposed

/// An entry point with valid operands. Tests break one operand (or the output, or the context)
/// at a time. For the ops with shape inference, `out == nil` only validates.
struct EntryPoint {
  let name: String
  /// Operand names; nil in `optional` marks operands that may be NULL.
  let operandNames: [String]
  let optional: Set<String>
  /// Operands the call copies (LUTs, scales, offsets of a matrix): an output may overlap them.
  let copied: Set<String>
  /// Owners of the operand bytes.
  let memory: [Bytes]
  let operands: [wk_tensor]
  let outputBytes: Int
  /// The op validates only when out is NULL (shape-inference entry points).
  let infersShape: Bool
  /// Calls the entry point; `pointers[i]` is operand i (or nil).
  let call: ([UnsafePointer<wk_tensor>?], UnsafePointer<wk_buffer>?, UnsafeMutablePointer<wk_context>?) -> wk_status

  func invoke(_ operands: [wk_tensor?], out: wk_buffer?, ctx: UnsafeMutablePointer<wk_context>?) -> wk_status {
    withTensorPointers(operands) { pointers in
      guard var buffer = out else { return call(pointers, nil, ctx) }
      return withUnsafePointer(to: &buffer) { call(pointers, $0, ctx) }
    }
  }

  /// Runs with `operands` into a fresh canary-filled output of `capacity` bytes.
  func run(
    _ operands: [wk_tensor?]? = nil, capacity: Int? = nil, nullOutputData: Bool = false,
    target: UInt64 = 0, threads: UInt32 = 1
  ) -> (status: wk_status, message: String, output: [UInt8], usedTarget: UInt64) {
    let out = Bytes(count: capacity ?? outputBytes, fill: 0xA5)
    var ctx = wk_context()
    wk_context_init(&ctx)
    ctx.target = target
    ctx.threads = threads
    let buffer = wk_buffer(data: nullOutputData ? nil : out.base, nbytes: out.count)
    let status = invoke(operands ?? self.operands, out: buffer, ctx: &ctx)
    return (status, contextMessage(&ctx), out.array, ctx.used_target)
  }

  static func all() throws -> [EntryPoint] {
    var r = SplitMix64(seed: 0xCAB1)
    var list = [EntryPoint]()

    // lut_to_dense iOS18: uint3 [3, 5] (rows start mid-byte) into fp16 [1, 5, 8, 1] groups.
    let i18 = try r.indices(bits: 3, shape: [3, 5], garbagePadding: true)
    let l18 = try r.floatTensor(.fp16, shape: [1, 5, 8, 1], .anyBits)
    list.append(make("wk_lut_to_dense_ios18", [("indices", i18), ("lut", l18)], [], outputBytes: 30, infersShape: true) { p, out, ctx in
      var info = wk_tensor_info()
      return wk_lut_to_dense_ios18(p[0], p[1], nil, out, &info, ctx)
    })

    // lut_to_dense iOS16: 4 entries (2-bit) over shape [3, 5].
    let i16 = try Tensor(integers: (0..<4).map { _ in r.int(0...255) }, dtype: .uint8, shape: [4])
    let l16 = try r.floatTensor(.fp32, shape: [4], .anyBits)
    let s16 = try Tensor(integers: [3, 5], dtype: .uint32, shape: [2])
    list.append(make("wk_lut_to_dense_ios16", [("indices", i16), ("lut", l16), ("shape", s16)], [], outputBytes: 60, infersShape: true) { p, out, ctx in
      var info = wk_tensor_info()
      return wk_lut_to_dense_ios16(p[0], p[1], p[2], out, &info, ctx)
    })

    // cast fp16 [7] → fp32.
    let c = try r.floatTensor(.fp16, shape: [7], .anyBits)
    list.append(make("wk_cast", [("source", c)], [], outputBytes: 28, infersShape: true) { p, out, ctx in
      var info = wk_tensor_info()
      return wk_cast(p[0], code(WK_DTYPE_FP32), out, &info, ctx)
    })

    // blockwise_shift_scale int8 [4, 6], scale fp16 [4, 1], offset int8 [4, 1] → fp16.
    let d = try r.integerTensor(.int8, shape: [4, 6])
    let sc = try r.floatTensor(.fp16, shape: [4, 1], .finite)
    let of = try r.integerTensor(.int8, shape: [4, 1])
    list.append(make("wk_blockwise_shift_scale", [("data", d), ("scale", sc), ("offset", of)], ["offset"], outputBytes: 48, infersShape: true) { p, out, ctx in
      var info = wk_tensor_info()
      return wk_blockwise_shift_scale(p[0], p[1], p[2], out, &info, ctx)
    })

    // Dense matrix GEMV: w fp32 [3, 20], x fp16 [2, 20] → y fp32 [2, 3].
    let w = try r.floatTensor(.fp32, shape: [3, 20], .finite)
    let x = try r.floatTensor(.fp16, shape: [2, 20], .finite)
    list.append(make("wk_matrix_gemv (dense)", [("w", w), ("x", x)], [], outputBytes: 24, infersShape: false) { p, out, ctx in
      withMatrix("wk_dense_matrix_create", { wk_dense_matrix_create(p[0], $0, ctx) }) {
        wk_matrix_gemv($0, p[1], out, code(WK_DTYPE_FP32), ctx)
      }
    })

    // Palettized matrix: uint3 [5, 18], fp32 LUT [1, 2, 8, 1], lut_scale, scale fp16 [5, 1].
    let mi = try r.indices(bits: 3, shape: [5, 18], garbagePadding: true)
    let ml = try r.floatTensor(.fp32, shape: [1, 2, 8, 1], .finite)
    let mls = try r.floatTensor(.fp32, shape: [1, 2, 1, 1], .finite)
    let mlo = try r.floatTensor(.fp32, shape: [1, 2, 1, 1], .finite)
    let ms = try r.floatTensor(.fp16, shape: [5, 1], .finite)
    let mx = try r.floatTensor(.fp32, shape: [18], .finite)
    let matrixOperands = [("indices", mi), ("lut", ml), ("lut_scale", mls), ("lut_offset", mlo), ("scale", ms)]
    let optional: Set<String> = ["lut_scale", "lut_offset", "scale"]
    let lutCopied: Set<String> = ["lut", "lut_scale", "lut_offset", "scale"]
    func createLUT(_ p: [UnsafePointer<wk_tensor>?], _ m: UnsafeMutablePointer<OpaquePointer?>, _ ctx: UnsafeMutablePointer<wk_context>?) -> wk_status {
      var desc = wk_lut_matrix_desc(indices: p[0], lut: p[1], lut_scale: p[2], lut_offset: p[3], scale: p[4])
      return wk_lut_matrix_create(&desc, m, ctx)
    }
    list.append(make("wk_matrix_decompress (palettized)", matrixOperands, optional, copied: lutCopied, outputBytes: 180, infersShape: false) { p, out, ctx in
      withMatrix("wk_lut_matrix_create", { createLUT(p, $0, ctx) }) { wk_matrix_decompress($0, out, ctx) }
    })
    list.append(make("wk_matrix_gemv (palettized)", matrixOperands + [("x", mx)], optional, copied: lutCopied, outputBytes: 10, infersShape: false) { p, out, ctx in
      withMatrix("wk_lut_matrix_create", { createLUT(p, $0, ctx) }) { wk_matrix_gemv($0, p[5], out, code(WK_DTYPE_FP16), ctx) }
    })

    // Sparse + palettized matrix: mask [6, 21] (rows start mid-byte), uint2 indices of the
    // non-zeros, fp16 LUT [3, 1, 4, 1] → decompressed fp16 [6, 21]. (Without the LUT the values
    // are stored ones, and uint2 is their invalid dtype: "optional" only skips the NULL case.)
    let sb = r.maskBits(rows: 6, cols: 21, density: 0.6)
    let smask = try Tensor(integers: sb, dtype: .uint1, shape: [6, 21])
    let sidx = try r.indices(bits: 2, shape: [sb.reduce(0, +)], garbagePadding: true)
    let slut = try r.floatTensor(.fp16, shape: [3, 1, 4, 1], .anyBits)
    list.append(make("wk_matrix_decompress (sparse + palettized)", [("mask", smask), ("values", sidx), ("lut", slut)], ["lut"], copied: ["lut"], outputBytes: 252, infersShape: false) { p, out, ctx in
      withMatrix("wk_sparse_matrix_create", { m in
        var desc = wk_sparse_matrix_desc(mask: p[0], values: p[1], lut: p[2], scale: nil, offset: nil)
        return wk_sparse_matrix_create(&desc, m, ctx)
      }) { wk_matrix_decompress($0, out, ctx) }
    })

    // Sparse + quantized matrix: mask [4, 18], int4 non-zeros, scale fp16 [4, 2], offset int4
    // [4, 2]; x fp32 [3, 18] → y fp32 [3, 4]. (A NULL scale selects another kind of sparse
    // matrix: skipped by the NULL-operand check like the optional offset.)
    let qb = r.maskBits(rows: 4, cols: 18, density: 0.5)
    let qmask = try Tensor(integers: qb, dtype: .uint1, shape: [4, 18])
    let qvalues = try r.integerTensor(.int4, shape: [qb.reduce(0, +)])
    let qscale = try r.floatTensor(.fp16, shape: [4, 2], .finite)
    let qoffset = try r.integerTensor(.int4, shape: [4, 2])
    let qx = try r.floatTensor(.fp32, shape: [3, 18], .finite)
    list.append(make("wk_matrix_gemv (sparse + quantized)", [("mask", qmask), ("values", qvalues), ("scale", qscale), ("offset", qoffset), ("x", qx)], ["scale", "offset"], copied: ["scale", "offset"], outputBytes: 48, infersShape: false) { p, out, ctx in
      withMatrix("wk_sparse_matrix_create", { m in
        var desc = wk_sparse_matrix_desc(mask: p[0], values: p[1], lut: nil, scale: p[2], offset: p[3])
        return wk_sparse_matrix_create(&desc, m, ctx)
      }) { wk_matrix_gemv($0, p[4], out, code(WK_DTYPE_FP32), ctx) }
    })

    // Quantized matrix: uint4 [6, 33] (rows start mid-byte), scale fp16 [3, 11], offset uint4
    // [3, 11] → decompressed fp16 [6, 33].
    let dd = try r.integerTensor(.uint4, shape: [6, 33])
    let ds = try r.floatTensor(.fp16, shape: [3, 11], .finite)
    let dof = try r.integerTensor(.uint4, shape: [3, 11])
    list.append(make("wk_matrix_decompress (quantized)", [("data", dd), ("scale", ds), ("offset", dof)], ["offset"], copied: ["scale", "offset"], outputBytes: 396, infersShape: false) { p, out, ctx in
      withMatrix("wk_quant_matrix_create", { m in
        var desc = wk_quant_matrix_desc(data: p[0], scale: p[1], offset: p[2])
        return wk_quant_matrix_create(&desc, m, ctx)
      }) { wk_matrix_decompress($0, out, ctx) }
    })

    // W8A8: int8 [5, 40], per-row fp32 scale [5, 1], x fp16 [2, 40] → y fp16 [2, 5].
    let wd = try r.integerTensor(.int8, shape: [5, 40])
    let wsc = try r.floatTensor(.fp32, shape: [5, 1], .finite)
    let wx = try r.floatTensor(.fp16, shape: [2, 40], .finite)
    list.append(make("wk_matrix_gemv_w8a8", [("data", wd), ("scale", wsc), ("x", wx)], [], copied: ["scale"], outputBytes: 20, infersShape: false) { p, out, ctx in
      withMatrix("wk_quant_matrix_create", { m in
        var desc = wk_quant_matrix_desc(data: p[0], scale: p[1], offset: nil)
        return wk_quant_matrix_create(&desc, m, ctx)
      }) { wk_matrix_gemv_w8a8($0, p[2], out, code(WK_DTYPE_FP16), ctx) }
    })
    return list
  }

  static func make(
    _ name: String, _ operands: [(String, Tensor)], _ optional: Set<String>, copied: Set<String> = [], outputBytes: Int,
    infersShape: Bool,
    _ call: @escaping ([UnsafePointer<wk_tensor>?], UnsafePointer<wk_buffer>?, UnsafeMutablePointer<wk_context>?) -> wk_status
  ) -> EntryPoint {
    let memory = operands.map { Bytes($0.1.bytes) }
    return EntryPoint(
      name: name, operandNames: operands.map(\.0), optional: optional, copied: copied, memory: memory,
      operands: zip(memory, operands).map { cTensor($0, $1.1) }, outputBytes: outputBytes,
      infersShape: infersShape, call: call)
  }
}

// MARK: - Tests

@Suite("C ABI: validation, statuses, messages, bounds")
struct CABITests {
  /// Expects `status` with a non-empty message and an untouched output.
  static func expectFailure(
    _ result: (status: wk_status, message: String, output: [UInt8], usedTarget: UInt64), _ expected: wk_status,
    _ label: String, sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(result.status == expected, "\(label): \(statusName(result.status)), expected \(statusName(expected)) — \(result.message)", sourceLocation: sourceLocation)
    #expect(!result.message.isEmpty, "\(label): failure without a message", sourceLocation: sourceLocation)
    #expect(result.output.allSatisfy { $0 == 0xA5 }, "\(label): output written on failure", sourceLocation: sourceLocation)
  }

  @Test("valid calls succeed, write exactly their bytes, report the target; NULL ctx allowed")
  func validCalls() throws {
    for e in try EntryPoint.all() {
      let exact = e.run()
      #expect(exact.status == WK_OK, "\(e.name): \(statusName(exact.status)) \(exact.message)")
      #expect(exact.usedTarget == wk_best_target(), "\(e.name): used_target \(exact.usedTarget)")
      // A larger buffer: exactly outputBytes are written, the rest is untouched.
      let large = e.run(capacity: e.outputBytes + 37)
      #expect(large.status == WK_OK)
      #expect(Array(large.output.prefix(e.outputBytes)) == exact.output, "\(e.name): larger buffer, other bytes")
      #expect(large.output.dropFirst(e.outputBytes).allSatisfy { $0 == 0xA5 }, "\(e.name): wrote past info.nbytes")
      // NULL ctx: the best target, same bytes.
      let out = Bytes(count: e.outputBytes, fill: 0xA5)
      let status = e.invoke(e.operands, out: wk_buffer(data: out.base, nbytes: out.count), ctx: nil)
      #expect(status == WK_OK && out.array == exact.output, "\(e.name): NULL ctx")
      // Every supported target, threads 0 (every CPU), 1, the pool and its limit: same bits.
      for target in SIMDTarget.supported {
        for threads: UInt32 in [0, 1, 2, 3, 7, 256] {
          let t = e.run(target: target.rawValue, threads: threads)
          #expect(t.status == WK_OK && t.usedTarget == target.rawValue, "\(e.name) on \(target) threads \(threads): \(statusName(t.status)) used \(t.usedTarget)")
          #expect(t.output == exact.output, "\(e.name): \(target) threads \(threads) differs from the best target")
        }
      }
      // out == NULL: validation and shape inference only.
      if e.infersShape {
        #expect(e.invoke(e.operands, out: nil, ctx: nil) == WK_OK, "\(e.name): out NULL")
      } else {
        var ctx = wk_context()
        wk_context_init(&ctx)
        let s = e.invoke(e.operands, out: nil, ctx: &ctx)
        #expect(s == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty, "\(e.name): y NULL gave \(statusName(s))")
      }
    }
  }

  @Test("operand faults: NULL, data NULL, nbytes ±1, unknown dtype, rank 9, negative extent, overflow")
  func operandFaults() throws {
    for e in try EntryPoint.all() {
      for (i, name) in e.operandNames.enumerated() {
        let label = "\(e.name) \(name)"
        func with(_ change: (inout wk_tensor) -> Void) -> [wk_tensor?] {
          var operands: [wk_tensor?] = e.operands
          var t = e.operands[i]
          change(&t)
          operands[i] = t
          return operands
        }
        if !e.optional.contains(name) {
          var operands: [wk_tensor?] = e.operands
          operands[i] = nil
          Self.expectFailure(e.run(operands), WK_ERROR_NULL_ARGUMENT, "\(label) NULL")
        }
        Self.expectFailure(e.run(with { $0.data = nil }), WK_ERROR_NULL_ARGUMENT, "\(label) data NULL")
        Self.expectFailure(e.run(with { $0.nbytes += 1 }), WK_ERROR_SIZE_MISMATCH, "\(label) nbytes + 1")
        Self.expectFailure(e.run(with { $0.nbytes -= 1 }), WK_ERROR_SIZE_MISMATCH, "\(label) nbytes − 1")
        for code: Int32 in [0, 5, 16, -1, 1000, Int32.max] {
          Self.expectFailure(e.run(with { $0.dtype = code }), WK_ERROR_INVALID_DTYPE, "\(label) dtype \(code)")
        }
        Self.expectFailure(e.run(with { $0.rank = 9 }), WK_ERROR_INVALID_SHAPE, "\(label) rank 9")
        Self.expectFailure(e.run(with { $0.rank = UInt32.max }), WK_ERROR_INVALID_SHAPE, "\(label) rank UInt32.max")
        let shape = shapeOf(e.operands[i])
        for axis in shape.indices {
          var negative = shape
          negative[axis] = -negative[axis] - 1
          Self.expectFailure(e.run(with { $0 = cTensor($0.data, nbytes: $0.nbytes, dtype: $0.dtype, shape: negative) }), WK_ERROR_INVALID_SHAPE, "\(label) extent \(negative[axis]) on axis \(axis)")
          var minimum = shape
          minimum[axis] = Int64.min
          Self.expectFailure(e.run(with { $0 = cTensor($0.data, nbytes: $0.nbytes, dtype: $0.dtype, shape: minimum) }), WK_ERROR_INVALID_SHAPE, "\(label) extent Int64.min on axis \(axis)")
        }
        let huge: [Int64] = [1 << 40, 1 << 40, 3]
        Self.expectFailure(e.run(with { $0 = cTensor($0.data, nbytes: $0.nbytes, dtype: $0.dtype, shape: huge) }), WK_ERROR_INVALID_SHAPE, "\(label) element count overflow \(huge)")
        let wrap: [Int64] = [Int64.max, 2]
        Self.expectFailure(e.run(with { $0 = cTensor($0.data, nbytes: $0.nbytes, dtype: $0.dtype, shape: wrap) }), WK_ERROR_INVALID_SHAPE, "\(label) element count \(wrap)")
      }
    }
  }

  @Test("output faults: too small, data NULL, overlapping an input")
  func outputFaults() throws {
    for e in try EntryPoint.all() {
      Self.expectFailure(e.run(capacity: e.outputBytes - 1), WK_ERROR_SIZE_MISMATCH, "\(e.name) output one byte short")
      Self.expectFailure(e.run(capacity: 0), WK_ERROR_SIZE_MISMATCH, "\(e.name) output empty")
      var ctx = wk_context()
      wk_context_init(&ctx)
      let s = e.invoke(e.operands, out: wk_buffer(data: nil, nbytes: e.outputBytes), ctx: &ctx)
      #expect(s == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty, "\(e.name): output data NULL gave \(statusName(s))")

      // The output overlapping an input by one byte at either end, or containing it. (A matrix
      // copies its LUTs, scales and offsets; its weights, indices, masks, values and x are
      // borrowed.)
      for (i, name) in e.operandNames.enumerated() where !e.copied.contains(name) {
        let input = e.memory[i].array
        for (label, inputOffset, outputOffset) in [
          ("output ends in", e.outputBytes - 1, 0), ("output starts in", 0, input.count - 1), ("output contains", 5, 0),
        ] {
          let block = Bytes(count: input.count + e.outputBytes + 16, fill: 0xA5)
          (block.base + inputOffset).copyMemory(from: input, byteCount: input.count)
          var operands: [wk_tensor?] = e.operands
          operands[i] = cTensor(block.base + inputOffset, nbytes: input.count, dtype: e.operands[i].dtype, shape: shapeOf(e.operands[i]))
          var ctx = wk_context()
          wk_context_init(&ctx)
          let before = block.array
          let status = e.invoke(operands, out: wk_buffer(data: block.base + outputOffset, nbytes: e.outputBytes), ctx: &ctx)
          #expect(status == WK_ERROR_ALIASING, "\(e.name): \(label) \(name): \(statusName(status)) \(contextMessage(&ctx))")
          #expect(!contextMessage(&ctx).isEmpty)
          #expect(block.array == before, "\(e.name): \(label) \(name): memory written on failure")
        }
      }
    }
  }

  @Test("context faults: unknown target bit, two bits, compiled-but-unsupported target, threads > 256")
  func contextFaults() throws {
    let compiled = SIMDTarget.compiled.map(\.rawValue)
    let compiledMask = compiled.reduce(0, |)
    let unknown = (0..<64).map { UInt64(1) << $0 }.first { $0 & compiledMask == 0 }!
    let unsupported = SIMDTarget.compiled.filter { !$0.isSupported }
    for e in try EntryPoint.all() {
      Self.expectFailure(e.run(target: unknown), WK_ERROR_UNSUPPORTED_TARGET, "\(e.name) target bit \(hex(unknown))")
      Self.expectFailure(e.run(target: UInt64(1) << 63), WK_ERROR_UNSUPPORTED_TARGET, "\(e.name) target bit 63")
      let two = compiled[0] | compiled[compiled.count - 1]
      Self.expectFailure(e.run(target: two), WK_ERROR_UNSUPPORTED_TARGET, "\(e.name) two target bits \(hex(two))")
      Self.expectFailure(e.run(target: UInt64.max), WK_ERROR_UNSUPPORTED_TARGET, "\(e.name) all target bits")
      for target in unsupported {
        Self.expectFailure(e.run(target: target.rawValue), WK_ERROR_UNSUPPORTED_TARGET, "\(e.name) \(target) (not supported by this CPU)")
      }
      for threads: UInt32 in [UInt32(WK_MAX_THREADS) + 1, 1000, UInt32.max] {
        Self.expectFailure(e.run(threads: threads), WK_ERROR_INVALID_ARGUMENT, "\(e.name) threads \(threads)")
      }
    }
    if unsupported.isEmpty { print("C ABI: every compiled target is supported here; the unsupported-target check ran on none") }
  }

  @Test("lut_to_dense: vector_axis out of range, info without output")
  func lutToDenseArguments() throws {
    let indices = try Tensor(integers: [1, 0, 1, 1, 0, 1], dtype: .uint1, shape: [2, 3])
    let lut = try Tensor(fp16Bits: [1, 2, 3, 4], shape: [1, 1, 2, 2])
    let mi = Bytes(indices.bytes), ml = Bytes(lut.bytes)
    defer { withExtendedLifetime((mi, ml)) {} }
    var ti = cTensor(mi, indices), tl = cTensor(ml, lut)
    for axis: Int32 in [2, -3, Int32.max, Int32.min] {
      var a = axis
      var ctx = wk_context()
      wk_context_init(&ctx)
      var info = wk_tensor_info()
      #expect(wk_lut_to_dense_ios18(&ti, &tl, &a, nil, &info, &ctx) == WK_ERROR_INVALID_ARGUMENT, "vector_axis \(axis)")
      #expect(!contextMessage(&ctx).isEmpty)
    }
    var ctx = wk_context()
    wk_context_init(&ctx)
    #expect(wk_lut_to_dense_ios18(&ti, &tl, nil, nil, nil, &ctx) == WK_ERROR_INVALID_ARGUMENT, "V = 2 without vector_axis")
    // Shape inference: [2, 3] with V = 2 on axis −1 → fp16 [2, 6], 24 bytes.
    var a: Int32 = -1
    var info = wk_tensor_info()
    #expect(wk_lut_to_dense_ios18(&ti, &tl, &a, nil, &info, nil) == WK_OK)
    #expect(info.dtype == code(WK_DTYPE_FP16) && info.rank == 2 && info.nbytes == 24)
    #expect(withUnsafeBytes(of: &info.shape) { [$0.load(fromByteOffset: 0, as: Int64.self), $0.load(fromByteOffset: 8, as: Int64.self)] } == [2, 6])
  }

  @Test("cast and gemv: scalar arguments")
  func scalarArguments() throws {
    let source = Bytes([0, 0x3C, 0, 0xBC])
    var s = cTensor(source.base, nbytes: 4, dtype: code(WK_DTYPE_FP16), shape: [2])
    for output: Int32 in [code(WK_DTYPE_FP16), code(WK_DTYPE_INT8), 0, 99, -5] {
      var ctx = wk_context()
      wk_context_init(&ctx)
      var info = wk_tensor_info()
      #expect(wk_cast(&s, output, nil, &info, &ctx) == WK_ERROR_INVALID_ARGUMENT, "cast to \(output)")
      #expect(!contextMessage(&ctx).isEmpty)
    }
    let w = Bytes([UInt8](repeating: 0, count: 24)), x = Bytes([UInt8](repeating: 0, count: 12)), y = Bytes(count: 8, fill: 0xA5)
    var tw = cTensor(w.base, nbytes: 24, dtype: code(WK_DTYPE_FP32), shape: [2, 3])
    var tx = cTensor(x.base, nbytes: 12, dtype: code(WK_DTYPE_FP32), shape: [3])
    var buffer = wk_buffer(data: y.base, nbytes: 8)
    var dense: OpaquePointer?
    #expect(wk_dense_matrix_create(&tw, &dense, nil) == WK_OK)
    defer { wk_matrix_destroy(dense) }
    for yType: Int32 in [code(WK_DTYPE_INT8), code(WK_DTYPE_UINT32), 0, 77] {
      var ctx = wk_context()
      wk_context_init(&ctx)
      #expect(wk_matrix_gemv(dense, &tx, &buffer, yType, &ctx) == WK_ERROR_INVALID_DTYPE, "y dtype \(yType)")
      #expect(!contextMessage(&ctx).isEmpty)
      #expect(y.array.allSatisfy { $0 == 0xA5 })
    }
    // x with the wrong number of columns, rank 3, rank 0; w not a matrix / empty.
    let x4 = Bytes(count: 16, fill: 0)
    defer { withExtendedLifetime((source, w, x, y, x4)) {} }
    let cases: [(String, wk_tensor, wk_tensor, wk_status)] = [
      ("x of 2 columns", tw, cTensor(x.base, nbytes: 8, dtype: code(WK_DTYPE_FP32), shape: [2]), WK_ERROR_INVALID_SHAPE),
      ("x of 4 columns", tw, cTensor(x4.base, nbytes: 16, dtype: code(WK_DTYPE_FP32), shape: [4]), WK_ERROR_INVALID_SHAPE),
      ("x rank 3", tw, cTensor(x.base, nbytes: 12, dtype: code(WK_DTYPE_FP32), shape: [1, 1, 3]), WK_ERROR_INVALID_SHAPE),
      ("x rank 0", tw, cTensor(x.base, nbytes: 4, dtype: code(WK_DTYPE_FP32), shape: []), WK_ERROR_INVALID_SHAPE),
      ("x int8", tw, cTensor(x.base, nbytes: 3, dtype: code(WK_DTYPE_INT8), shape: [3]), WK_ERROR_INVALID_DTYPE),
      ("w rank 1", cTensor(w.base, nbytes: 24, dtype: code(WK_DTYPE_FP32), shape: [6]), tx, WK_ERROR_INVALID_SHAPE),
      ("w [0, 3]", cTensor(w.base, nbytes: 0, dtype: code(WK_DTYPE_FP32), shape: [0, 3]), tx, WK_ERROR_INVALID_SHAPE),
      ("w int8", cTensor(w.base, nbytes: 6, dtype: code(WK_DTYPE_INT8), shape: [2, 3]), tx, WK_ERROR_INVALID_DTYPE),
    ]
    // Weight faults fail wk_dense_matrix_create (leaving *matrix NULL); x faults fail the GEMV.
    for (label, wt, xt, expected) in cases {
      var wt = wt, xt = xt
      var ctx = wk_context()
      wk_context_init(&ctx)
      let status = withMatrix("dense \(label)", { wk_dense_matrix_create(&wt, $0, &ctx) }) {
        wk_matrix_gemv($0, &xt, &buffer, code(WK_DTYPE_FP32), &ctx)
      }
      #expect(status == expected, "\(label): \(statusName(status)) \(contextMessage(&ctx))")
      #expect(!contextMessage(&ctx).isEmpty && y.array.allSatisfy { $0 == 0xA5 }, "\(label)")
    }
    // y overlapping the weights the matrix points to; y overlapping x.
    var ctx = wk_context()
    wk_context_init(&ctx)
    var onWeights = wk_buffer(data: w.base + 16, nbytes: 8)
    #expect(wk_matrix_gemv(dense, &tx, &onWeights, code(WK_DTYPE_FP32), &ctx) == WK_ERROR_ALIASING && !contextMessage(&ctx).isEmpty)
    var onX = wk_buffer(data: x.base + 8, nbytes: 8)
    wk_context_init(&ctx)
    #expect(wk_matrix_gemv(dense, &tx, &onX, code(WK_DTYPE_FP32), &ctx) == WK_ERROR_ALIASING && !contextMessage(&ctx).isEmpty)
    // Decompressing a dense matrix copies its weights, and may not write over them.
    let copy = Bytes(count: 24, fill: 0xA5)
    var copyBuffer = wk_buffer(data: copy.base, nbytes: 24)
    #expect(wk_matrix_decompress(dense, &copyBuffer, nil) == WK_OK && copy.array == w.array)
    var onItself = wk_buffer(data: w.base, nbytes: 24)
    wk_context_init(&ctx)
    #expect(wk_matrix_decompress(dense, &onItself, &ctx) == WK_ERROR_ALIASING && !contextMessage(&ctx).isEmpty)
    withExtendedLifetime(copy) {}
  }

  @Test("lut matrix: NULL desc / matrix pointer, vector LUT, int LUT without scale, offset without scale, info")
  func lutMatrixArguments() throws {
    var r = SplitMix64(seed: 0x1A7)
    let indices = try r.indices(bits: 2, shape: [3, 20], garbagePadding: true)
    let mi = Bytes(indices.bytes)
    defer { withExtendedLifetime(mi) {} }
    let ti = cTensor(mi, indices)
    func create(_ lut: Tensor, lutScale: Tensor? = nil, lutOffset: Tensor? = nil) -> (wk_status, String) {
      let ml = Bytes(lut.bytes)
      let tl = cTensor(ml, lut)
      let ms = lutScale.map { Bytes($0.bytes) }, mo = lutOffset.map { Bytes($0.bytes) }
      let ts = lutScale.map { cTensor(ms!, $0) }, to = lutOffset.map { cTensor(mo!, $0) }
      var ctx = wk_context()
      wk_context_init(&ctx)
      var m: OpaquePointer? = OpaquePointer(bitPattern: 0xBAD)
      let status = withTensorPointers([ti, tl, ts, to]) { p in
        var desc = wk_lut_matrix_desc(indices: p[0], lut: p[1], lut_scale: p[2], lut_offset: p[3], scale: nil)
        return wk_lut_matrix_create(&desc, &m, &ctx)
      }
      withExtendedLifetime((ml, ms, mo)) {}
      if status == WK_OK { wk_matrix_destroy(m) } else { #expect(m == nil, "failed create left *matrix set") }
      return (status, contextMessage(&ctx))
    }
    let vector = create(try Tensor(fp16Bits: Array(repeating: 0x3C00, count: 8), shape: [1, 1, 4, 2]))
    #expect(vector.0 == WK_ERROR_UNSUPPORTED && !vector.1.isEmpty, "vector LUT: \(statusName(vector.0)) \(vector.1)")
    let integer = create(try Tensor(integers: [1, 2, 3, 4], dtype: .int8, shape: [1, 1, 4, 1]))
    #expect(integer.0 == WK_ERROR_UNSUPPORTED && !integer.1.isEmpty, "int8 LUT without scale: \(statusName(integer.0))")
    let offsetOnly = create(try Tensor(integers: [1, 2, 3, 4], dtype: .int8, shape: [1, 1, 4, 1]), lutOffset: try Tensor(integers: [0], dtype: .int8, shape: [1, 1, 1, 1]))
    #expect(offsetOnly.0 != WK_OK && !offsetOnly.1.isEmpty, "lut_offset without lut_scale: \(statusName(offsetOnly.0))")
    let ok = create(try Tensor(fp16Bits: [1, 2, 3, 4], shape: [1, 1, 4, 1]))
    #expect(ok.0 == WK_OK)

    var ctx = wk_context()
    wk_context_init(&ctx)
    var m: OpaquePointer?
    #expect(wk_lut_matrix_create(nil, &m, &ctx) == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty, "NULL desc")
    wk_context_init(&ctx)
    #expect(wk_sparse_matrix_create(nil, &m, &ctx) == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty, "NULL sparse desc")
    wk_context_init(&ctx)
    #expect(wk_quant_matrix_create(nil, &m, &ctx) == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty, "NULL quant desc")
    wk_context_init(&ctx)
    #expect(wk_dense_matrix_create(nil, &m, &ctx) == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty, "NULL dense w")
    #expect(m == nil, "a failed create left *matrix set")
    let lut = Bytes(try Tensor(fp16Bits: [1, 2, 3, 4], shape: [1, 1, 4, 1]).bytes)
    defer { withExtendedLifetime(lut) {} }
    let tl = cTensor(lut.base, nbytes: 8, dtype: code(WK_DTYPE_FP16), shape: [1, 1, 4, 1])
    let (nullMatrix, created) = withTensorPointers([ti, tl]) { p -> (wk_status, wk_status) in
      var desc = wk_lut_matrix_desc(indices: p[0], lut: p[1], lut_scale: nil, lut_offset: nil, scale: nil)
      wk_context_init(&ctx)
      let a = wk_lut_matrix_create(&desc, nil, &ctx)
      return (a, wk_lut_matrix_create(&desc, &m, nil))
    }
    #expect(nullMatrix == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty, "NULL matrix pointer")
    #expect(created == WK_OK)
    defer { wk_matrix_destroy(m) }
    var info = wk_matrix_info()
    #expect(wk_matrix_get_info(m, &info) == WK_OK)
    #expect(info.format == Int32(WK_FORMAT_PALETTIZED.rawValue) && info.rows == 3 && info.cols == 20 && info.nbits == 2
            && info.weight_dtype == code(WK_DTYPE_FP16) && info.value_dtype == code(WK_DTYPE_UINT2)
            && info.compressed_bytes == UInt64(indices.bytes.count + 8))
    #expect(wk_matrix_get_info(nil, &info) == WK_ERROR_NULL_ARGUMENT)
    #expect(wk_matrix_get_info(m, nil) == WK_ERROR_NULL_ARGUMENT)
    wk_matrix_destroy(nil)  // ignored
    // NULL matrix in decompress, gemv and gemv_w8a8.
    let y = Bytes(count: 12, fill: 0xA5)
    var buffer = wk_buffer(data: y.base, nbytes: 12)
    wk_context_init(&ctx)
    #expect(wk_matrix_decompress(nil, &buffer, &ctx) == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty)
    let x = Bytes([UInt8](repeating: 0, count: 80))
    defer { withExtendedLifetime((x, y)) {} }
    var tx = cTensor(x.base, nbytes: 80, dtype: code(WK_DTYPE_FP32), shape: [20])
    wk_context_init(&ctx)
    #expect(wk_matrix_gemv(nil, &tx, &buffer, code(WK_DTYPE_FP32), &ctx) == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty)
    wk_context_init(&ctx)
    #expect(wk_matrix_gemv_w8a8(nil, &tx, &buffer, code(WK_DTYPE_FP32), &ctx) == WK_ERROR_NULL_ARGUMENT && !contextMessage(&ctx).isEmpty)
    #expect(y.array.allSatisfy { $0 == 0xA5 })
    // x of the wrong columns / rank 3; y overlapping x.
    for (label, t) in [
      ("x of 19 columns", cTensor(x.base, nbytes: 76, dtype: code(WK_DTYPE_FP32), shape: [19])),
      ("x rank 3", cTensor(x.base, nbytes: 80, dtype: code(WK_DTYPE_FP32), shape: [1, 1, 20])),
    ] {
      var t = t
      wk_context_init(&ctx)
      let status = wk_matrix_gemv(m, &t, &buffer, code(WK_DTYPE_FP32), &ctx)
      #expect(status == WK_ERROR_INVALID_SHAPE && !contextMessage(&ctx).isEmpty, "\(label): \(statusName(status))")
      #expect(y.array.allSatisfy { $0 == 0xA5 })
    }
    var onX = wk_buffer(data: x.base + 70, nbytes: 12)
    wk_context_init(&ctx)
    #expect(wk_matrix_gemv(m, &tx, &onX, code(WK_DTYPE_FP32), &ctx) == WK_ERROR_ALIASING)
  }

  /// The header promises that quantized and sparse + quantized matrices copy their scale and
  /// offset: overwriting the caller's buffers after create changes neither the decompressed
  /// weights nor the GEMV.
  @Test("quant and sparse + quant matrices copy scale and offset at create")
  func matricesCopyScales() throws {
    var r = SplitMix64(seed: 0x5CA1E)
    let (rows, cols) = (6, 40)
    let bits = r.maskBits(rows: rows, cols: cols, density: 0.6)
    let mask = Bytes(BitPacking.pack(bits, dtype: .uint1))
    let data = Bytes(try r.integerTensor(.int4, shape: [rows, cols]).bytes)
    let values = Bytes(try r.integerTensor(.int4, shape: [bits.reduce(0, +)]).bytes)
    let scale = Bytes(try r.floatTensor(.fp16, shape: [rows, 2], .finite).bytes)
    let offset = Bytes(try r.integerTensor(.int4, shape: [rows, 2]).bytes)
    let x = Bytes(try r.floatTensor(.fp32, shape: [cols], .finite).bytes)
    defer { withExtendedLifetime((mask, data, values, scale, offset, x)) {} }
    let ts = cTensor(scale.base, nbytes: scale.count, dtype: code(WK_DTYPE_FP16), shape: [Int64(rows), 2])
    let to = cTensor(offset.base, nbytes: offset.count, dtype: code(WK_DTYPE_INT4), shape: [Int64(rows), 2])
    var tx = cTensor(x.base, nbytes: x.count, dtype: code(WK_DTYPE_FP32), shape: [Int64(cols)])
    let weightBytes = rows * cols * 2
    /// Decompressed weights and GEMV result, as bytes.
    func outputs(_ decompress: (UnsafeMutablePointer<wk_buffer>) -> wk_status, _ gemv: (UnsafeMutablePointer<wk_buffer>) -> wk_status) -> [UInt8] {
      let out = Bytes(count: weightBytes + 4 * rows, fill: 0)
      var w = wk_buffer(data: out.base, nbytes: weightBytes)
      var y = wk_buffer(data: out.base + weightBytes, nbytes: 4 * rows)
      #expect(decompress(&w) == WK_OK && gemv(&y) == WK_OK)
      return out.array
    }
    var quant: OpaquePointer?
    var sparse: OpaquePointer?
    withTensorPointers([
      cTensor(data.base, nbytes: data.count, dtype: code(WK_DTYPE_INT4), shape: [Int64(rows), Int64(cols)]),
      cTensor(mask.base, nbytes: mask.count, dtype: code(WK_DTYPE_UINT1), shape: [Int64(rows), Int64(cols)]),
      cTensor(values.base, nbytes: values.count, dtype: code(WK_DTYPE_INT4), shape: [Int64(bits.reduce(0, +))]),
      ts, to,
    ]) { p in
      var q = wk_quant_matrix_desc(data: p[0], scale: p[3], offset: p[4])
      #expect(wk_quant_matrix_create(&q, &quant, nil) == WK_OK)
      var s = wk_sparse_matrix_desc(mask: p[1], values: p[2], lut: nil, scale: p[3], offset: p[4])
      #expect(wk_sparse_matrix_create(&s, &sparse, nil) == WK_OK)
    }
    defer {
      wk_matrix_destroy(quant)
      wk_matrix_destroy(sparse)
    }
    let runQuant = {
      outputs({ wk_matrix_decompress(quant, $0, nil) }, { wk_matrix_gemv(quant, &tx, $0, code(WK_DTYPE_FP32), nil) })
    }
    let runSparse = {
      outputs({ wk_matrix_decompress(sparse, $0, nil) }, { wk_matrix_gemv(sparse, &tx, $0, code(WK_DTYPE_FP32), nil) })
    }
    let (quantBefore, sparseBefore) = (runQuant(), runSparse())
    scale.base.initializeMemory(as: UInt8.self, repeating: 0xFF, count: scale.count)  // NaN scales
    offset.base.initializeMemory(as: UInt8.self, repeating: 0x77, count: offset.count)
    let (quantSame, sparseSame) = (runQuant() == quantBefore, runSparse() == sparseBefore)
    #expect(quantSame, "quant matrix read the caller's scale or offset after create")
    #expect(sparseSame, "sparse + quant matrix read the caller's scale or offset after create")
  }

  @Test("targets, dtypes and statuses are described")
  func descriptions() {
    let count = wk_compiled_targets(nil, 0)
    #expect(count == SIMDTarget.compiled.count && count >= 1)
    var targets = [UInt64](repeating: 0, count: count + 2)
    #expect(wk_compiled_targets(&targets, count + 2) == count)
    #expect(targets[count] == 0 && targets[count + 1] == 0, "wrote beyond the compiled count")
    var one = [UInt64](repeating: 0, count: 1)
    #expect(wk_compiled_targets(&one, 1) == count && one[0] == targets[0])
    for t in targets.prefix(count) {
      #expect(t != 0 && t & (t - 1) == 0, "target \(hex(t)) is not a single bit")
      #expect(String(cString: wk_target_name(t)) != "unknown")
    }
    #expect(String(cString: wk_target_name(targets[count - 1])) == "EMU128", "the portable fallback is last")
    #expect(wk_supported_targets() & ~targets.prefix(count).reduce(0, |) == 0, "supported ⊆ compiled")
    #expect(wk_best_target() == SIMDTarget.supported.first?.rawValue)
    #expect(String(cString: wk_target_name(0)) == "unknown")
    #expect(String(cString: wk_target_name(targets[0] | targets[count - 1])) == "unknown")
    for dtype in DType.allCases {
      #expect(wk_dtype_bits(dtype.rawValue) == UInt32(dtype.bits))
      #expect(String(cString: wk_dtype_name(dtype.rawValue)) == dtype.description)
    }
    for code: Int32 in [0, 5, 16, -1] {
      #expect(wk_dtype_bits(code) == 0 && String(cString: wk_dtype_name(code)) == "unknown")
    }
    for raw in UInt32(0)...9 {
      let name = String(cString: wk_status_name(wk_status(rawValue: raw)))
      #expect(!name.isEmpty && name != "unknown status", "status \(raw)")
    }
    var ctx = wk_context()
    ctx.target = 7
    ctx.threads = 9
    ctx.used_target = 3
    ctx.message.0 = 65
    wk_context_init(&ctx)
    #expect(ctx.target == 0 && ctx.threads == 1 && ctx.used_target == 0 && ctx.message.0 == 0)
    wk_context_init(nil)
  }
}

// MARK: - Guard pages: no read or write outside the buffers

@Suite("C ABI: no access outside the given buffers (guard pages)")
struct GuardPageTests {
  /// Every input and the output placed against a guard page, at the end and at the start.
  @Test("lut_to_dense, cast, blockwise_shift_scale, dense and palettized matrices", arguments: SIMDTarget.compiled)
  func guardPages(target: SIMDTarget) throws {
    try requireSupported(target)
    for seed in UInt64(0)..<40 {
      var r = SplitMix64(seed: 0x6A4D + seed)
      for atEnd in [true, false] {
        var keep = [Guarded]()
        defer { withExtendedLifetime(keep) {} }
        func guarded(_ bytes: [UInt8]) -> Guarded {
          let g = Guarded(bytes, atEnd: atEnd)
          keep.append(g)
          return g
        }
        let label = "seed \(0x6A4D + seed) target \(target) \(atEnd ? "end" : "start")"
        // lut_to_dense iOS18.
        let c18 = try LUT18Case.make(&r, maxOutput: 1500)
        let expected18 = try CoreMLOps.lutToDenseIOS18(indices: c18.indices, lut: c18.lut, vectorAxis: c18.vectorAxis, target: target)
        let gi = guarded(c18.indices.bytes), gl = guarded(c18.lut.bytes)
        let go = guarded([UInt8](repeating: 0xA5, count: expected18.bytes.count))
        var ti = cTensor(gi.pointer, nbytes: gi.count, dtype: c18.indices.dtype.rawValue, shape: c18.indices.shape.map(Int64.init))
        var tl = cTensor(gl.pointer, nbytes: gl.count, dtype: c18.lut.dtype.rawValue, shape: c18.lut.shape.map(Int64.init))
        var out = wk_buffer(data: go.pointer, nbytes: go.count)
        var ctx = wk_context()
        wk_context_init(&ctx)
        ctx.target = target.rawValue
        var status: wk_status
        if let axis = c18.vectorAxis {
          var a = Int32(axis)
          status = wk_lut_to_dense_ios18(&ti, &tl, &a, &out, nil, &ctx)
        } else {
          status = wk_lut_to_dense_ios18(&ti, &tl, nil, &out, nil, &ctx)
        }
        #expect(status == WK_OK && go.array == expected18.bytes, "\(label) lut_to_dense \(c18)")

        // lut_to_dense iOS16: a random packed stream.
        let entries = r.pick([2, 4, 16, 64, 256])
        let count16 = r.int(1...2000)
        let stream = (0..<((entries.trailingZeroBitCount * count16 + 7) / 8)).map { _ in UInt8(truncatingIfNeeded: r.next()) }
        let lut16 = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [entries], .anyBits)
        let shape16 = try Tensor(integers: [count16], dtype: .uint32, shape: [1])
        let expected16 = try CoreMLOps.lutToDenseIOS16(
          indices: Tensor(dtype: .uint8, shape: [stream.count], bytes: stream), lut: lut16, shape: shape16, target: target)
        let g16i = guarded(stream), g16l = guarded(lut16.bytes), g16s = guarded(shape16.bytes)
        let g16o = guarded([UInt8](repeating: 0, count: expected16.bytes.count))
        var t16i = cTensor(g16i.pointer, nbytes: g16i.count, dtype: code(WK_DTYPE_UINT8), shape: [Int64(stream.count)])
        var t16l = cTensor(g16l.pointer, nbytes: g16l.count, dtype: lut16.dtype.rawValue, shape: [Int64(entries)])
        var t16s = cTensor(g16s.pointer, nbytes: 4, dtype: code(WK_DTYPE_UINT32), shape: [1])
        var out16 = wk_buffer(data: g16o.pointer, nbytes: g16o.count)
        #expect(wk_lut_to_dense_ios16(&t16i, &t16l, &t16s, &out16, nil, &ctx) == WK_OK && g16o.array == expected16.bytes, "\(label) iOS16 P \(entries) count \(count16)")

        // Cast.
        let source = try r.floatTensor(.fp16, shape: [r.int(1...300)], .anyBits)
        let gs = guarded(source.bytes), gc = guarded([UInt8](repeating: 0, count: source.count * 4))
        var ts = cTensor(gs.pointer, nbytes: gs.count, dtype: code(WK_DTYPE_FP16), shape: [Int64(source.count)])
        var cout = wk_buffer(data: gc.pointer, nbytes: gc.count)
        let expectedCast = try CoreMLOps.cast(source, to: .fp32, target: target)
        #expect(wk_cast(&ts, code(WK_DTYPE_FP32), &cout, nil, &ctx) == WK_OK && gc.array == expectedCast.bytes, "\(label) cast")

        // Blockwise shift scale.
        let b = try ShiftScaleCase.make(&r)
        let expectedB = try CoreMLOps.blockwiseShiftScale(data: b.data, scale: b.scale, offset: b.offset, target: target)
        let gd = guarded(b.data.bytes), gsc = guarded(b.scale.bytes)
        let gof = b.offset.map { guarded($0.bytes) }
        let gb = guarded([UInt8](repeating: 0, count: expectedB.bytes.count))
        var td = cTensor(gd.pointer, nbytes: gd.count, dtype: b.data.dtype.rawValue, shape: b.data.shape.map(Int64.init))
        var tsc = cTensor(gsc.pointer, nbytes: gsc.count, dtype: b.scale.dtype.rawValue, shape: b.scale.shape.map(Int64.init))
        let tof = b.offset.map { cTensor(gof!.pointer, nbytes: gof!.count, dtype: $0.dtype.rawValue, shape: $0.shape.map(Int64.init)) }
        var bout = wk_buffer(data: gb.pointer, nbytes: gb.count)
        status = withTensorPointers([tof]) { wk_blockwise_shift_scale(&td, &tsc, $0[0], &bout, nil, &ctx) }
        #expect(status == WK_OK && gb.array == expectedB.bytes, "\(label) blockwise_shift_scale \(b)")

        // Palettized matrix (indices borrowed), its decompression and GEMV; dense GEMV.
        let m = try MatrixCase.make(&r, maxWeights: 1200)
        let matrix = try m.matrix()
        let expectedDense = try matrix.decompress(target: target)
        let x = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [r.int(1...3), m.cols], .finite)
        let yType = r.pick([DType.fp16, .fp32])
        let expectedY = try matrix.gemv(x, outputType: yType, target: target)
        let gmi = guarded(m.indices.bytes), gml = guarded(m.lut.bytes)
        let gls = m.lutScale.map { guarded($0.bytes) }, glo = m.lutOffset.map { guarded($0.bytes) }
        let gsc2 = m.scale.map { guarded($0.bytes) }
        let tmi = cTensor(gmi.pointer, nbytes: gmi.count, dtype: m.indices.dtype.rawValue, shape: m.indices.shape.map(Int64.init))
        let tml = cTensor(gml.pointer, nbytes: gml.count, dtype: m.lut.dtype.rawValue, shape: m.lut.shape.map(Int64.init))
        func guardedTensor(_ g: Guarded?, _ t: Tensor?) -> wk_tensor? {
          guard let g, let t else { return nil }
          return cTensor(g.pointer, nbytes: g.count, dtype: t.dtype.rawValue, shape: t.shape.map(Int64.init))
        }
        var handle: OpaquePointer?
        status = withTensorPointers([tmi, tml, guardedTensor(gls, m.lutScale), guardedTensor(glo, m.lutOffset), guardedTensor(gsc2, m.scale)]) { p in
          var desc = wk_lut_matrix_desc(indices: p[0], lut: p[1], lut_scale: p[2], lut_offset: p[3], scale: p[4])
          return wk_lut_matrix_create(&desc, &handle, &ctx)
        }
        #expect(status == WK_OK, "\(label) create \(m): \(statusName(status)) \(contextMessage(&ctx))")
        guard status == WK_OK else { continue }
        defer { wk_matrix_destroy(handle) }
        let gdo = guarded([UInt8](repeating: 0, count: expectedDense.bytes.count))
        var dout = wk_buffer(data: gdo.pointer, nbytes: gdo.count)
        #expect(wk_matrix_decompress(handle, &dout, &ctx) == WK_OK && gdo.array == expectedDense.bytes, "\(label) decompress \(m)")
        let gx = guarded(x.bytes), gy = guarded([UInt8](repeating: 0, count: expectedY.bytes.count))
        var tx = cTensor(gx.pointer, nbytes: gx.count, dtype: x.dtype.rawValue, shape: x.shape.map(Int64.init))
        var yout = wk_buffer(data: gy.pointer, nbytes: gy.count)
        #expect(wk_matrix_gemv(handle, &tx, &yout, yType.rawValue, &ctx) == WK_OK && gy.array == expectedY.bytes, "\(label) gemv \(m)")
        // A dense matrix over guarded weights: its GEMV, and its decompression (a copy).
        let gw = guarded(expectedDense.bytes)
        var tw = cTensor(gw.pointer, nbytes: gw.count, dtype: expectedDense.dtype.rawValue, shape: [Int64(m.rows), Int64(m.cols)])
        let gy2 = guarded([UInt8](repeating: 0, count: expectedY.bytes.count))
        var yout2 = wk_buffer(data: gy2.pointer, nbytes: gy2.count)
        let gdo2 = guarded([UInt8](repeating: 0, count: expectedDense.bytes.count))
        var dout2 = wk_buffer(data: gdo2.pointer, nbytes: gdo2.count)
        var dense: OpaquePointer?
        #expect(wk_dense_matrix_create(&tw, &dense, &ctx) == WK_OK, "\(label) dense create")
        defer { wk_matrix_destroy(dense) }
        #expect(wk_matrix_gemv(dense, &tx, &yout2, yType.rawValue, &ctx) == WK_OK && gy2.array == expectedY.bytes, "\(label) dense gemv")
        #expect(wk_matrix_decompress(dense, &dout2, &ctx) == WK_OK && gdo2.array == expectedDense.bytes, "\(label) dense decompress")
      }
    }
  }
}
