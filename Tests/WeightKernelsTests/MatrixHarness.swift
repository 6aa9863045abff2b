import Foundation
import Testing
import WeightKernels
import WeightKernelsReference

// The checks every matrix format shares (DenseMatrix, PalettizedMatrix, SparseMatrix,
// QuantizedMatrix), generic over WeightMatrix, so that the property suites only build their
// cases and the reference dense weights:
//   decompress(target, threads)  == the reference chain's dense weights, for every thread count;
//   gemv(x, target)              == Reference.gemv(dense) == DenseMatrix(decompress()).gemv(x);
//   row b of a batch-N gemv      == the batch-1 gemv of x[b] (N = 1…9, 32 and more);
//   gemv with threads 2, 3, 7    == gemv with threads 1 (batch 1 and batch > 1);
// on every supported target, with fp16 and fp32 x and y; and concurrent calls on one shared
// matrix equal the serial ones. Every message names the seed (replay with WK_SEED=0x…).

/// What a compressed format's suite gives the shared per-case checks: the matrix the library
/// builds from the case's operands, the dense weights the reference chain gives, the format's
/// own reported details, and a random x for one check.
protocol MatrixTestCase: CustomStringConvertible {
  associatedtype Matrix: WeightMatrix
  static var format: MatrixFormat { get }
  var compressedBytes: Int { get }
  func matrix() throws -> Matrix
  func referenceDense() throws -> Tensor
  /// #expect lines for what `matrix` reports beyond WeightMatrix (bits, value types, …).
  func expectDetails(_ matrix: Matrix, context: String)
  func activations(_ r: inout SplitMix64) throws -> Tensor
}

enum MatrixHarness {
  /// Thread counts compared with 1 on every target.
  static let threadCounts = [2, 3, 7]
  /// Batch sizes whose rows are compared with batch-1 calls.
  static let batchSizes = Array(1...9) + [32]

  /// A matrix shape, the batches and the thread counts checked on it.
  struct Shape: Sendable, CustomStringConvertible {
    let rows: Int
    let cols: Int
    var batches: [Int] = MatrixHarness.batchSizes
    var threads: [Int] = MatrixHarness.threadCounts

    var description: String { "[\(rows), \(cols)] batches \(batches) threads \(threads)" }

    /// Shapes that cross the 16-column chunks, the 8-row panels, the 16-row task blocks, the
    /// 512-column panels (with a partial chunk in the last) and the 32-row batch groups; and three
    /// that the library splits into several tasks (each task needs at least 64 K multiply-adds),
    /// so that threads really run on the pool, one of them of whole 64-column steps at the staged
    /// GEMV's small batches (tasks of 64 and 6 rows at batch 4).
    static let standard: [Shape] = [
      Shape(rows: 37, cols: 53, batches: Array(1...9) + [32, 33]),
      Shape(rows: 37, cols: 16),
      Shape(rows: 37, cols: 1),
      Shape(rows: 9, cols: 100),
      Shape(rows: 256, cols: 512, batches: [1], threads: [0, 2, 3, 7]),
      Shape(rows: 128, cols: 1061, batches: [1, 4, 17], threads: [3]),
      Shape(rows: 70, cols: 320, batches: [2, 3, 4]),
    ]

    /// Activations: rare specials on narrow rows; none on long rows (where one would make most
    /// outputs NaN and the comparison less informative).
    var xMix: ValueMix { ValueMix(special: cols > 64 ? 0 : 0.01, wide: 0.01) }
  }

  /// "seed 0x… (replay with WK_SEED=0x…)".
  static func seedLabel(_ seed: UInt64) -> String { "seed \(hex(seed)) (replay with WK_SEED=\(hex(seed)))" }

  /// Named x and y operands that every gemv of a matrix of 3 columns rejects (the suites check
  /// that the library throws the kind the reference does).
  static func invalidOperands() throws -> [(String, Tensor, DType)] {
    [
      ("x of 2 columns for 3", try Tensor(floats: [1, 2], shape: [2]), .fp32),
      ("x [2, 4] for 3 columns", try Tensor(floats: Array(repeating: 1, count: 8), shape: [2, 4]), .fp32),
      ("x rank 3", try Tensor(floats: [1, 2, 3], shape: [1, 1, 3]), .fp32),
      ("x scalar", try Tensor(floats: [1], shape: []), .fp32),
      ("x int8", try Tensor(integers: [1, 2, 3], dtype: .int8, shape: [3]), .fp32),
      ("y int8", try Tensor(floats: [1, 2, 3], shape: [3]), .int8),
      ("y uint32", try Tensor(floats: [1, 2, 3], shape: [3]), .uint32),
    ]
  }

  // MARK: - One target

  /// `count` seeded cases on one target (cancelled where this CPU cannot run it): `make` builds
  /// each case from its generator, `check` runs every check of it with the seed as its label.
  static func checkRandomCases<Case: MatrixTestCase>(
    count: Int, target: SIMDTarget, make: (inout SplitMix64) throws -> Case,
    sourceLocation: SourceLocation = #_sourceLocation
  ) async throws {
    try requireSupported(target)
    await Property.check(count: count, sourceLocation: sourceLocation) { seed in
      var r = SplitMix64(seed: seed)
      let c = try make(&r)
      try check(c, &r, target: target, label: "seed \(hex(seed))", sourceLocation: sourceLocation)
    }
  }

  /// Every check of one case on one target: the library accepts the valid operands, its details
  /// and properties, then checkCase with an x the case draws from `r`. `label` names the seed.
  static func check<Case: MatrixTestCase>(
    _ c: Case, _ r: inout SplitMix64, target: SIMDTarget, label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let context = "\(label) target \(target) \(c)"
    let expected = try c.referenceDense()
    let matrix: Case.Matrix
    do {
      matrix = try c.matrix()
    } catch {
      Issue.record("\(context): the library rejected valid operands: \(error)", sourceLocation: sourceLocation)
      return
    }
    c.expectDetails(matrix, context: context)
    try checkCase(matrix, expected: expected, format: Case.format, compressedBytes: c.compressedBytes,
                  x: c.activations(&r), target: target, context: context, sourceLocation: sourceLocation)
  }

  /// Every check of one case on one target that the format suites share: the properties,
  /// decompression bit for bit against `expected`, then checkProducts with `x`.
  static func checkCase<M: WeightMatrix>(
    _ matrix: M, expected: Tensor, format: MatrixFormat, compressedBytes: Int, x: Tensor, target: SIMDTarget,
    context: String, sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    checkProperties(matrix, expected: expected, format: format, compressedBytes: compressedBytes, context: context,
                    sourceLocation: sourceLocation)
    let decompressed = try matrix.decompress(target: target)
    expectBits(decompressed, expected, "\(context): decompress", sourceLocation: sourceLocation)
    try checkProducts(matrix, expected: expected, decompressed: decompressed, x: x, target: target, context: context,
                      sourceLocation: sourceLocation)
  }

  /// The properties every format reports, against the case that built the matrix.
  static func checkProperties<M: WeightMatrix>(
    _ matrix: M, expected: Tensor, format: MatrixFormat, compressedBytes: Int, context: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) {
    #expect(matrix.rows == expected.shape[0] && matrix.cols == expected.shape[1],
            "\(context): shape \(matrix.rows)×\(matrix.cols), expected \(expected.shape)", sourceLocation: sourceLocation)
    #expect(matrix.weightType == expected.dtype, "\(context): weightType \(matrix.weightType), chain yields \(expected.dtype)",
            sourceLocation: sourceLocation)
    #expect(matrix.compressedByteCount == compressedBytes,
            "\(context): compressedByteCount \(matrix.compressedByteCount), operands hold \(compressedBytes)", sourceLocation: sourceLocation)
    #expect(matrix.format == format, "\(context): format \(matrix.format), expected \(format)", sourceLocation: sourceLocation)
  }

  /// One x on one target, for fp32 and fp16 y: the fused GEMV equals the reference GEMV over
  /// `expected` and the dense GEMV over `decompressed`; each row of a batch equals the batch-1
  /// call on that row.
  static func checkProducts<M: WeightMatrix>(
    _ matrix: M, expected: Tensor, decompressed: Tensor, x: Tensor, target: SIMDTarget, context: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    let dense = try DenseMatrix(weights: decompressed)
    try expectProducts(
      x: x, context: context, sourceLocation: sourceLocation,
      reference: { try Reference.gemv(weights: expected, x: x, outputType: $0) },
      product: { try matrix.gemv($0, outputType: $1, target: target) }
    ) { fused, yType, what in
      expectBits(fused, try dense.gemv(x, outputType: yType, target: target), "\(what): fused vs dense(decompressed)",
                 sourceLocation: sourceLocation)
    }
  }

  /// For fp32 and fp16 y: `product(x, yType)` equals `reference(yType)` bit for bit, passes
  /// `also`, and each row of a rank-2 x gives the batch-1 result.
  static func expectProducts(
    x: Tensor, context: String, sourceLocation: SourceLocation = #_sourceLocation,
    reference: (DType) throws -> Tensor, product: (Tensor, DType) throws -> Tensor,
    also: (Tensor, DType, String) throws -> Void = { _, _, _ in }
  ) throws {
    for yType in [DType.fp32, .fp16] {
      let what = "\(context) x \(x.dtype)\(x.shape) y \(yType)"
      let y = try product(x, yType)
      expectBits(y, try reference(yType), "\(what): vs reference", sourceLocation: sourceLocation)
      try also(y, yType, what)
      try expectBatchRows(y, x: x, "\(what): batch rows vs batch 1", sourceLocation: sourceLocation) {
        try product($0, yType)
      }
    }
  }

  /// Row b of `y`, a product of `x`, equals `single(x.row(b))` for every row b of a rank-2 x.
  static func expectBatchRows(
    _ y: Tensor, x: Tensor, _ context: @autoclosure () -> String, sourceLocation: SourceLocation = #_sourceLocation,
    _ single: (Tensor) throws -> Tensor
  ) throws {
    guard x.rank == 2 else { return }
    let singles = try (0..<x.shape[0]).map { try single(x.row($0)) }
    expectRows(y, singles, context(), sourceLocation: sourceLocation)
  }

  /// Records an issue unless row b of `batch` ([n, rows]) is `singles[b]` bit for bit, for every b.
  @discardableResult
  static func expectRows(
    _ batch: Tensor, _ singles: [Tensor], _ context: @autoclosure () -> String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) -> Bool {
    let n = batch.rank == 2 ? batch.shape[0] : 1
    guard n <= singles.count else {
      Issue.record("\(context()): \(n) rows, \(singles.count) batch-1 results", sourceLocation: sourceLocation)
      return false
    }
    if batch.bytes == singles.prefix(n).flatMap(\.bytes) { return true }
    for b in 0..<n {
      let row = batch.rank == 2 ? try! batch.row(b) : batch
      if let difference = bitDifference(row, singles[b]) {
        Issue.record("\(context()): row \(b) of batch \(n) differs from its batch-1 result: \(difference)", sourceLocation: sourceLocation)
        return false
      }
    }
    return true
  }

  /// Batch and thread invariance of one product (gemv or gemvW8A8) on one target.
  /// `product(x, threads)` runs it; `x` holds at least max(batches) rows. Checks: every row of
  /// a batch-N call (N in `batches`) equals the batch-1 call on that row; every thread count in
  /// `threads` gives the threads-1 bits at batch 1 and at the largest batch. Returns the
  /// threads-1 result of the largest batch.
  @discardableResult
  static func checkBatchesAndThreads(
    x: Tensor, batches: [Int], threads: [Int], context: String,
    sourceLocation: SourceLocation = #_sourceLocation, _ product: (Tensor, Int) throws -> Tensor
  ) throws -> Tensor {
    let largest = batches.max() ?? 1
    precondition(x.rank == 2 && x.shape[0] >= largest)
    let singles = try (0..<largest).map { try product(x.row($0), 1) }
    var full = singles[0]
    for n in batches {
      let y = try product(x.rows(0..<n), 1)
      expectRows(y, singles, "\(context): batch \(n)", sourceLocation: sourceLocation)
      if n == largest { full = y }
    }
    for t in threads {
      expectBits(try product(x.row(0), t), singles[0], "\(context): threads \(t) vs 1 at batch 1", sourceLocation: sourceLocation)
      if largest > 1 {
        expectBits(try product(x.rows(0..<largest), t), full, "\(context): threads \(t) vs 1 at batch \(largest)",
                   sourceLocation: sourceLocation)
      }
    }
    return full
  }

  // MARK: - Every target

  /// The whole contract of one matrix on every supported target: decompression equals
  /// `expected` for threads 1 and every count of `shape.threads`; for fp16 and fp32 x and y the
  /// batch and thread invariance of `checkBatchesAndThreads`, and the largest batch equals the
  /// reference GEMV over `expected` (computed once) and the dense GEMV over the decompressed
  /// weights. x is drawn from `seed`, the same on every target.
  static func checkInvariance<M: WeightMatrix>(
    _ matrix: M, expected: Tensor, shape: Shape, seed: UInt64, label: String,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    var r = SplitMix64(seed: seed ^ 0x1A55_0000)
    let largest = shape.batches.max() ?? 1
    var xs = [DType: Tensor]()
    var references = [DType: [DType: Tensor]]()
    for xType in [DType.fp16, .fp32] {
      let x = try r.floatTensor(xType, shape: [largest, shape.cols], shape.xMix)
      xs[xType] = x
      for yType in [DType.fp32, .fp16] {
        references[xType, default: [:]][yType] = try Reference.gemv(weights: expected, x: x, outputType: yType)
      }
    }
    for target in SIMDTarget.supported {
      let context = "\(seedLabel(seed)) target \(target) \(label) \(shape)"
      let decompressed = try matrix.decompress(target: target)
      expectBits(decompressed, expected, "\(context): decompress", sourceLocation: sourceLocation)
      for t in shape.threads {
        expectBits(try matrix.decompress(target: target, threads: t), decompressed, "\(context): decompress threads \(t) vs 1",
                   sourceLocation: sourceLocation)
      }
      let dense = try DenseMatrix(weights: decompressed)
      for xType in [DType.fp16, .fp32] {
        let x = xs[xType]!
        for yType in [DType.fp32, .fp16] {
          let what = "\(context) x \(xType) y \(yType)"
          let full = try checkBatchesAndThreads(
            x: x, batches: shape.batches, threads: shape.threads, context: what, sourceLocation: sourceLocation
          ) { x, t in try matrix.gemv(x, outputType: yType, target: target, threads: t) }
          expectBits(full, references[xType]![yType]!, "\(what): fused gemv vs reference", sourceLocation: sourceLocation)
          expectBits(full, try dense.gemv(x, outputType: yType, target: target), "\(what): fused vs dense(decompressed)",
                     sourceLocation: sourceLocation)
        }
      }
    }
  }

  /// One shared matrix, `tasks` concurrent callers (DispatchQueue.concurrentPerform), each
  /// `rounds` times with its own x, output type, target and 1 or 2 threads (so that callers
  /// compete for the library's pool); every third also decompresses with 2 threads. Every
  /// result must equal the serial one.
  static func checkConcurrent<M: WeightMatrix>(
    _ matrix: M, seed: UInt64, label: String, tasks: Int = 8, rounds: Int = 3,
    sourceLocation: SourceLocation = #_sourceLocation
  ) throws {
    var r = SplitMix64(seed: seed)
    let targets = SIMDTarget.supported
    var jobs = [ConcurrentJob]()
    for i in 0..<tasks {
      let xType: DType = i % 2 == 0 ? .fp32 : .fp16
      let x = try r.floatTensor(xType, shape: [1 + i % 3, matrix.cols], .finite)
      let yType: DType = i % 4 < 2 ? .fp32 : .fp16
      jobs.append(ConcurrentJob(x: x, yType: yType, target: targets[i % targets.count], threads: 1 + i % 2))
    }
    let serial = try jobs.map { try matrix.gemv($0.x, outputType: $0.yType, target: $0.target) }
    let serialWeights = try matrix.decompress()
    let lock = NSLock()
    var failures = [String]()
    DispatchQueue.concurrentPerform(iterations: tasks * rounds) { i in
      let job = jobs[i % tasks]
      var problems = [String]()
      do {
        let y = try matrix.gemv(job.x, outputType: job.yType, target: job.target, threads: job.threads)
        if let d = bitDifference(y, serial[i % tasks]) { problems.append("gemv \(i) on \(job.target) threads \(job.threads): \(d)") }
        if i % 3 == 0, let d = bitDifference(try matrix.decompress(target: job.target, threads: 2), serialWeights) {
          problems.append("decompress \(i) on \(job.target): \(d)")
        }
      } catch {
        problems.append("call \(i) on \(job.target) threads \(job.threads): \(error)")
      }
      lock.lock()
      failures += problems
      lock.unlock()
    }
    for failure in failures {
      Issue.record("\(seedLabel(seed)) \(label) concurrent: \(failure)", sourceLocation: sourceLocation)
    }
  }
}

/// One caller of `MatrixHarness.checkConcurrent`.
struct ConcurrentJob {
  let x: Tensor
  let yType: DType
  let target: SIMDTarget
  let threads: Int
}

extension Tensor {
  /// Rows `range` of a [batch, n] tensor as a [range.count, n] tensor.
  func rows(_ range: Range<Int>) throws -> Tensor {
    precondition(rank == 2 && dtype.bits >= 8)
    let width = shape[1] * dtype.bits / 8
    return try Tensor(dtype: dtype, shape: [range.count, shape[1]], bytes: Array(bytes[(range.lowerBound * width)..<(range.upperBound * width)]))
  }
}
