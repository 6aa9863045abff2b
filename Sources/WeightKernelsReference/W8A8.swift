import WeightKernels

// W8A8: int8 weights times int8-quantized activations (docs/ARITHMETIC.md §3).

extension Reference {
  /// `y[b, r]` for symmetric int8 weights `data` [rows, cols] with per-row (or per-tensor)
  /// scales and activations quantized to int8 per batch row:
  ///
  /// 1. `a = max_k |x[b, k]|`; if a is Inf or NaN every `y[b, ·]` is the canonical NaN;
  /// 2. `s_x = RN32(a / 127)`; `q[k] = clamp(rint(RN32(x[b, k] / s_x)), −127, 127)`, 0 when s_x = 0
  ///    (rint: to nearest, ties to even);
  /// 3. `d[r] = Σ_k data[r, k] · q[k]` exactly (integers);
  /// 4. `y[b, r] = RN32(RN32(Float(d[r]) · s_x) · scale[r])`, a NaN replaced by the canonical
  ///    NaN; fp16 output is `roundToF16(y)`.
  ///
  /// - Parameters:
  ///   - data: int8 `[rows, cols]`, rows, cols ≥ 1.
  ///   - scale: fp16 or fp32 `[rows, 1]` or `[1, 1]`.
  ///   - x: fp16 or fp32 `[cols]` or `[batch, cols]`.
  /// - Throws: `.invalidDType`, `.invalidShape` for operands outside these forms.
  public static func gemvW8A8(data: Tensor, scale: Tensor, x: Tensor, outputType: DType) throws -> Tensor {
    try requireDType(data, "data", [.int8])
    try requireDType(scale, "scale", [.fp16, .fp32])
    try requireDType(x, "x", [.fp16, .fp32])
    guard outputType == .fp16 || outputType == .fp32 else {
      throw WeightKernelsError.invalidDType("output: dtype \(outputType) is not one of fp16, fp32")
    }
    try requireRank(data, "data", 2)
    let rows = data.shape[0], cols = data.shape[1]
    guard rows >= 1, cols >= 1, scale.shape == [rows, 1] || scale.shape == [1, 1] else {
      throw WeightKernelsError.invalidShape("data \(data.shape) with scale \(scale.shape): [rows, 1] or [1, 1] expected")
    }
    guard x.rank == 1 || x.rank == 2, x.shape[x.rank - 1] == cols else {
      throw WeightKernelsError.invalidShape("x: shape \(x.shape) for \(cols) columns")
    }
    let batch = x.rank == 2 ? x.shape[0] : 1
    let w = data.integers()
    let s = Elements.fields(scale).map { Elements.value($0, dtype: scale.dtype) }
    let v = Elements.fields(x).map { Elements.value($0, dtype: x.dtype) }
    let canonicalNaN = Float(bitPattern: 0x7FC0_0000)
    var output = [Int]()
    output.reserveCapacity(batch * rows)
    for b in 0..<batch {
      let row = v[(b * cols)..<((b + 1) * cols)]
      var results = [Float](repeating: canonicalNaN, count: rows)
      if row.allSatisfy({ $0.isFinite }) {
        let amax = row.reduce(Float(0)) { max($0, abs($1)) }
        let sx = amax / 127
        let q = row.map { value -> Int in
          guard sx != 0 else { return 0 }
          return Int(min(max((value / sx).rounded(.toNearestOrEven), -127), 127))
        }
        for r in 0..<rows {
          var dot = 0
          for k in 0..<cols { dot += w[r * cols + k] * q[k] }
          let y = (Float(dot) * sx) * s[s.count == 1 ? 0 : r]
          results[r] = y.isNaN ? canonicalNaN : y
        }
      }
      for y in results { output.append(outputType == .fp16 ? Int(roundToF16(y.bitPattern)) : Int(y.bitPattern)) }
    }
    return try Elements.tensor(output, dtype: outputType, shape: x.rank == 2 ? [batch, rows] : [rows])
  }
}
