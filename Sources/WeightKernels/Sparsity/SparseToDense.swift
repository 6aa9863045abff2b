import CKernels

extension CoreMLOps {
  /// iOS16 `constexpr_sparse_to_dense`: `nonzeroData` fp16/fp32/int8/uint8 [D], `mask` uint8 [M]
  /// (a 1-bit stream), `shape` uint32 [K]. The j-th set bit receives `nonzeroData[j]`.
  /// - Throws: `.invalidShape` when popcount(mask) ≠ D or M ≠ ceil(N/8); `.invalidArgument` for a
  ///   set padding bit (Core ML's checks, in its order).
  /// - Complexity: O(output bytes).
  public static func sparseToDenseIOS16(
    nonzeroData: Tensor, mask: Tensor, shape: Tensor, target: SIMDTarget? = nil
  ) throws -> Tensor {
    try nonzeroData.withCTensor { d in
      try mask.withCTensor { m in
        try shape.withCTensor { s in
          try CCall.produce(target: target) { out, info, ctx in
            wk_sparse_to_dense_ios16(d, m, s, out, info, ctx)
          }
        }
      }
    }
  }

  /// iOS18 `constexpr_sparse_to_dense`: `nonzeroData` fp16/fp32/int8/uint8/int4/uint4 [D],
  /// `mask` uint1 of the output shape with D ones.
  /// - Throws: `.invalidShape` when the ones of the mask differ from D.
  /// - Complexity: O(output bytes).
  public static func sparseToDenseIOS18(
    nonzeroData: Tensor, mask: Tensor, target: SIMDTarget? = nil
  ) throws -> Tensor {
    try nonzeroData.withCTensor { d in
      try mask.withCTensor { m in
        try CCall.produce(target: target) { out, info, ctx in
          wk_sparse_to_dense_ios18(d, m, out, info, ctx)
        }
      }
    }
  }

  /// `constexpr_lut_to_sparse`: the palettized non-zeros of a sparse tensor. Returns the output
  /// mask (repeated V times along `vectorAxis`) and the LUT values of its ones in row-major order
  /// of the expanded shape (FORMATS.md §7.4); feed both to `sparseToDenseIOS18`.
  /// - Throws: `WeightKernelsError` naming the operand that breaks Core ML's rules.
  /// - Complexity: O(prod(S) · V · rank).
  public static func lutToSparse(
    indicesMask: Tensor, indicesNonzeroData: Tensor, lut: Tensor, vectorAxis: Int?,
    target: SIMDTarget? = nil
  ) throws -> (mask: Tensor, nonzeroData: Tensor) {
    try indicesMask.withCTensor { m in
      try indicesNonzeroData.withCTensor { d in
        try lut.withCTensor { l in
          let axis: Int32? = vectorAxis.map { Int32(exactly: $0) ?? Int32.max }
          return try CCall.producePair(target: target) { outMask, outValues, maskInfo, valuesInfo, ctx in
            guard let axis else {
              return wk_lut_to_sparse(m, d, l, nil, outMask, outValues, maskInfo, valuesInfo, ctx)
            }
            return withUnsafePointer(to: axis) {
              wk_lut_to_sparse(m, d, l, $0, outMask, outValues, maskInfo, valuesInfo, ctx)
            }
          }
        }
      }
    }
  }
}
