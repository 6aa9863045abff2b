import ArgumentParser
import Foundation
import WeightKernels

/// The operation a benchmark times.
enum BenchOp: String, ExpressibleByArgument, CaseIterable {
  case gemv
  case decompress
}

struct Run: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Times kernels cold (weights cycled through far more memory than the last-level cache).",
    discussion: """
      Every run also measures this machine's two roofline ceilings for 1 thread and for each \
      requested thread count (streaming read bandwidth and fp32 FMA peak) and dense fp16 GEMV on \
      the same shape, batch and threads (with --op decompress: dense fp16 decompression, which \
      is a copy of the weights). Every (kernel, batch, threads) combination is one row: \
      compression ratio vs fp16, median time per call, GB/s of compressed weight bytes and the \
      fraction of the streaming bandwidth, GFLOP/s and the fraction of the FMA peak, the speedup \
      over dense fp16, and FNV-1a 64 hashes of the output (whole, and batch row 0) that must not \
      depend on threads, batch or target.
      """)

  @Option(name: .long, parsing: .upToNextOption, help: "Kernels: \(BenchKernel.allCases.map(\.rawValue).joined(separator: " ")) (or all).")
  var kernel: [String] = ["lut4"]

  @Option(help: "Operation: gemv or decompress (decompress ignores --batch; its baseline is dense fp16 decompression, a copy of the fp16 weights through the matrix API).")
  var op: BenchOp = .gemv

  @Option(help: "Output rows of the weight matrix.")
  var rows = 4096

  @Option(help: "Input columns of the weight matrix.")
  var cols = 4096

  @Option(name: .long, parsing: .upToNextOption, help: "Activation rows (batch sizes); every one is measured, e.g. --batch 1 8 32.")
  var batch: [Int] = [1]

  @Option(name: .long, parsing: .upToNextOption, help: "Threads per call (library pool; 0 = every CPU of this process); every count is measured, e.g. --threads 1 2.")
  var threads: [Int] = [1]

  @Option(help: "SIMD target (default: the best supported; see `kernel-bench targets`).")
  var target: String?

  @Option(help: "Timed samples per row (a sample is one pass over the cold set, or ~0.2 s of calls when calls are slow); the median is reported.")
  var `repeat` = 15

  @Option(help: "Seed of the random weights and activations.")
  var seed: UInt64 = 1

  @Option(help: "Bytes of weights cycled through per pass (default: 8x the last-level cache, at least 256 MiB).")
  var footprint: Int?

  @Option(help: "Time a Core ML model instead (.mlpackage): every linear/matmul weight's fused GEMV and dense fp16 GEMV of the same weights, one row per weight (and batch, threads) plus the model total; --kernel, --rows, --cols do not apply.")
  var model: String?

  @Flag(help: "One JSON object per result line.")
  var json = false

  @Option(help: "Also draw the run as a roofline (SVG file: GFLOP/s over batch, log-log, with the measured ceilings).")
  var plot: String?

  func validate() throws {
    guard rows >= 1, cols >= 1 else { throw ValidationError("rows and cols must be at least 1") }
    guard !batch.isEmpty, batch.allSatisfy({ $0 >= 1 }) else { throw ValidationError("every batch must be at least 1") }
    guard !threads.isEmpty, threads.allSatisfy({ (0...256).contains($0) }) else {
      throw ValidationError("threads must be 0 (every CPU) to 256")
    }
    guard `repeat` >= 1 else { throw ValidationError("repeat must be at least 1") }
    guard plot == nil || op == .gemv else { throw ValidationError("--plot draws GEMV runs (--op gemv)") }
    guard model == nil || (op == .gemv && plot == nil) else {
      throw ValidationError("--model times GEMV (--op gemv) and draws no plot")
    }
    _ = try kernels()
  }

  func kernels() throws -> [BenchKernel] {
    if kernel == ["all"] { return BenchKernel.allCases }
    return try kernel.flatMap { $0.split(separator: ",") }.map { name in
      guard let k = BenchKernel(rawValue: String(name)) else {
        throw ValidationError("unknown kernel \(name); choose from \(BenchKernel.allCases.map(\.rawValue).joined(separator: " ")) or all")
      }
      return k
    }
  }

  /// Values in first-seen order without repeats.
  private func unique(_ values: [Int]) -> [Int] {
    var seen = Set<Int>()
    return values.filter { seen.insert($0).inserted }
  }

  func run() throws {
    if let model { return try runModel(model) }
    let chosen = try parseTarget(target) ?? SIMDTarget.best
    let kernelList = try kernels()
    let footprintBytes = footprint ?? max(8 * Machine.lastLevelCacheBytes(), 256 << 20)
    let cpus = Machine.availableCPUs
    let threadCounts = unique(threads.map { $0 == 0 ? cpus : $0 })
    let batches = op == .gemv ? unique(batch) : [1]
    let activations = Activations(cols: cols, maxBatch: batches.max()!, seed: seed)
    let xs = try Dictionary(uniqueKeysWithValues: batches.map { ($0, try activations.x(batch: $0)) })

    // Both ceilings for 1 thread and every requested count, before any kernel runs.
    let ceilings = Ceiling.measure(threads: unique([1] + threadCounts), footprint: footprintBytes, passes: `repeat`)
    let ceiling = Dictionary(uniqueKeysWithValues: ceilings.map { ($0.threads, $0) })

    // Dense fp16 on the same shape, op, batch and threads: the baseline of every speedup. Its
    // decompression is a memcpy of the fp16 weights, so decompressions compare with a copy of
    // the same dense size, cycled through the same footprint.
    let baseline = try Workload(kernel: .denseF16, rows: rows, cols: cols, footprint: footprintBytes, seed: seed)
    var baselineRuns: [[Int]: Measurement] = [:]
    for b in batches {
      for n in threadCounts {
        baselineRuns[[b, n]] = try baseline.measure(
          op: op, x: xs[b]!, batch: b, target: chosen, threads: n, samples: `repeat`)
      }
    }

    var results: [BenchResult] = []
    for k in kernelList {
      let reuse = k == .denseF16
      let workload = reuse ? baseline : try Workload(kernel: k, rows: rows, cols: cols, footprint: footprintBytes, seed: seed)
      for b in batches {
        try workload.checkFusedEqualsDense(x: xs[b]!, target: chosen, threads: threadCounts.max()!)
        for n in threadCounts {
          let m = reuse
            ? baselineRuns[[b, n]]!
            : try workload.measure(op: op, x: xs[b]!, batch: b, target: chosen, threads: n, samples: `repeat`)
          results.append(BenchResult(
            kernel: k.rawValue, op: op.rawValue, target: chosen.name, rows: rows, cols: cols, batch: b,
            threads: n, compressedBytes: workload.compressedBytes, measurement: m, ceiling: ceiling[n]!,
            denseF16Ns: baselineRuns[[b, n]]!.medianNs, copies: workload.copies))
        }
      }
    }

    let problems = invarianceViolations(results)
    if json {
      for r in results { print(r.json) }
    } else {
      print("kernel-bench: \(rows) x \(cols), op \(op.rawValue), target \(chosen), cold (\(footprintBytes >> 20) MiB of weights cycled), median of \(`repeat`) samples")
      print("ceilings measured in this run (fp32 FMA peak: \(Machine.fmaISA); \(cpus) CPUs available):")
      for c in ceilings {
        print(String(
          format: "  %3d thread%@  streaming read %6.1f GB/s   fp32 FMA peak %7.1f GFLOP/s",
          c.threads, c.threads == 1 ? " " : "s", c.streamGBps, c.peakGflops))
      }
      if !kernelList.contains(.denseF16) {
        let what = op == .gemv ? "dense fp16 GEMV" : "dense fp16 decompression (a copy)"
        print("\(what) (baseline): " + batches.flatMap { b in
          threadCounts.map { n in String(format: "batch %d, %d thr: %.1f us", b, n, baselineRuns[[b, n]]!.medianNs / 1e3) }
        }.joined(separator: "; "))
      }
      print(BenchResult.tableHeader)
      for r in results { print(r.tableRow) }
      if problems.isEmpty && results.count > 1 {
        print("y_hash equal across threads for every kernel and batch; y[0] hash equal across batches for every kernel")
      }
    }
    for p in problems { FileHandle.standardError.write(Data("kernel-bench: INVARIANCE VIOLATED: \(p)\n".utf8)) }
    if let plot {
      let svg = RooflinePlot(
        title: "kernel-bench: \(rows) × \(cols) GEMV, target \(chosen.name), cold, median of \(`repeat`)",
        ceilings: ceilings, results: results.filter { $0.gflops != nil },
        fmaISA: Machine.fmaISA
      ).svg()
      try svg.write(toFile: plot, atomically: true, encoding: .utf8)
      if !json { print("roofline plot: \(plot)") }
    }
  }
}
