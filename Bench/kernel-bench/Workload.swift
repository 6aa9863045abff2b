import ArgumentParser
import Foundation
import WeightKernels

/// The benchmarkable kernels: a format and its parameters, each timed on the same shape.
enum BenchKernel: String, CaseIterable {
  case lut1, lut2, lut3, lut4, lut6, lut8
  case sparse50, sparse75
  case sparse50Lut4 = "sparse50-lut4"
  case sparse50Int8 = "sparse50-int8"
  case int8
  case int4B32 = "int4-b32"
  case w8a8
  case denseF16 = "dense-f16"
  case denseF32 = "dense-f32"

  /// Index width of the palettized kernels.
  var lutBits: Int? {
    switch self {
    case .lut1: return 1
    case .lut2: return 2
    case .lut3: return 3
    case .lut4: return 4
    case .lut6: return 6
    case .lut8: return 8
    default: return nil
    }
  }

  /// Fraction of zero weights of the sparse kernels.
  var sparsity: Double? {
    switch self {
    case .sparse50, .sparse50Lut4, .sparse50Int8: return 0.5
    case .sparse75: return 0.75
    default: return nil
    }
  }
}

/// The activations of a run: fp32 [maxBatch, cols] in [-1, 1), drawn once from their own
/// generator. The x of batch b is its first b rows (the same whatever the largest batch), so
/// batch row 0 is the same vector at every batch size and y[0, ·] must be too (the batch
/// invariance the `y0_hash` column shows).
struct Activations {
  let cols: Int
  let values: [Float]

  init(cols: Int, maxBatch: Int, seed: UInt64) {
    var rng = SplitMix64(seed: seed, stream: "activations")
    self.cols = cols
    values = (0..<(maxBatch * cols)).map { _ in Float(rng.unit() * 2 - 1) }
  }

  /// x [cols] for batch 1 (as a decode step passes it), [batch, cols] otherwise.
  func x(batch: Int) throws -> Tensor {
    try Tensor(floats: Array(values[0..<(batch * cols)]), shape: batch == 1 ? [cols] : [batch, cols])
  }
}

/// What one timed row measured.
struct Measurement {
  /// Median nanoseconds per call.
  let medianNs: Double
  /// FNV-1a 64 of the output bytes of the row's first call.
  let yHash: UInt64
  /// FNV-1a 64 of batch row 0 of that output (GEMV only).
  let y0Hash: UInt64?
  /// Consecutive calls per timed sample (all copies, unless a call is slow: see `measure`).
  let callsPerSample: Int
}

/// FNV-1a 64 over bytes.
func fnv1a64<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> UInt64 {
  var hash: UInt64 = 0xcbf2_9ce4_8422_2325
  for byte in bytes {
    hash ^= UInt64(byte)
    hash &*= 0x0000_0100_0000_01b3
  }
  return hash
}

/// One kernel's matrices, copied enough times that a pass over all of them reads far more than
/// the last-level cache: every call then streams its weights from DRAM (the batch-1 decode case).
/// Every format goes through the one `WeightMatrix` API.
struct Workload {
  /// The kernel's name, or the model weight's.
  let name: String
  /// Timed as W8A8 (the quantized matrix's int8 x int8 GEMV).
  let w8a8: Bool
  let rows: Int
  let cols: Int
  let matrices: [any WeightMatrix]
  let compressedBytes: Int
  var copies: Int { matrices.count }

  /// The weights depend only on the seed, the kernel and the shape (not on the other kernels or
  /// options of the run), so output hashes compare across runs, e.g. between targets.
  init(kernel: BenchKernel, rows: Int, cols: Int, footprint: Int, seed: UInt64) throws {
    self.name = kernel.rawValue
    self.w8a8 = kernel == .w8a8
    self.rows = rows
    self.cols = cols
    var rng = SplitMix64(seed: seed, stream: kernel.rawValue)
    // Every copy owns its storage: a matrix copies the operands it keeps pointers into.
    let make = try Workload.factory(kernel, rows, cols, &rng)
    let first = try make()
    compressedBytes = first.compressedByteCount
    matrices = try [first] + (1..<Workload.copies(compressedBytes, footprint)).map { _ in try make() }
  }

  /// Copies of one matrix made elsewhere (a model's weight), `compressedBytes` each.
  init(name: String, matrices: [any WeightMatrix], compressedBytes: Int) {
    self.name = name
    self.w8a8 = false
    self.rows = matrices[0].rows
    self.cols = matrices[0].cols
    self.matrices = matrices
    self.compressedBytes = compressedBytes
  }

  /// Builds one matrix of the kernel's format from random operands drawn once.
  static func factory(
    _ kernel: BenchKernel, _ rows: Int, _ cols: Int, _ rng: inout SplitMix64
  ) throws -> () throws -> any WeightMatrix {
    let count = rows * cols
    func values(_ n: Int, _ rng: inout SplitMix64) -> [UInt16] {
      (0..<n).map { _ in Float16(Float(rng.unit() * 2 - 1)).bitPattern }
    }
    // A per-tensor fp16 LUT of distinct values in [-1, 1), as k-means would produce.
    func lut(_ bits: Int, _ rng: inout SplitMix64) throws -> Tensor {
      try Tensor(fp16Bits: values(1 << bits, &rng), shape: [1, 1, 1 << bits, 1])
    }
    func indices(_ n: Int, _ bits: Int, _ shape: [Int], _ rng: inout SplitMix64) throws -> Tensor {
      try Tensor(
        integers: (0..<n).map { _ in Int(rng.next() & UInt64((1 << bits) - 1)) },
        dtype: DType.indexType(bits: bits)!, shape: shape)
    }
    if let bits = kernel.lutBits {
      let i = try indices(count, bits, [rows, cols], &rng)
      let l = try lut(bits, &rng)
      return { try PalettizedMatrix(indices: i, lut: l) }
    }
    if let sparsity = kernel.sparsity {
      // Each weight kept with probability 1 - sparsity (unstructured pruning).
      let bits = (0..<count).map { _ in rng.unit() >= sparsity ? 1 : 0 }
      let mask = try Tensor(integers: bits, dtype: .uint1, shape: [rows, cols])
      let ones = bits.reduce(0, +)
      if kernel == .sparse50Lut4 {
        let i = try indices(ones, 4, [ones], &rng)
        let l = try lut(4, &rng)
        return { try SparseMatrix(mask: mask, values: i, lut: l) }
      }
      if kernel == .sparse50Int8 {
        // coremltools' prune + quantize: int8 linear_symmetric per output channel.
        let q = try Tensor(integers: (0..<ones).map { _ in Int(rng.next() % 255) - 127 }, dtype: .int8, shape: [ones])
        let s = try Tensor(
          fp16Bits: (0..<rows).map { _ in Float16(Float(rng.unit() * 0.01 + 0.001)).bitPattern }, shape: [rows, 1])
        return { try SparseMatrix(mask: mask, values: q, scale: s) }
      }
      let v = try Tensor(fp16Bits: values(ones, &rng), shape: [ones])
      return { try SparseMatrix(mask: mask, values: v) }
    }
    if kernel == .int8 || kernel == .int4B32 || kernel == .w8a8 {
      // coremltools' defaults: int8 linear_symmetric per output channel (no offset); int4 per
      // block of 32 input columns with uint4-range offsets of the data dtype.
      let int4 = kernel == .int4B32
      let data = try Tensor(
        integers: (0..<count).map { _ in int4 ? Int(rng.next() % 16) - 8 : Int(rng.next() % 255) - 127 },
        dtype: int4 ? .int4 : .int8, shape: [rows, cols])
      let grid = int4 ? [rows, max(1, cols / 32)] : [rows, 1]
      let scale = try Tensor(
        fp16Bits: (0..<(grid[0] * grid[1])).map { _ in Float16(Float(rng.unit() * 0.01 + 0.001)).bitPattern },
        shape: grid)
      let offset = int4
        ? try Tensor(integers: (0..<(grid[0] * grid[1])).map { _ in Int(rng.next() % 16) - 8 }, dtype: .int4, shape: grid)
        : nil
      return { try QuantizedMatrix(data: data, scale: scale, offset: offset) }
    }
    let weights = kernel == .denseF16
      ? try Tensor(fp16Bits: values(count, &rng), shape: [rows, cols])
      : try Tensor(floats: (0..<count).map { _ in Float(rng.unit() * 2 - 1) }, shape: [rows, cols])
    return { try DenseMatrix(weights: weights) }
  }

  static func copies(_ bytes: Int, _ footprint: Int) -> Int { max(1, (footprint + bytes - 1) / bytes) }

  /// Bytes one call of `op` writes: fp32 y [batch, rows], or the decompressed weights.
  func outputBytes(op: BenchOp, batch: Int) -> Int {
    op == .gemv ? batch * rows * 4 : rows * cols * matrices[0].weightType.bits / 8
  }

  /// The timed call, the same for every format: the matrix API's fused GEMV (W8A8: the quantized
  /// matrix's int8 x int8 GEMV) or its decompression.
  func call(
    _ m: any WeightMatrix, op: BenchOp, x: Tensor, into out: UnsafeMutableRawBufferPointer,
    target: SIMDTarget, threads: Int
  ) throws {
    switch op {
    case .gemv where w8a8:
      guard let q = m as? QuantizedMatrix else { throw ValidationError("w8a8 needs a quantized matrix") }
      try q.gemvW8A8(x, into: out, target: target, threads: threads)
    case .gemv:
      try m.gemv(x, into: out, target: target, threads: threads)
    case .decompress:
      try m.decompress(into: out, target: target, threads: threads)
    }
  }

  /// The fused kernel must equal dense GEMV over its decompressed weights, or timing it is moot.
  func checkFusedEqualsDense(x: Tensor, target: SIMDTarget, threads: Int) throws {
    let m = matrices[0]
    // Dense matrices are the reference; W8A8 is no fused dequantization (the test suites check it).
    if m.format == .dense || w8a8 { return }
    let fused = try m.gemv(x, target: target, threads: threads)
    let dense = try DenseMatrix(weights: m.decompress(target: target, threads: threads))
      .gemv(x, target: target, threads: threads)
    guard fused == dense else {
      throw ValidationError(
        "\(name): fused GEMV differs from dense GEMV over its decompressed weights (x \(x.shape), threads \(threads))")
    }
  }

  /// Times `op` cold: calls run round-robin over the copies, so a matrix is called again only
  /// after every other copy was (its weights come from DRAM). The first call's output is hashed.
  /// Warm-up: calls until one full cycle or 0.5 s. A timed sample is then `callsPerSample`
  /// consecutive calls (continuing round-robin): a full cycle, or fewer when a call is slow (large
  /// batches) so that a sample takes about `sampleSeconds`. Returns the median over `samples`
  /// samples of the time per call.
  func measure(
    op: BenchOp, x: Tensor, batch: Int, target: SIMDTarget, threads: Int, samples: Int,
    sampleSeconds: Double = 0.2
  ) throws -> Measurement {
    let outBytes = outputBytes(op: op, batch: batch)
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(outBytes, 1), alignment: 64)
    defer { out.deallocate() }
    var next = 0
    func step() throws {
      try call(matrices[next], op: op, x: x, into: out, target: target, threads: threads)
      next = (next + 1) % matrices.count
    }

    let warmStart = Clock.nanoseconds()
    try step()
    let y = UnsafeRawBufferPointer(rebasing: out[0..<outBytes])
    let yHash = fnv1a64(y)
    let y0Hash = op == .gemv ? fnv1a64(UnsafeRawBufferPointer(rebasing: y[0..<(rows * 4)])) : nil
    var warmCalls = 1
    while warmCalls < matrices.count, Double(Clock.nanoseconds() - warmStart) < 0.5e9 {
      try step()
      warmCalls += 1
    }
    let perCall = Double(Clock.nanoseconds() - warmStart) / 1e9 / Double(warmCalls)
    let callsPerSample = min(matrices.count, max(1, Int((sampleSeconds / perCall).rounded(.up))))

    var times: [Double] = []
    for _ in 0..<samples {
      let start = Clock.nanoseconds()
      for _ in 0..<callsPerSample { try step() }
      times.append(Double(Clock.nanoseconds() - start) / Double(callsPerSample))
    }
    return Measurement(
      medianNs: times.sorted()[times.count / 2], yHash: yHash, y0Hash: y0Hash, callsPerSample: callsPerSample)
  }
}
