#if arch(x86_64)
import CKernels
import Foundation
import Glibc
import Testing
import WeightKernels
import WeightKernelsReference

// weightkernels.h: "x86: kernels run with the default floating-point environment (round to
// nearest even, no flush-to-zero, no denormals-are-zero) whatever the caller's MXCSR holds, and
// restore it." The caller's MXCSR is set from Swift through glibc's fenv_t (its __mxcsr field);
// every expected value is computed before, in the default environment. With threads, every
// thread that runs a task (the caller's, the library's pool, a lent parallel_for's) runs it in
// the default environment too.

enum MXCSR {
  static let flushToZero: UInt32 = 0x8000
  static let denormalsAreZero: UInt32 = 0x0040
  static let roundTowardZero: UInt32 = 0x6000

  static var current: UInt32 {
    var env = fenv_t()
    fegetenv(&env)
    return env.__mxcsr
  }

  /// Runs `body` with `bits` set in MXCSR, then restores the caller's environment. Also checks
  /// that the mode is really active (a Swift subnormal operation is flushed) and that `body`
  /// left MXCSR as it found it.
  static func with<R>(_ bits: UInt32, _ label: String, _ body: () throws -> R) rethrows -> R {
    var saved = fenv_t()
    fegetenv(&saved)
    var modified = saved
    modified.__mxcsr |= bits
    fesetenv(&modified)
    defer { fesetenv(&saved) }
    if bits & flushToZero != 0 {
      #expect(halve(Float.leastNormalMagnitude) == 0, "FTZ is not active: the test would prove nothing")
    }
    let result = try body()
    // Control bits only (DAZ, masks, rounding, FTZ); bits 0–5 are sticky exception flags.
    let control: UInt32 = 0xFFC0
    #expect(current & control == modified.__mxcsr & control, "\(label): MXCSR \(String(current, radix: 16)) after the call, caller set \(String(modified.__mxcsr, radix: 16))")
    return result
  }
}

@inline(never) func halve(_ x: Float) -> Float { x / 2 }

@Suite("caller's MXCSR (FTZ, DAZ, rounding) does not change results")
struct FloatEnvironmentTests {
  static let modes: [(String, UInt32)] = [
    ("FTZ+DAZ", MXCSR.flushToZero | MXCSR.denormalsAreZero),
    ("FTZ+DAZ+round toward zero", MXCSR.flushToZero | MXCSR.denormalsAreZero | MXCSR.roundTowardZero),
  ]

  /// Values whose products and sums are subnormal (or are subnormal themselves).
  static func subnormalHeavy(_ r: inout SplitMix64) -> ValueMix {
    ValueMix(special: 0.4, wide: 0, moderate: 1...30)
  }

  @Test("dense GEMV", arguments: SIMDTarget.compiled)
  func denseGemv(target: SIMDTarget) throws {
    try requireSupported(target)
    for seed in UInt64(0)..<20 {
      var r = SplitMix64(seed: 0xF7 + seed)
      let cols = r.pick([1, 7, 16, 17, 33, 40])
      let w = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [r.int(1...5), cols], Self.subnormalHeavy(&r))
      let x = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [cols], ValueMix(special: 0.2, wide: 0, moderate: 110...135))
      for yType in [DType.fp32, .fp16] {
        let expected = try Reference.gemv(weights: w, x: x, outputType: yType)
        let dense = try DenseMatrix(weights: w)
        for (name, bits) in Self.modes {
          let label = "seed \(0xF7 + seed) target \(target) \(name) y \(yType)"
          let actual = try MXCSR.with(bits, label) { try dense.gemv(x, outputType: yType, target: target) }
          expectBits(actual, expected, label)
        }
      }
    }
  }

  @Test("blockwise_shift_scale and cast", arguments: SIMDTarget.compiled)
  func shiftScaleAndCast(target: SIMDTarget) throws {
    try requireSupported(target)
    // fp32: subnormal data times a scale, normal data times a tiny scale (subnormal products).
    let data = try Tensor(fp32Bits: [0x0000_0123, 0x8040_0000, 0x0080_0000, 0x3F80_0000, 0x0001_0000, 0x3380_0000], shape: [2, 3])
    let scale = try Tensor(fp32Bits: [0x3F00_0000, 0x0080_0001], shape: [2, 1])
    let ints = try Tensor(integers: [1, -3, 7, 127, -128, 0], dtype: .int8, shape: [2, 3])
    let tiny = try Tensor(fp32Bits: [0x0000_0010, 0x0080_0000], shape: [2, 1])
    let halfData = try Tensor(fp16Bits: [0x0001, 0x03FF, 0x8200, 0x0400, 0x3C00, 0x0010], shape: [2, 3])
    let halfScale = try Tensor(fp16Bits: [0x0400, 0x1000], shape: [2, 1])
    let cases: [(String, Tensor, Tensor, Tensor?)] = [
      ("fp32 subnormal data", data, scale, nil),
      ("int8 × subnormal scale", ints, tiny, nil),
      ("fp16 subnormals", halfData, halfScale, nil),
      ("fp16 subnormals, fp16 offset", halfData, halfScale, try Tensor(fp16Bits: [0x0001, 0x8003], shape: [2, 1])),
      ("fp32 subnormal offset", data, scale, try Tensor(fp32Bits: [0x0000_0001, 0x8000_0100], shape: [2, 1])),
    ]
    for (caseName, d, s, o) in cases {
      let expected = try Reference.blockwiseShiftScale(data: d, scale: s, offset: o)
      for (name, bits) in Self.modes {
        let label = "target \(target) \(name) \(caseName)"
        let actual = try MXCSR.with(bits, label) { try CoreMLOps.blockwiseShiftScale(data: d, scale: s, offset: o, target: target) }
        expectBits(actual, expected, label)
      }
    }
    let source = try Tensor(fp16Bits: (0...0x3FF).map { UInt16($0) } + (0...0x3FF).map { UInt16($0) | 0x8000 }, shape: [2048])
    let expected = try Reference.cast(source, to: .fp32)
    for (name, bits) in Self.modes {
      let label = "target \(target) \(name) cast of fp16 subnormals"
      expectBits(try MXCSR.with(bits, label) { try CoreMLOps.cast(source, to: .fp32, target: target) }, expected, label)
    }
  }

  /// Palettized matrices whose weights are subnormal or whose scaling underflows: the scaled
  /// tables are prepared by wk_lut_matrix_create (folded LUT scales), the in-register scale runs
  /// in wk_matrix_decompress / wk_matrix_gemv. Matrices are created both inside and outside the
  /// caller's mode.
  @Test("palettized matrix: create, decompress and GEMV", arguments: SIMDTarget.compiled)
  func palettizedMatrix(target: SIMDTarget) throws {
    try requireSupported(target)
    var r = SplitMix64(seed: 0xF7F7)
    let rows = 5, cols = 20, bits = 2
    let indices = try r.indices(bits: bits, shape: [rows, cols], garbagePadding: false)
    // fp32 LUT: subnormal entries and tiny normal ones; scales that take them below 2^-126.
    let lutBits: [UInt32] = [0x0000_0123, 0x0080_0000, 0x8010_0000, 0x0100_0001, 0x3F80_0000, 0x0000_0001, 0x00FF_FFFF, 0x8080_0000]
    let lut = try Tensor(fp32Bits: lutBits, shape: [1, 2, 4, 1])
    let lutScale = try Tensor(fp32Bits: [0x3F00_0000, 0x3E80_0000], shape: [1, 2, 1, 1])
    let repeated = try Tensor(fp32Bits: Array(lutBits.prefix(4)) + Array(lutBits.prefix(4)), shape: [1, 2, 4, 1])
    let postScale = try Tensor(fp32Bits: [0x3F00_0000, 0x0100_0000, 0x2000_0000, 0x3F80_0000, 0x0080_0000], shape: [rows, 1])
    let halfLUT = try Tensor(fp16Bits: [0x0001, 0x03FF, 0x0400, 0x8200], shape: [1, 1, 4, 1])
    let chains: [MatrixCase] = [
      MatrixCase(chain: .plain, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut),
      MatrixCase(chain: .lutScaleFolded, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut, lutScale: lutScale),
      MatrixCase(chain: .lutScaleRepeated, rows: rows, cols: cols, bits: bits, indices: indices, lut: repeated, lutScale: lutScale),
      MatrixCase(chain: .postScale, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut, scale: postScale),
      MatrixCase(chain: .lutScaleFolded, rows: rows, cols: cols, bits: bits, indices: indices, lut: halfLUT,
                 lutScale: try Tensor(fp32Bits: [0x2000_0000], shape: [1, 1, 1, 1])),
      MatrixCase(chain: .quantizedLUT, rows: rows, cols: cols, bits: bits, indices: indices,
                 lut: try Tensor(integers: [-128, 1, 3, 127], dtype: .int8, shape: [1, 1, 4, 1]),
                 lutScale: try Tensor(fp32Bits: [0x0000_0100], shape: [1, 1, 1, 1])),
    ]
    let x = try Tensor(floats: (0..<cols).map { Float($0 % 5) - 1.5 }, shape: [cols])
    for c in chains {
      let dense = try c.referenceDense()
      let expectedY = try Reference.gemv(weights: dense, x: x, outputType: .fp32)
      for (name, bits) in Self.modes {
        let label = "target \(target) \(name) \(c)"
        let outside = try c.matrix()
        let inside = try MXCSR.with(bits, "\(label) create") { try c.matrix() }
        for (which, matrix) in [("created in the default mode", outside), ("created in the caller's mode", inside)] {
          let decompressed = try MXCSR.with(bits, label) { try matrix.decompress(target: target) }
          expectBits(decompressed, dense, "\(label) \(which): decompress")
          let y = try MXCSR.with(bits, label) { try matrix.gemv(x, target: target) }
          expectBits(y, expectedY, "\(label) \(which): gemv")
        }
      }
    }
  }

  /// Matrices split into several tasks ([256, 512], each task ≥ 64 K multiply-adds), with
  /// subnormal products: dense fp32 weights of tiny magnitude and int8 data with tiny per-row
  /// scales.
  static func splitMatrices() throws -> [(String, Tensor, any WeightMatrix)] {
    var r = SplitMix64(seed: 0xF7A5)
    let (rows, cols) = (256, 512)
    let w = try r.floatTensor(.fp32, shape: [rows, cols], ValueMix(special: 0.02, wide: 0, moderate: 1...30))
    let data = try r.integerTensor(.int8, shape: [rows, cols])
    let scale = try r.floatTensor(.fp32, shape: [rows, 1], ValueMix(special: 0.02, wide: 0, moderate: 1...20))
    return [
      ("dense fp32 tiny weights", w, try DenseMatrix(weights: w)),
      ("quantized int8, tiny scales", try Reference.blockwiseShiftScale(data: data, scale: scale, offset: nil),
       try QuantizedMatrix(data: data, scale: scale)),
    ]
  }

  /// The caller's FTZ/DAZ mode does not reach the kernels on the pool's threads either: threads
  /// 2, 3 and 0 under the caller's mode give the reference bits, and MXCSR is restored.
  @Test("threads under the caller's FTZ/DAZ", arguments: SIMDTarget.compiled)
  func threadsUnderCallerMode(target: SIMDTarget) throws {
    try requireSupported(target)
    var r = SplitMix64(seed: 0xF7A6)
    let x = try r.floatTensor(.fp32, shape: [2, 512], ValueMix(special: 0, wide: 0, moderate: 110...135))
    for (name, dense, matrix) in try Self.splitMatrices() {
      let expected = try Reference.gemv(weights: dense, x: x, outputType: .fp32)
      let expectedOne = try Reference.gemv(weights: dense, x: x.row(0), outputType: .fp32)
      for (mode, bits) in Self.modes {
        for threads in [2, 3, 0] {
          let label = "target \(target) \(mode) \(name) threads \(threads)"
          expectBits(try MXCSR.with(bits, label) { try matrix.gemv(x, target: target, threads: threads) }, expected, "\(label): gemv batch 2")
          expectBits(try MXCSR.with(bits, label) { try matrix.gemv(x.row(0), target: target, threads: threads) }, expectedOne, "\(label): gemv batch 1")
          expectBits(try MXCSR.with(bits, label) { try matrix.decompress(target: target, threads: threads) }, dense, "\(label): decompress")
        }
      }
    }
  }

  /// A lent parallel_for whose threads run with FTZ/DAZ (and round toward zero) set: each task
  /// still computes in the default environment, and leaves the lending thread's MXCSR as it
  /// found it.
  @Test("a lent parallel_for whose threads run with FTZ/DAZ")
  func lentThreadsWithFTZ() throws {
    var r = SplitMix64(seed: 0xF7A7)
    let (rows, cols) = (256, 512)
    let w = try r.floatTensor(.fp32, shape: [rows, cols], ValueMix(special: 0.02, wide: 0, moderate: 1...30))
    let xTensor = try r.floatTensor(.fp32, shape: [cols], ValueMix(special: 0, wide: 0, moderate: 110...135))
    let expected = try Reference.gemv(weights: w, x: xTensor, outputType: .fp32)
    let matrix = try CMatrix.dense(w)
    let x = Bytes(xTensor.bytes)
    defer { withExtendedLifetime(x) {} }
    var tx = cTensor(x.base, nbytes: x.count, dtype: code(WK_DTYPE_FP32), shape: [Int64(cols)])
    let lender = FlushingLender()
    defer { withExtendedLifetime(lender) {} }
    for target in SIMDTarget.supported {
      for concurrent in [false, true] {
        lender.reset(concurrent: concurrent)
        let y = matrix.run(bytes: rows * 4, setUp: {
          $0.target = target.rawValue
          $0.parallel_for = flushingParallelFor
          $0.parallel_for_pool = Unmanaged.passUnretained(lender).toOpaque()
        }) { wk_matrix_gemv($0, &tx, $1, code(WK_DTYPE_FP32), $2) }
        let label = "target \(target) lent \(concurrent ? "concurrent" : "serial") threads with FTZ+DAZ+RZ"
        #expect(y.status == WK_OK, "\(label): \(statusName(y.status)) \(y.message)")
        expectBits(try Tensor(dtype: .fp32, shape: [rows], bytes: y.output), expected, "\(label): gemv")
        let (calls, tasks, flushed, restored) = lender.state
        #expect(calls == 1 && tasks > 1, "\(label): parallel_for calls \(calls), tasks \(tasks)")
        #expect(flushed == tasks, "\(label): FTZ was active in \(flushed) of \(tasks) tasks")
        #expect(restored == tasks, "\(label): MXCSR restored after \(restored) of \(tasks) tasks")
      }
    }
  }
}

/// What a flushing lender saw; `concurrent` spreads the tasks over several threads.
final class FlushingLender: @unchecked Sendable {
  private let lock = NSLock()
  private(set) var concurrent = false
  private var calls = 0, tasks = 0, flushed = 0, restored = 0

  func reset(concurrent: Bool) {
    lock.lock()
    self.concurrent = concurrent
    (calls, tasks, flushed, restored) = (0, 0, 0, 0)
    lock.unlock()
  }

  func record(call: Bool = false, task: Bool = false, flushed f: Bool = false, restored r: Bool = false) {
    lock.lock()
    if call { calls += 1 }
    if task { tasks += 1 }
    if f { flushed += 1 }
    if r { restored += 1 }
    lock.unlock()
  }

  var state: (Int, Int, Int, Int) {
    lock.lock()
    defer { lock.unlock() }
    return (calls, tasks, flushed, restored)
  }
}

/// Runs each task with FTZ, DAZ and round-toward-zero set on its thread, checks that the task
/// left MXCSR's control bits as set, then restores the thread's environment.
let flushingParallelFor: wk_parallel_for_fn = { pool, task, data, count in
  let lender = Unmanaged<FlushingLender>.fromOpaque(pool!).takeUnretainedValue()
  lender.record(call: true)
  let runTask = { (i: Int) in
    var saved = fenv_t()
    fegetenv(&saved)
    var modified = saved
    modified.__mxcsr |= MXCSR.flushToZero | MXCSR.denormalsAreZero | MXCSR.roundTowardZero
    fesetenv(&modified)
    let flushed = halve(Float.leastNormalMagnitude) == 0
    task!(data, i)
    let control: UInt32 = 0xFFC0
    let restored = MXCSR.current & control == modified.__mxcsr & control
    fesetenv(&saved)
    lender.record(task: true, flushed: flushed, restored: restored)
  }
  if lender.concurrent {
    DispatchQueue.concurrentPerform(iterations: count) { runTask(count - 1 - $0) }
  } else {
    for i in (0..<count).reversed() { runTask(i) }
  }
}
#endif