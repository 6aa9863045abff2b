import Foundation

/// One measured kernel, with every figure derived from numbers of the same run.
struct BenchResult {
  let kernel: String
  let op: String
  let target: String
  let shape: BenchShape
  let compressedBytes: Int
  let medianNs: Double
  let streamGBps: Double
  let denseF16Ns: Double
  let copies: Int

  /// fp16 bytes of the same weights over the bytes actually stored.
  var compressionRatio: Double { Double(shape.rows * shape.cols * 2) / Double(compressedBytes) }
  var weightGBps: Double { Double(compressedBytes) / medianNs }
  var rooflineFraction: Double { weightGBps / streamGBps }
  var speedupVsDenseF16: Double { denseF16Ns / medianNs }

  static let tableHeader =
    "kernel        op            ratio  compressed MiB   median us    GB/s  of stream  vs dense fp16"

  var tableRow: String {
    kernel.padding(toLength: 13, withPad: " ", startingAt: 0) + " "
      + op.padding(toLength: 11, withPad: " ", startingAt: 0)
      + String(
        format: " %6.2fx %14.2f %11.1f %7.1f %9.1f%% %13.2fx", compressionRatio,
        Double(compressedBytes) / 1_048_576, medianNs / 1e3, weightGBps, rooflineFraction * 100,
        speedupVsDenseF16)
  }

  var json: String {
    let fields: [(String, String)] = [
      ("kernel", "\"\(kernel)\""), ("op", "\"\(op)\""), ("target", "\"\(target)\""),
      ("rows", "\(shape.rows)"), ("cols", "\(shape.cols)"), ("batch", "\(shape.batch)"),
      ("threads", "1"), ("copies", "\(copies)"),
      ("compressed_bytes", "\(compressedBytes)"),
      ("compression_ratio", String(format: "%.4f", compressionRatio)),
      ("median_ns", String(format: "%.0f", medianNs)),
      ("weight_gbps", String(format: "%.3f", weightGBps)),
      ("stream_gbps", String(format: "%.3f", streamGBps)),
      ("roofline_fraction", String(format: "%.4f", rooflineFraction)),
      ("speedup_vs_dense_f16", String(format: "%.4f", speedupVsDenseF16)),
    ]
    return "{" + fields.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
  }
}
