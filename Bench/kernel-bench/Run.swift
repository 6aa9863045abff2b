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
      Every run also measures this machine's streaming read bandwidth and dense fp16 GEMV on the \
      same shape, and reports each kernel's compression ratio vs fp16, median time per call, GB/s \
      of compressed weight bytes, the fraction of the streaming bandwidth and the speedup over dense fp16.
      """)

  @Option(name: .long, parsing: .upToNextOption, help: "Kernels: \(BenchKernel.allCases.map(\.rawValue).joined(separator: " ")) (or all).")
  var kernel: [String] = ["lut4"]

  @Option(help: "Operation: gemv or decompress.")
  var op: BenchOp = .gemv

  @Option(help: "Output rows of the weight matrix.")
  var rows = 4096

  @Option(help: "Input columns of the weight matrix.")
  var cols = 4096

  @Option(help: "Activation rows (batch).")
  var batch = 1

  @Option(help: "Worker threads (1 until threading exists).")
  var threads = 1

  @Option(help: "SIMD target (default: the best supported; see `kernel-bench targets`).")
  var target: String?

  @Option(help: "Timed passes over the cold set; the median is reported.")
  var `repeat` = 15

  @Option(help: "Seed of the random weights and activations.")
  var seed: UInt64 = 1

  @Option(help: "Bytes of weights cycled through per pass (default: 8x the last-level cache, at least 256 MiB).")
  var footprint: Int?

  @Flag(help: "One JSON object per result line.")
  var json = false

  func validate() throws {
    guard rows >= 1, cols >= 1 else { throw ValidationError("rows and cols must be at least 1") }
    guard batch >= 1 else { throw ValidationError("batch must be at least 1") }
    guard threads == 1 else { throw ValidationError("threads: only 1 is implemented so far") }
    guard `repeat` >= 1 else { throw ValidationError("repeat must be at least 1") }
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

  func run() throws {
    let chosen = try parseTarget(target) ?? SIMDTarget.best
    let footprintBytes = footprint ?? max(8 * Machine.lastLevelCacheBytes(), 256 << 20)
    var rng = SplitMix64(seed: seed)
    let shape = BenchShape(rows: rows, cols: cols, batch: batch)
    let x = try shape.activations(&rng)

    let stream = StreamBandwidth(bytes: footprintBytes)
    let streamSeconds = stream.measure(passes: `repeat`)
    let streamGBps = Double(footprintBytes) / streamSeconds / 1e9

    // Dense fp16 GEMV on the same shape: the baseline every speedup is relative to.
    let baseline = try Workload(kernel: .denseF16, shape: shape, footprint: footprintBytes, rng: &rng)
    let baselineNs = try baseline.measure(op: .gemv, x: x, target: chosen, passes: `repeat`)

    var results: [BenchResult] = []
    for k in try kernels() {
      let workload = k == .denseF16 && op == .gemv
        ? baseline : try Workload(kernel: k, shape: shape, footprint: footprintBytes, rng: &rng)
      try workload.checkFusedEqualsDense(x: x, target: chosen)
      let ns = k == .denseF16 && op == .gemv
        ? baselineNs : try workload.measure(op: op, x: x, target: chosen, passes: `repeat`)
      results.append(BenchResult(
        kernel: k.rawValue, op: op.rawValue, target: chosen.name, shape: shape,
        compressedBytes: workload.compressedBytes, medianNs: ns, streamGBps: streamGBps,
        denseF16Ns: baselineNs, copies: workload.copies))
    }
    if json {
      for r in results { print(r.json) }
    } else {
      print("kernel-bench: \(rows) x \(cols), batch \(batch), 1 thread, target \(chosen), cold (\(footprintBytes >> 20) MiB cycled per pass), median of \(`repeat`) passes")
      print(String(format: "streaming read: %.1f GB/s; dense fp16 GEMV: %.1f us", streamGBps, baselineNs / 1e3))
      print(BenchResult.tableHeader)
      for r in results { print(r.tableRow) }
    }
  }
}
