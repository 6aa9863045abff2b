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

struct BenchShape {
  let rows: Int
  let cols: Int
  let batch: Int

  /// fp32 activations [batch, cols] in [-1, 1).
  func activations(_ rng: inout SplitMix64) throws -> Tensor {
    let values = (0..<(batch * cols)).map { _ in Float(rng.unit() * 2 - 1) }
    return try Tensor(floats: values, shape: batch == 1 ? [cols] : [batch, cols])
  }
}

/// One kernel's matrices, copied enough times that a pass over all of them reads far more than
/// the last-level cache: every call then streams its weights from DRAM (the batch-1 decode case).
struct Workload {
  enum Matrix {
    case dense(DenseMatrix)
    case palettized(PalettizedMatrix)
    case sparse(SparseMatrix)
    case quantized(QuantizedMatrix)

    var compressedBytes: Int {
      switch self {
      case .quantized(let m): return m.compressedByteCount
      case .dense(let m): return m.weights.bytes.count
      case .palettized(let m): return m.compressedByteCount
      case .sparse(let m): return m.compressedByteCount
      }
    }
  }

  let kernel: BenchKernel
  let shape: BenchShape
  let matrices: [Matrix]
  let compressedBytes: Int
  var copies: Int { matrices.count }

  init(kernel: BenchKernel, shape: BenchShape, footprint: Int, rng: inout SplitMix64) throws {
    self.kernel = kernel
    self.shape = shape
    // Every copy owns its storage: the matrices copy their operands when prepared.
    let make = try Workload.factory(kernel, shape, &rng)
    let first = try make()
    compressedBytes = first.compressedBytes
    matrices = try [first] + (1..<Workload.copies(compressedBytes, footprint)).map { _ in try make() }
  }

  /// Builds one matrix of the kernel's format from random operands drawn once.
  static func factory(_ kernel: BenchKernel, _ shape: BenchShape, _ rng: inout SplitMix64) throws -> () throws -> Matrix {
    let count = shape.rows * shape.cols
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
      let i = try indices(count, bits, [shape.rows, shape.cols], &rng)
      let l = try lut(bits, &rng)
      return { .palettized(try PalettizedMatrix(indices: i, lut: l)) }
    }
    if let sparsity = kernel.sparsity {
      // Each weight kept with probability 1 - sparsity (unstructured pruning).
      let bits = (0..<count).map { _ in rng.unit() >= sparsity ? 1 : 0 }
      let mask = try Tensor(integers: bits, dtype: .uint1, shape: [shape.rows, shape.cols])
      let ones = bits.reduce(0, +)
      if kernel == .sparse50Lut4 {
        let i = try indices(ones, 4, [ones], &rng)
        let l = try lut(4, &rng)
        return { .sparse(try SparseMatrix(mask: mask, values: i, lut: l)) }
      }
      if kernel == .sparse50Int8 {
        // coremltools' prune + quantize: int8 linear_symmetric per output channel.
        let q = try Tensor(integers: (0..<ones).map { _ in Int(rng.next() % 255) - 127 }, dtype: .int8, shape: [ones])
        let s = try Tensor(
          fp16Bits: (0..<shape.rows).map { _ in Float16(Float(rng.unit() * 0.01 + 0.001)).bitPattern }, shape: [shape.rows, 1])
        return { .sparse(try SparseMatrix(mask: mask, values: q, scale: s)) }
      }
      let v = try Tensor(fp16Bits: values(ones, &rng), shape: [ones])
      return { .sparse(try SparseMatrix(mask: mask, values: v)) }
    }
    if kernel == .int8 || kernel == .int4B32 || kernel == .w8a8 {
      // coremltools' defaults: int8 linear_symmetric per output channel (no offset); int4 per
      // block of 32 input columns with uint4-range offsets of the data dtype.
      let int4 = kernel == .int4B32
      let data = try Tensor(
        integers: (0..<count).map { _ in int4 ? Int(rng.next() % 16) - 8 : Int(rng.next() % 255) - 127 },
        dtype: int4 ? .int4 : .int8, shape: [shape.rows, shape.cols])
      let grid = int4 ? [shape.rows, max(1, shape.cols / 32)] : [shape.rows, 1]
      let scale = try Tensor(
        fp16Bits: (0..<(grid[0] * grid[1])).map { _ in Float16(Float(rng.unit() * 0.01 + 0.001)).bitPattern },
        shape: grid)
      let offset = int4
        ? try Tensor(integers: (0..<(grid[0] * grid[1])).map { _ in Int(rng.next() % 16) - 8 }, dtype: .int4, shape: grid)
        : nil
      return { .quantized(try QuantizedMatrix(data: data, scale: scale, offset: offset)) }
    }
    let weights = kernel == .denseF16
      ? try Tensor(fp16Bits: values(count, &rng), shape: [shape.rows, shape.cols])
      : try Tensor(floats: (0..<count).map { _ in Float(rng.unit() * 2 - 1) }, shape: [shape.rows, shape.cols])
    return {
      .dense(try DenseMatrix(weights: Tensor(dtype: weights.dtype, shape: weights.shape, bytes: Array(weights.bytes))))
    }
  }

  static func copies(_ bytes: Int, _ footprint: Int) -> Int { max(1, (footprint + bytes - 1) / bytes) }

  /// The fused kernel must equal dense GEMV over its decompressed weights, or timing it is moot.
  func checkFusedEqualsDense(x: Tensor, target: SIMDTarget) throws {
    let fused: Tensor
    let weights: Tensor
    switch matrices[0] {
    case .dense: return
    case .palettized(let m):
      fused = try m.gemv(x, target: target)
      weights = try m.decompress(target: target)
    case .sparse(let m):
      fused = try m.gemv(x, target: target)
      weights = try m.decompress(target: target)
    case .quantized(let m):
      if kernel == .w8a8 { return }  // not a fused dequantization: checked by the test suites
      fused = try m.gemv(x, target: target)
      weights = try m.decompress(target: target)
    }
    let dense = try DenseMatrix(weights: weights).gemv(x, target: target)
    guard fused == dense else {
      throw ValidationError("\(kernel.rawValue): fused GEMV differs from dense GEMV over its decompressed weights")
    }
  }

  /// Median nanoseconds per call over `passes` timed passes (after one warm-up pass).
  func measure(op: BenchOp, x: Tensor, target: SIMDTarget, passes: Int) throws -> Double {
    let outBytes = op == .gemv ? shape.batch * shape.rows * 4 : shape.rows * shape.cols * 4
    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: outBytes, alignment: 64)
    defer { out.deallocate() }
    func call(_ m: Matrix) throws {
      switch (m, op) {
      case (.dense(let d), .gemv): try d.gemv(x, into: out, target: target)
      case (.palettized(let p), .gemv): try p.gemv(x, into: out, target: target)
      case (.palettized(let p), .decompress): try p.decompress(into: out, target: target)
      case (.sparse(let p), .gemv): try p.gemv(x, into: out, target: target)
      case (.sparse(let p), .decompress): try p.decompress(into: out, target: target)
      case (.quantized(let p), .gemv):
        if kernel == .w8a8 {
          try p.gemvW8A8(x, into: out, target: target)
        } else {
          try p.gemv(x, into: out, target: target)
        }
      case (.quantized(let p), .decompress): try p.decompress(into: out, target: target)
      case (.dense, .decompress):
        throw ValidationError("\(kernel.rawValue) has no decompress op")
      }
    }
    for m in matrices { try call(m) }
    var samples: [Double] = []
    for _ in 0..<passes {
      let start = Clock.nanoseconds()
      for m in matrices { try call(m) }
      samples.append(Double(Clock.nanoseconds() - start) / Double(matrices.count))
    }
    return samples.sorted()[samples.count / 2]
  }
}
