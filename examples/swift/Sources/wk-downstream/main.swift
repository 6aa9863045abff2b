// Imports nothing but WeightKernels: no Foundation, no Glibc, whose module maps would link libm
// for us and hide a library that does not link what it uses.
import WeightKernels

struct CheckFailed: Error, CustomStringConvertible {
  let description: String
}

/// A failed check ends the program with an error raised at top level: a non-zero exit status
/// (there is no `exit` without Glibc or Foundation).
func check(_ ok: Bool, _ what: String) throws {
  guard ok else {
    print("FAILED: \(what)")
    throw CheckFailed(description: what)
  }
  print("ok: \(what)")
}

/// Deterministic pseudo-random values (a 64-bit LCG), so every run checks the same matrix.
struct LCG {
  var state: UInt64
  mutating func next() -> UInt64 {
    state = state &* 6364136223846793005 &+ 1442695040888963407
    return state >> 33
  }
}

let rows = 64, cols = 96
var rng = LCG(state: 12)

// The README's palettized example at a small size: 4-bit indices into one fp16 LUT of 16 entries
// (iOS18 lut_to_dense, LUT shape [1, 1, 16, 1]).
let indices = try Tensor(
  integers: (0..<rows * cols).map { _ in Int(rng.next() % 16) }, dtype: .uint4, shape: [rows, cols])
let lutValues: [Float] = (0..<16).map { Float($0) * 0.125 - 1 }
let lut = try Tensor(floats: lutValues, shape: [1, 1, 16, 1])
let matrix = try PalettizedMatrix(indices: indices, lut: lut)
let x = try Tensor(floats: (0..<cols).map { _ in Float(Int(rng.next() % 2001) - 1000) / 512 }, shape: [cols])

// Fused GEMV == dense GEMV of the decompressed weights, bit for bit.
let y = try matrix.gemv(x)
let dense = try DenseMatrix(weights: matrix.decompress())
try check(y.fp32Bits() == (try dense.gemv(x)).fp32Bits(), "palettized GEMV == dense(decompress) GEMV, \(rows) x \(cols)")

// Threads never change the bits.
try check((try matrix.gemv(x, threads: 2)).fp32Bits() == y.fp32Bits(), "GEMV with threads: 2 == threads: 1")

// The quantizer (which rounds through libm) and a quantized matrix built from its output.
let q = try LinearQuantizer.quantize(
  dense.weights, dtype: .int8, mode: .linearSymmetric, granularity: .perChannel)
let quantized = try QuantizedMatrix(data: q.data, scale: q.scale)
let yq = try quantized.gemv(x)
try check(
  yq.fp32Bits() == (try DenseMatrix(weights: quantized.decompress()).gemv(x)).fp32Bits(),
  "int8 per-channel quantized GEMV == dense(decompress) GEMV")

// Bad input is a typed error naming the operand, not a crash: 8 LUT entries for 4-bit indices.
do {
  _ = try PalettizedMatrix(indices: indices, lut: try Tensor(floats: Array(lutValues[0..<8]), shape: [1, 1, 8, 1]))
  try check(false, "an 8-entry LUT for uint4 indices is rejected")
} catch let error as WeightKernelsError {
  print("rejected as expected: \(error)")
  try check(error.kind == .invalidShape && error.message.hasPrefix("lut"), "an 8-entry LUT for uint4 indices is rejected as invalidShape naming lut")
}
print("downstream: all checks passed")
