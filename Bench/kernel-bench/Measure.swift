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
}

/// This machine's streaming read bandwidth as one core sees it: a buffer much larger than the
/// last-level cache read once per pass, as 1, 2, 4 and 8 interleaved sequential streams with
/// software prefetch (the access patterns of a GEMV over that many rows). The best median is the
/// roofline: a kernel cannot beat what the fastest plain read achieves.
struct StreamBandwidth {
  let buffer: UnsafeMutableRawBufferPointer

  init(bytes: Int) {
    buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes & ~4095, alignment: 4096)
    // Touch every page so the timing sees DRAM, not page faults.
    for i in stride(from: 0, to: buffer.count, by: 8) { buffer.storeBytes(of: UInt64(i), toByteOffset: i, as: UInt64.self) }
  }

  /// Median seconds per pass of the best stream count.
  func measure(passes: Int) -> Double {
    var sink: UInt64 = 0
    var best = Double.infinity
    for streams in [1, 2, 4, 8] as [UInt32] {
      sink &+= kb_stream_read(buffer.baseAddress, buffer.count, streams)
      var samples: [Double] = []
      for _ in 0..<passes {
        let start = Clock.nanoseconds()
        sink &+= kb_stream_read(buffer.baseAddress, buffer.count, streams)
        samples.append(Double(Clock.nanoseconds() - start) / 1e9)
      }
      best = min(best, samples.sorted()[samples.count / 2])
    }
    if sink == 42 { print("") }  // keeps the reads alive
    return best
  }
}

/// The seeded generator of every random input (splitmix64): `--seed` replays a run.
struct SplitMix64 {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

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
