import WeightKernels

// Matrix-vector product with the library's canonical accumulation order. Every GEMV kernel,
// whatever its vector width or weight format, must produce exactly these bits.

extension Reference {
  /// Number of partial sums; column k accumulates into partial `k % 16`.
  public static let gemvPartialSums = 16

  /// `y[b, r] = Σ_k w[r, k] · x[b, k]` in the canonical order:
  ///
  /// 1. in fp32, partials `p[0..<16] = +0`; for k in 0..<cols:
  ///    `p[k % 16] = fma(w[r, k], x[b, k], p[k % 16])` (one rounding per step);
  /// 2. the fixed tree `q[i] = p[i] + p[i+8]` (i < 8), `q[i] += q[i+4]` (i < 4),
  ///    `q[i] += q[i+2]` (i < 2), `s = q[0] + q[1]`;
  /// 3. a NaN `s` becomes the canonical quiet NaN `0x7FC00000`; fp16 output is `roundToF16(s)`.
  ///
  /// fp16 operands are widened exactly.
  ///
  /// - Parameters:
  ///   - weights: fp16 or fp32 `[rows, cols]`, rows, cols ≥ 1.
  ///   - x: fp16 or fp32 `[cols]` (batch 1) or `[batch, cols]` (batch 0 gives an empty result).
  ///   - outputType: fp16 or fp32.
  /// - Returns: `[rows]` or `[batch, rows]` (following x's rank) of `outputType`.
  /// - Throws: `.invalidDType` for operand or output dtypes; `.invalidShape` for ranks, empty
  ///   weight extents and an x whose length differs from `cols`.
  /// - Complexity: rows · cols · batch multiply-adds.
  public static func gemv(weights: Tensor, x: Tensor, outputType: DType) throws -> Tensor {
    try requireDType(weights, "weights", [.fp16, .fp32])
    try requireDType(x, "x", [.fp16, .fp32])
    guard outputType == .fp16 || outputType == .fp32 else {
      throw WeightKernelsError.invalidDType("output: dtype \(outputType) is not one of fp16, fp32")
    }
    try requireRank(weights, "weights", 2)
    let rows = weights.shape[0], cols = weights.shape[1]
    guard rows >= 1, cols >= 1 else {
      throw WeightKernelsError.invalidShape("weights: shape \(weights.shape) has an empty extent")
    }
    guard x.rank == 1 || x.rank == 2 else {
      throw WeightKernelsError.invalidShape("x: needs rank 1 or 2, got shape \(x.shape)")
    }
    let batch = x.rank == 2 ? x.shape[0] : 1
    guard x.shape[x.rank - 1] == cols else {
      throw WeightKernelsError.invalidShape("x: length \(x.shape[x.rank - 1]) differs from weights cols \(cols)")
    }

    // Exact values: fp16 widened bit-exactly (widenF16), fp32 as is.
    let w = Elements.fields(weights).map { Elements.value($0, dtype: weights.dtype) }
    let v = Elements.fields(x).map { Elements.value($0, dtype: x.dtype) }
    var output = [Int]()
    output.reserveCapacity(batch * rows)
    for b in 0..<batch {
      for r in 0..<rows {
        let s = canonicalDot(w[(r * cols)..<((r + 1) * cols)], v[(b * cols)..<((b + 1) * cols)])
        output.append(outputType == .fp16 ? Int(roundToF16(s.bitPattern)) : Int(s.bitPattern))
      }
    }
    let shape = x.rank == 2 ? [batch, rows] : [rows]
    return try Elements.tensor(output, dtype: outputType, shape: shape)
  }

  /// The canonical dot product of two equally long vectors (steps 1–3 of `gemv`, fp32 result).
  public static func canonicalDot(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>) -> Float {
    precondition(a.count == b.count, "canonicalDot: lengths differ")
    var p = [Float](repeating: 0, count: gemvPartialSums)
    for (k, (wk, xk)) in zip(a, b).enumerated() {
      p[k % 16] = p[k % 16].addingProduct(wk, xk)  // fused multiply-add: one rounding
    }
    var q = p
    for i in 0..<8 { q[i] = q[i] + q[i + 8] }
    for i in 0..<4 { q[i] = q[i] + q[i + 4] }
    for i in 0..<2 { q[i] = q[i] + q[i + 2] }
    let s = q[0] + q[1]
    return s.isNaN ? Float(bitPattern: 0x7FC0_0000) : s
  }
}
