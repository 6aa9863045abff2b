import CKernels

extension CoreMLOps {
  /// iOS16 `constexpr_lut_to_dense`: `indices` uint8 [M] (the packed n-bit stream), `lut` [P]
  /// with P ∈ {2, 4, 16, 64, 256}, `shape` uint32 [K]. Values are copied bit for bit.
  /// - Throws: `WeightKernelsError` naming the operand that breaks Core ML's rules.
  /// - Complexity: O(output bytes).
  public static func lutToDenseIOS16(
    indices: Tensor, lut: Tensor, shape: Tensor, target: SIMDTarget? = nil
  ) throws -> Tensor {
    try indices.withCTensor { i in
      try lut.withCTensor { l in
        try shape.withCTensor { s in
          try CCall.produce(target: target) { out, info, ctx in
            wk_lut_to_dense_ios16(i, l, s, out, info, ctx)
          }
        }
      }
    }
  }

  /// iOS18 `constexpr_lut_to_dense`: `indices` uint1…uint8 of shape I, `lut`
  /// [G0…G(K−1), 2ⁿ, V] (groups counted on I), `vectorAxis` required when V > 1.
  /// - Throws: `WeightKernelsError` naming the operand that breaks Core ML's rules.
  /// - Complexity: O(output bytes) plus O(LUT) to prepare tables.
  public static func lutToDenseIOS18(
    indices: Tensor, lut: Tensor, vectorAxis: Int?, target: SIMDTarget? = nil
  ) throws -> Tensor {
    try indices.withCTensor { i in
      try lut.withCTensor { l in
        try CCall.produce(target: target) { out, info, ctx in
          if let axis = vectorAxis {
            guard let a = Int32(exactly: axis) else {
              return wk_lut_to_dense_ios18(i, l, [Int32.max], out, info, ctx)
            }
            return withUnsafePointer(to: a) { wk_lut_to_dense_ios18(i, l, $0, out, info, ctx) }
          }
          return wk_lut_to_dense_ios18(i, l, nil, out, info, ctx)
        }
      }
    }
  }
}
