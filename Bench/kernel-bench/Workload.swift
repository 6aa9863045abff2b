import ArgumentParser
import Foundation
import WeightKernels

/// The benchmarkable kernels: a format and its parameters, each timed on the same shape.
enum BenchKernel: String, CaseIterable {
  case lut1, lut2, lut3, lut4, lut6, lut8
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
    case .denseF16, .denseF32: return nil
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
  }

  let kernel: BenchKernel
  let shape: BenchShape
  let matrices: [Matrix]
  let compressedBytes: Int
  var copies: Int { matrices.count }

  init(kernel: BenchKernel, shape: BenchShape, footprint: Int, rng: inout SplitMix64) throws {
    self.kernel = kernel
    self.shape = shape
    let count = shape.rows * shape.cols
    let first: Matrix
    let bytes: Int
    if let bits = kernel.lutBits {
      let indices = try Tensor(
        integers: (0..<count).map { _ in Int(rng.next() & UInt64((1 << bits) - 1)) },
        dtype: DType.indexType(bits: bits)!, shape: [shape.rows, shape.cols])
      // A per-tensor fp16 LUT of distinct values in [-1, 1), as k-means would produce.
      let lut = try Tensor(
        fp16Bits: (0..<(1 << bits)).map { _ in Float16(Float(rng.unit() * 2 - 1)).bitPattern },
        shape: [1, 1, 1 << bits, 1])
      let matrix = try PalettizedMatrix(indices: indices, lut: lut)
      first = .palettized(matrix)
      bytes = matrix.compressedByteCount
      matrices = try (0..<Workload.copies(bytes, footprint)).map { i in
        i == 0 ? first : .palettized(try PalettizedMatrix(indices: indices, lut: lut))
      }
    } else {
      let weights: Tensor
      if kernel == .denseF16 {
        weights = try Tensor(
          fp16Bits: (0..<count).map { _ in Float16(Float(rng.unit() * 2 - 1)).bitPattern },
          shape: [shape.rows, shape.cols])
      } else {
        weights = try Tensor(floats: (0..<count).map { _ in Float(rng.unit() * 2 - 1) }, shape: [shape.rows, shape.cols])
      }
      bytes = weights.bytes.count
      // Each copy owns its storage (Tensor's array is copied on construction from new bytes).
      matrices = try (0..<Workload.copies(bytes, footprint)).map { _ in
        .dense(try DenseMatrix(weights: Tensor(dtype: weights.dtype, shape: weights.shape, bytes: Array(weights.bytes))))
      }
    }
    compressedBytes = bytes
  }

  static func copies(_ bytes: Int, _ footprint: Int) -> Int { max(1, (footprint + bytes - 1) / bytes) }

  /// The fused kernel must equal dense GEMV over its decompressed weights, or timing it is moot.
  func checkFusedEqualsDense(x: Tensor, target: SIMDTarget) throws {
    guard case .palettized(let m) = matrices[0] else { return }
    let fused = try m.gemv(x, target: target)
    let dense = try DenseMatrix(weights: m.decompress(target: target)).gemv(x, target: target)
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
