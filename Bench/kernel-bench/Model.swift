import ArgumentParser
import Foundation
import WeightKernels

/// Opens a package or exits with the reader's message (damaged files end the command, not a crash).
func openModel(_ path: String) throws -> CoreMLModel {
  do {
    return try CoreMLModel(path: path)
  } catch let error as WeightKernelsError {
    FileHandle.standardError.write(Data("kernel-bench: \(path): \(error)\n".utf8))
    throw ExitCode.failure
  }
}

/// A JSON string literal.
func jsonString(_ text: String) -> String {
  var out = "\""
  for scalar in text.unicodeScalars {
    switch scalar {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "\t": out += "\\t"
    case "\r": out += "\\r"
    case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
    default: out.unicodeScalars.append(scalar)
    }
  }
  return out + "\""
}

func jsonObject(_ fields: [(String, String)]) -> String {
  "{" + fields.map { "\(jsonString($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
}

/// A plain-text table: each column as wide as its widest cell; `leftAligned` per column.
func table(_ header: [String], _ rows: [[String]], leftAligned: [Bool]) -> [String] {
  let widths = header.indices.map { c in ([header[c]] + rows.map { $0[c] }).map(\.count).max()! }
  return ([header] + rows).map { row in
    tableLine(row.indices.map { (row[$0], leftAligned[$0] ? -widths[$0] : widths[$0]) })
  }
}

/// Left-aligned (negative width) or right-aligned cells of a plain-text table.
func tableLine(_ cells: [(String, Int)]) -> String {
  let line = cells.map { text, width in
    let gap = String(repeating: " ", count: max(0, abs(width) - text.count))
    return width < 0 ? text + gap : gap + text
  }.joined(separator: "  ")
  return String(line.reversed().drop(while: { $0 == " " }).reversed())
}

extension ModelWeight {
  var shapeText: String { shape.map(String.init).joined(separator: "x") }

  /// A file name for the weight: characters outside [A-Za-z0-9_.-] become '_', and a name made only
  /// of dots gets a leading '_' (so it can neither leave DIR nor name it).
  var fileStem: String {
    let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
    let stem = String(name.map { allowed.contains($0) ? $0 : "_" })
    return stem.isEmpty || stem.allSatisfy({ $0 == "." }) ? "_" + stem : stem
  }
}

struct Inspect: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Lists the weights of a Core ML model package: op chain, compression and sizes.",
    discussion: """
      One row per weight (a const, or the output of a chain of constexpr ops, with the op that \
      consumes it): op chain from storage to output, shape, dtype, scheme, bytes of the weight.bin \
      blobs it reads (a blob shared by two operands counted once) plus inline bytes, dense fp16 \
      bytes and the ratio; then the model total. A damaged package exits non-zero with the reader's \
      message naming the part at fault.
      """)

  @Argument(help: "The .mlpackage directory.")
  var model: String

  @Flag(help: "One JSON object per weight, then one for the model.")
  var json = false

  @Option(help: "Write every weight decompressed to DIR/<name>.bin (raw little-endian, the weight's dtype; name characters outside [A-Za-z0-9_.-] become '_').")
  var dump: String?

  func run() throws {
    let m = try openModel(model)
    if let dump { try write(m, to: dump) }
    let fileBytes = packageFileBytes(model)
    if json {
      let files = Self.dumpFiles(m)
      for (w, file) in zip(m.weights, files) {
        print(jsonObject([
          ("name", jsonString(w.name)), ("function", jsonString(w.function)),
          ("consumer", jsonString(w.consumer)), ("consumer_input", jsonString(w.consumerInput)),
          ("op_chain", jsonString(w.opChain)), ("scheme", jsonString(w.scheme)),
          ("shape", "[" + w.shape.map(String.init).joined(separator: ", ") + "]"),
          ("dtype", jsonString(w.dtype.description)), ("nbits", "\(w.nbits)"), ("vector_size", "\(w.vectorSize)"),
          ("sparse", "\(w.isSparse)"), ("nonzeros", "\(w.nonzeros)"),
          ("blob_bytes", "\(w.blobBytes)"), ("immediate_bytes", "\(w.immediateBytes)"),
          ("dense_bytes", "\(w.denseFP16Bytes)"), ("ratio", String(format: "%.4f", w.ratio)),
          ("matrix", "\(w.hasMatrix)"),
          ("file", dump == nil ? "null" : jsonString(file)),
        ]))
      }
      print(jsonObject([
        ("model", jsonString(model)), ("weights", "\(m.weights.count)"),
        ("blob_bytes", "\(m.blobBytes)"), ("immediate_bytes", "\(m.immediateBytes)"),
        ("stored_bytes", "\(m.storedBytes)"), ("dense_bytes", "\(m.denseFP16Bytes)"),
        ("ratio", String(format: "%.4f", m.ratio)), ("file_bytes", "\(fileBytes)"),
      ]))
      return
    }
    let header = ["name", "consumer", "op chain", "shape", "dtype", "scheme", "blob B", "inline B", "fp16 B", "ratio"]
    let cells = m.weights.map { w in
      [
        w.name, w.consumer + (w.consumerInput.isEmpty ? "" : "." + w.consumerInput), w.opChain, w.shapeText,
        w.dtype.description, w.scheme + (w.hasMatrix ? "" : " (no fused)"), "\(w.blobBytes)", "\(w.immediateBytes)",
        "\(w.denseFP16Bytes)", String(format: "%.2fx", w.ratio),
      ]
    }
    table(header, cells, leftAligned: header.indices.map { $0 < 6 }).forEach { print($0) }
    print(String(
      format: "model: %d weights, %d bytes stored (%d in weight.bin blobs, %d inline), dense fp16 %d bytes, ratio %.2fx vs fp16; package files %d bytes",
      m.weights.count, m.storedBytes, m.blobBytes, m.immediateBytes, m.denseFP16Bytes, m.ratio, fileBytes))
  }

  /// The dump file of every weight: its sanitized name, with the weight's index appended when an
  /// earlier weight's name sanitizes alike (the functions of a multifunction model share names).
  static func dumpFiles(_ m: CoreMLModel) -> [String] {
    var used = Set<String>()
    return m.weights.map { w in
      var stem = w.fileStem
      if !used.insert(stem).inserted {
        stem += "_\(w.index)"
        used.insert(stem)
      }
      return stem + ".bin"
    }
  }

  /// Decompresses every weight into DIR (created if needed), named by dumpFiles.
  func write(_ m: CoreMLModel, to dir: String) throws {
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for (w, file) in zip(m.weights, Self.dumpFiles(m)) {
      let tensor: Tensor
      do {
        tensor = try m.decompress(w)
      } catch let error as WeightKernelsError {
        FileHandle.standardError.write(Data("kernel-bench: \(model): \(error)\n".utf8))
        throw ExitCode.failure
      }
      try Data(tensor.bytes).write(to: URL(fileURLWithPath: dir).appendingPathComponent(file))
    }
  }
}

/// Bytes of every regular file under the package directory (Manifest, program, weights).
func packageFileBytes(_ path: String) -> Int {
  guard let walker = FileManager.default.enumerator(atPath: path) else { return 0 }
  var total = 0
  while let item = walker.nextObject() as? String {
    let attributes = try? FileManager.default.attributesOfItem(atPath: path + "/" + item)
    if attributes?[.type] as? FileAttributeType == .typeRegular { total += (attributes?[.size] as? Int) ?? 0 }
  }
  return total
}

/// The bytes of a package's program and weight file, located through its Manifest.json (root model
/// item; the weights directory beside the program, where `@model_path/weights/` points). Only the
/// benchmark needs them: it opens many independent copies so that timings read DRAM, not cache.
func packageBytes(_ path: String) throws -> (program: [UInt8], weights: [UInt8]) {
  let manifestURL = URL(fileURLWithPath: path).appendingPathComponent("Manifest.json")
  guard let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any],
    let root = manifest["rootModelIdentifier"] as? String,
    let items = manifest["itemInfoEntries"] as? [String: Any], let item = items[root] as? [String: Any],
    let programPath = item["path"] as? String
  else { throw ValidationError("\(path): Manifest.json has no root model item") }
  let program = URL(fileURLWithPath: path).appendingPathComponent("Data").appendingPathComponent(programPath)
  let weights = program.deletingLastPathComponent().appendingPathComponent("weights/weight.bin")
  let weightBytes = FileManager.default.fileExists(atPath: weights.path) ? [UInt8](try Data(contentsOf: weights)) : []
  return ([UInt8](try Data(contentsOf: program)), weightBytes)
}

/// One timed weight of `run --model` at one batch and thread count.
struct ModelRow {
  let weight: ModelWeight
  let batch: Int
  let threads: Int
  let fused: Measurement
  let dense: Measurement
  let fusedCopies: Int
  let denseCopies: Int
  var speedup: Double { dense.medianNs / fused.medianNs }
}

extension Run {
  /// `run --model`: every linear/matmul weight's fused GEMV and the dense fp16 GEMV of the same
  /// weights, both cold, per batch and thread count, and the model's sum.
  func runModel(_ path: String) throws {
    let chosen = try parseTarget(target) ?? SIMDTarget.best
    let first = try openModel(path)
    let timed = first.weights.filter { ($0.consumer == "linear" || $0.consumer == "matmul") && $0.hasMatrix }
    let untimed = first.weights.filter { w in !timed.contains { $0.index == w.index } }
    guard !timed.isEmpty else { throw ValidationError("\(path): no linear or matmul weight with a fused kernel") }
    let footprintBytes = footprint ?? max(8 * Machine.lastLevelCacheBytes(), 256 << 20)
    let cpus = Machine.availableCPUs
    var seen = Set<Int>()
    let threadCounts = threads.map { $0 == 0 ? cpus : $0 }.filter { seen.insert($0).inserted }
    seen = []
    let batches = batch.filter { seen.insert($0).inserted }

    // Independent copies of the whole model (program and weight file in their own memory), enough
    // that one pass over the timed weights of all copies reads `footprint` bytes; capped, since a
    // tiny model would need tens of thousands: the header line says when the set fits in cache.
    let bytes = try packageBytes(path)
    let modelBytes = timed.reduce(0) { $0 + $1.storedBytes }
    let copies = min(Workload.copies(modelBytes, footprintBytes), maxModelCopies)
    let models = try [first] + (1..<copies).map { _ in
      do { return try CoreMLModel(program: bytes.program, weights: bytes.weights) } catch let error as WeightKernelsError {
        throw ValidationError("\(path): \(error)")
      }
    }
    let denseBytes = timed.reduce(0) { $0 + $1.denseFP16Bytes }
    let denseCopies = min(Workload.copies(denseBytes, footprintBytes), maxModelCopies)

    var rows: [ModelRow] = []
    for w in timed {
      let fused = Workload(
        name: w.name, matrices: try models.map { try $0.matrix(for: $0.weights[w.index]) }, compressedBytes: w.storedBytes)
      // Dense fp16 of exactly these weights (fp32 weights rounded to fp16: what an fp16 model holds).
      var weights = try fused.matrices[0].decompress()
      if weights.dtype == .fp32 {
        weights = try Tensor(fp16Bits: weights.floats().map { Float16($0).bitPattern }, shape: weights.shape)
      }
      let dense = try Workload(
        name: w.name + " fp16", matrices: (0..<denseCopies).map { _ in try DenseMatrix(weights: weights) },
        compressedBytes: w.denseFP16Bytes)
      let activations = Activations(cols: fused.cols, maxBatch: batches.max()!, seed: seed)
      for b in batches {
        let x = try activations.x(batch: b)
        try fused.checkFusedEqualsDense(x: x, target: chosen, threads: threadCounts.max()!)
        for n in threadCounts {
          rows.append(ModelRow(
            weight: w, batch: b, threads: n,
            fused: try fused.measure(op: .gemv, x: x, batch: b, target: chosen, threads: n, samples: `repeat`),
            dense: try dense.measure(op: .gemv, x: x, batch: b, target: chosen, threads: n, samples: `repeat`),
            fusedCopies: copies, denseCopies: denseCopies))
        }
      }
    }

    let totals = batches.flatMap { b in threadCounts.map { n in (b, n) } }.map { b, n in
      let group = rows.filter { $0.batch == b && $0.threads == n }
      return (batch: b, threads: n, fusedNs: group.reduce(0) { $0 + $1.fused.medianNs },
              denseNs: group.reduce(0) { $0 + $1.dense.medianNs })
    }
    let coldSet = "fused \(copies) copies x \(modelBytes) B = \(String(format: "%.1f", Double(copies * modelBytes) / 1_048_576)) MiB, dense fp16 \(denseCopies) copies x \(denseBytes) B = \(String(format: "%.1f", Double(denseCopies * denseBytes) / 1_048_576)) MiB; last-level cache \(Machine.lastLevelCacheBytes() >> 20) MiB"
    if json {
      for r in rows {
        print(jsonObject([
          ("name", jsonString(r.weight.name)), ("consumer", jsonString(r.weight.consumer)),
          ("op_chain", jsonString(r.weight.opChain)), ("scheme", jsonString(r.weight.scheme)),
          ("rows", "\(r.weight.shape[0])"), ("cols", "\(r.weight.count / r.weight.shape[0])"),
          ("batch", "\(r.batch)"), ("threads", "\(r.threads)"), ("target", jsonString(chosen.name)),
          ("stored_bytes", "\(r.weight.storedBytes)"), ("dense_bytes", "\(r.weight.denseFP16Bytes)"),
          ("ratio", String(format: "%.4f", r.weight.ratio)),
          ("fused_ns", String(format: "%.0f", r.fused.medianNs)), ("dense_f16_ns", String(format: "%.0f", r.dense.medianNs)),
          ("speedup_vs_dense_f16", String(format: "%.4f", r.speedup)),
          ("fused_copies", "\(r.fusedCopies)"), ("dense_copies", "\(r.denseCopies)"),
          ("y_hash", jsonString(BenchResult.hex(r.fused.yHash))),
        ]))
      }
      for t in totals {
        print(jsonObject([
          ("model", jsonString(path)), ("weights", "\(timed.count)"), ("batch", "\(t.batch)"),
          ("threads", "\(t.threads)"), ("target", jsonString(chosen.name)),
          ("stored_bytes", "\(modelBytes)"), ("dense_bytes", "\(denseBytes)"),
          ("ratio", String(format: "%.4f", Double(denseBytes) / Double(modelBytes))),
          ("fused_ns_per_token", String(format: "%.0f", t.fusedNs / Double(t.batch))),
          ("dense_f16_ns_per_token", String(format: "%.0f", t.denseNs / Double(t.batch))),
          ("speedup_vs_dense_f16", String(format: "%.4f", t.denseNs / t.fusedNs)),
        ]))
      }
      return
    }
    print("kernel-bench: \(path), fused GEMV of every linear/matmul weight vs dense fp16 GEMV of the same weights, target \(chosen), cold, median of \(`repeat`) samples")
    print("cold set: \(coldSet)")
    if !untimed.isEmpty {
      print("not timed (not linear/matmul, or no fused kernel): " + untimed.map { "\($0.name) (\($0.consumer))" }.joined(separator: ", "))
    }
    let header = ["weight", "op", "shape", "scheme", "batch", "thr", "stored B", "ratio", "fused us", "fp16 us", "speedup"]
    let cells = rows.map { r in
      [
        r.weight.name, r.weight.consumer, r.weight.shapeText, r.weight.scheme, "\(r.batch)", "\(r.threads)",
        "\(r.weight.storedBytes)", String(format: "%.2fx", r.weight.ratio), String(format: "%.2f", r.fused.medianNs / 1e3),
        String(format: "%.2f", r.dense.medianNs / 1e3), String(format: "%.2fx", r.speedup),
      ]
    }
    table(header, cells, leftAligned: header.indices.map { $0 < 4 }).forEach { print($0) }
    for t in totals {
      print(String(
        format: "model, batch %d, %d thread%@: %.2f us per token fused vs %.2f us dense fp16 (%.2fx); weights %d B vs %d B fp16 (%.2fx)",
        t.batch, t.threads, t.threads == 1 ? "" : "s", t.fusedNs / Double(t.batch) / 1e3,
        t.denseNs / Double(t.batch) / 1e3, t.denseNs / t.fusedNs, modelBytes, denseBytes,
        Double(denseBytes) / Double(modelBytes)))
    }
  }
}

/// At most this many copies of a model in a cold set (each also holds its parsed program).
let maxModelCopies = 2048
