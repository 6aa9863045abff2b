import Foundation
import StreamRead

#if canImport(Glibc)
import Glibc
#endif

enum Clock {
  static func nanoseconds() -> UInt64 {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
  }
}

enum Machine {
  /// Size of the largest cache level (sysfs), or 32 MiB if unknown.
  static func lastLevelCacheBytes() -> Int {
    var largest = 0
    for index in 0..<8 {
      let path = "/sys/devices/system/cpu/cpu0/cache/index\(index)/size"
      guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { continue }
      let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
      let multiplier = trimmed.hasSuffix("M") ? 1 << 20 : (trimmed.hasSuffix("K") ? 1 << 10 : 1)
      if let value = Int(trimmed.filter(\.isNumber)) { largest = max(largest, value * multiplier) }
    }
    return largest > 0 ? largest : 32 << 20
  }

  /// CPUs this process may run on: what `threads: 0` means to the library.
  static var availableCPUs: Int { Int(kb_available_cpus()) }

  /// The vector instruction set of the FMA-peak measurement ("AVX2+FMA", "AVX-512F", "portable").
  static var fmaISA: String { String(cString: kb_fma_isa()) }
}

/// The two roofline ceilings of one thread count, measured in the run that uses them.
struct Ceiling {
  let threads: Int
  /// Streaming read, GB/s summed over the threads.
  let streamGBps: Double
  /// fp32 multiply-add peak, GFLOP/s summed over the threads.
  let peakGflops: Double
}

/// This machine's streaming read bandwidth: a buffer much larger than the last-level cache read
/// once per pass by n threads at once (each its own contiguous slice), each thread as 1, 2, 4
/// and 8 interleaved sequential streams with software prefetch (the access patterns of a GEMV
/// over that many rows). The best median is the roofline: a kernel cannot beat what the fastest
/// plain read achieves.
final class StreamBandwidth {
  let buffer: UnsafeMutableRawBufferPointer

  init(bytes: Int) {
    buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes & ~4095, alignment: 4096)
    // Touch every page so the timing sees DRAM, not page faults.
    for i in stride(from: 0, to: buffer.count, by: 8) { buffer.storeBytes(of: UInt64(i), toByteOffset: i, as: UInt64.self) }
  }

  deinit { buffer.deallocate() }

  /// GB/s (summed over `threads` threads) of the best stream count's median pass.
  func gbps(threads: Int, passes: Int) -> Double {
    var best = 0.0
    for streams in [1, 2, 4, 8] as [UInt32] {
      var seconds = [Double](repeating: 0, count: passes)
      let bytes = kb_stream_read_threads(
        buffer.baseAddress, buffer.count, UInt32(threads), streams, UInt32(passes), &seconds)
      guard bytes > 0 else { continue }
      best = max(best, Double(bytes) / seconds.sorted()[passes / 2] / 1e9)
    }
    return best
  }
}

extension Ceiling {
  /// Both ceilings for each thread count (in the order given).
  static func measure(threads: [Int], footprint: Int, passes: Int) -> [Ceiling] {
    let stream = StreamBandwidth(bytes: footprint)
    return threads.map { n in
      Ceiling(
        threads: n, streamGBps: stream.gbps(threads: n, passes: passes),
        peakGflops: kb_fma_peak_gflops(UInt32(n), 15))
    }
  }
}

/// The seeded generator of every random input (splitmix64): `--seed` replays a run.
struct SplitMix64 {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  /// An independent generator for one named input of a run (a kernel's weights, the activations).
  init(seed: UInt64, stream: String) { state = seed ^ fnv1a64(stream.utf8) }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// Uniform in [0, 1).
  mutating func unit() -> Double { Double(next() >> 11) * 0x1p-53 }
}
