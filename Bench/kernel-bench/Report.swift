import Foundation

/// One measured (kernel, batch, threads), with every figure derived from numbers of the same run.
struct BenchResult {
  let kernel: String
  let op: String
  let target: String
  let rows: Int
  let cols: Int
  let batch: Int
  let threads: Int
  let compressedBytes: Int
  let measurement: Measurement
  /// The ceilings of this row's thread count.
  let ceiling: Ceiling
  /// Dense fp16 at the same op, batch and threads (for a decompression: a copy of its weights).
  let denseF16Ns: Double
  let copies: Int

  var medianNs: Double { measurement.medianNs }
  /// fp16 bytes of the same weights over the bytes actually stored.
  var compressionRatio: Double { Double(rows * cols * 2) / Double(compressedBytes) }
  var weightGBps: Double { Double(compressedBytes) / medianNs }
  var rooflineFraction: Double { weightGBps / ceiling.streamGBps }
  var speedupVsDenseF16: Double { denseF16Ns / medianNs }
  /// 2 · rows · cols · batch / time (GEMV only: a decompression does no arithmetic to count).
  var gflops: Double? { op == "gemv" ? 2 * Double(rows) * Double(cols) * Double(batch) / medianNs : nil }
  var peakFraction: Double? { gflops.map { $0 / ceiling.peakGflops } }

  static func hex(_ value: UInt64) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }

  /// Columns of the table: title, width, and the cell of a row.
  private static let columns: [(String, Int, (BenchResult) -> String)] = [
    ("kernel", -13, { $0.kernel }),
    ("batch", 5, { "\($0.batch)" }),
    ("thr", 3, { "\($0.threads)" }),
    ("ratio", 6, { String(format: "%.2fx", $0.compressionRatio) }),
    ("MiB", 7, { String(format: "%.2f", Double($0.compressedBytes) / 1_048_576) }),
    ("median us", 10, { String(format: "%.1f", $0.medianNs / 1e3) }),
    ("GB/s", 6, { String(format: "%.1f", $0.weightGBps) }),
    ("of stream", 9, { String(format: "%.1f %%", $0.rooflineFraction * 100) }),
    ("GFLOP/s", 8, { $0.gflops.map { String(format: "%.1f", $0) } ?? "-" }),
    ("of peak", 7, { $0.peakFraction.map { String(format: "%.1f %%", $0 * 100) } ?? "-" }),
    ("vs dense fp16", 13, { String(format: "%.2fx", $0.speedupVsDenseF16) }),
    ("y_hash", -8, { String(hex($0.measurement.yHash).prefix(8)) }),
    ("y[0] hash", -9, { $0.measurement.y0Hash.map { String(hex($0).prefix(8)) } ?? "-" }),
  ]

  private static func pad(_ text: String, _ width: Int) -> String {
    let gap = String(repeating: " ", count: max(0, abs(width) - text.count))
    return width < 0 ? text + gap : gap + text
  }

  static var tableHeader: String { columns.map { pad($0.0, $0.1) }.joined(separator: "  ") }

  var tableRow: String {
    let line = BenchResult.columns.map { BenchResult.pad($0.2(self), $0.1) }.joined(separator: "  ")
    return String(line.reversed().drop(while: { $0 == " " }).reversed())
  }

  var json: String {
    func number(_ value: Double?, _ format: String) -> String { value.map { String(format: format, $0) } ?? "null" }
    let fields: [(String, String)] = [
      ("kernel", "\"\(kernel)\""), ("op", "\"\(op)\""), ("target", "\"\(target)\""),
      ("rows", "\(rows)"), ("cols", "\(cols)"), ("batch", "\(batch)"),
      ("threads", "\(threads)"), ("copies", "\(copies)"),
      ("calls_per_sample", "\(measurement.callsPerSample)"),
      ("compressed_bytes", "\(compressedBytes)"),
      ("compression_ratio", String(format: "%.4f", compressionRatio)),
      ("median_ns", String(format: "%.0f", medianNs)),
      ("weight_gbps", String(format: "%.3f", weightGBps)),
      ("stream_gbps", String(format: "%.3f", ceiling.streamGBps)),
      ("roofline_fraction", String(format: "%.4f", rooflineFraction)),
      ("speedup_vs_dense_f16", String(format: "%.4f", speedupVsDenseF16)),
      ("gflops", number(gflops, "%.3f")),
      ("peak_gflops", String(format: "%.3f", ceiling.peakGflops)),
      ("peak_fraction", number(peakFraction, "%.4f")),
      ("y_hash", "\"\(BenchResult.hex(measurement.yHash))\""),
      ("y0_hash", measurement.y0Hash.map { "\"\(BenchResult.hex($0))\"" } ?? "null"),
    ]
    return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
  }
}

/// Checks from outside what the library promises: the same bits for every thread count (y_hash
/// per kernel and batch) and every batch size (y[0] hash per kernel). Returns one line per
/// violation, naming the rows.
func invarianceViolations(_ results: [BenchResult]) -> [String] {
  var problems: [String] = []
  var byKernelBatch: [String: [BenchResult]] = [:]
  var byKernel: [String: [BenchResult]] = [:]
  for r in results {
    byKernelBatch["\(r.kernel) batch \(r.batch)", default: []].append(r)
    byKernel[r.kernel, default: []].append(r)
  }
  for (key, rows) in byKernelBatch.sorted(by: { $0.key < $1.key })
  where Set(rows.map(\.measurement.yHash)).count > 1 {
    problems.append(
      "\(key): y_hash differs between threads: "
        + rows.map { "\($0.threads) -> \(BenchResult.hex($0.measurement.yHash))" }.joined(separator: ", "))
  }
  for (kernel, rows) in byKernel.sorted(by: { $0.key < $1.key })
  where Set(rows.compactMap(\.measurement.y0Hash)).count > 1 {
    problems.append(
      "\(kernel): y[0] hash differs between batches: "
        + rows.map { "batch \($0.batch) threads \($0.threads) -> \($0.measurement.y0Hash.map(BenchResult.hex) ?? "-")" }
        .joined(separator: ", "))
  }
  return problems
}
