import ArgumentParser
import CoreMLVectors
import WeightKernels

@main
struct KernelBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kernel-bench",
    abstract: "Benchmarks WeightKernels' kernels against this machine's memory bandwidth and dense fp16 GEMV.",
    subcommands: [Run.self, Inspect.self, Targets.self, Verify.self],
    defaultSubcommand: Run.self)
}

/// Parses a target name ("AVX2", "emu128"...) into a compiled target.
func parseTarget(_ name: String?) throws -> SIMDTarget? {
  guard let name else { return nil }
  guard let target = SIMDTarget(name: name) else {
    throw ValidationError(
      "unknown target \(name); compiled: \(SIMDTarget.compiled.map(\.name).joined(separator: ", "))")
  }
  guard target.isSupported else { throw ValidationError("target \(target) is not supported by this CPU") }
  return target
}

struct Targets: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Lists the compiled SIMD targets and which this CPU supports.")

  func run() {
    let best = SIMDTarget.best
    for target in SIMDTarget.compiled {
      let state = target.isSupported ? (target == best ? "supported (best)" : "supported") : "not supported by this CPU"
      print("\(target.name.padding(toLength: 8, withPad: " ", startingAt: 0)) \(state)")
    }
  }
}

struct Verify: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Runs every case of a coremltools vector manifest through the library.",
    discussion: "Chains run step by step; outputs are compared as raw bytes; invalid cases must be rejected. Cases whose ops the library does not implement yet are skipped.")

  @Argument(help: "Directory holding manifest.json (e.g. ../shared/vectors/coremltools).")
  var directory: String

  @Option(help: "SIMD target to run (default: the best supported).")
  var target: String?

  func run() throws {
    let chosen = try parseTarget(target)
    let runner = try VectorRunner(directory: directory)
    let report = runner.run(LibraryExecutor(target: chosen))
    for (name, outcome) in report.results {
      switch outcome {
      case .failed(let why): print("FAIL \(name): \(why)")
      case .skipped(let why): print("skip \(name): \(why)")
      case .passed: break
      }
    }
    print(report.summaryLine)
    if report.failed > 0 { throw ExitCode.failure }
  }
}
