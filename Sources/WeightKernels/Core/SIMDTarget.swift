import CKernels

/// A SIMD instruction set the kernels are compiled for (Highway's targets: AVX3_DL, AVX3, AVX2,
/// SSE4, EMU128 on x86; CPUs with SSSE3 but no SSE4.1 run EMU128). Every kernel gives the same bits on every target; choosing one is
/// for tests and benchmarks.
public struct SIMDTarget: Hashable, Sendable, CustomStringConvertible {
  /// The target's bit in Highway's numbering (the C ABI's target value).
  public let rawValue: UInt64

  public init(rawValue: UInt64) { self.rawValue = rawValue }

  /// Highway's name, e.g. "AVX2".
  public var name: String { String(cString: wk_target_name(rawValue)) }
  public var description: String { name }

  /// Every compiled target, best first; the portable fallback last.
  public static var compiled: [SIMDTarget] {
    let count = wk_compiled_targets(nil, 0)
    var raw = [UInt64](repeating: 0, count: count)
    _ = wk_compiled_targets(&raw, count)
    return raw.map(SIMDTarget.init(rawValue:))
  }

  /// The compiled targets this CPU can run, best first.
  public static var supported: [SIMDTarget] { compiled.filter(\.isSupported) }

  /// The target used when none is chosen.
  public static var best: SIMDTarget { SIMDTarget(rawValue: wk_best_target()) }

  public var isSupported: Bool { wk_supported_targets() & rawValue != 0 }

  /// The compiled target with this name (case-insensitive), if any.
  public init?(name: String) {
    guard let match = SIMDTarget.compiled.first(where: { $0.name.lowercased() == name.lowercased() })
    else { return nil }
    self = match
  }
}
