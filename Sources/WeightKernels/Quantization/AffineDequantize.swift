import CKernels

extension CoreMLOps {
  /// iOS16 `constexpr_affine_dequantize`: out = RN32(RN32(q − zeroPoint) · scale), then RN16 for
  /// an fp16 scale (FORMATS.md §5). `zeroPoint` (int8/uint8/fp32) and `scale` (fp16/fp32) are
  /// each a scalar or a vector along `axis`.
  /// - Throws: `WeightKernelsError` naming the operand that breaks Core ML's rules.
  /// - Complexity: O(output bytes).
  public static func affineDequantize(
    quantizedData: Tensor, zeroPoint: Tensor, scale: Tensor, axis: Int, target: SIMDTarget? = nil
  ) throws -> Tensor {
    let a = Int32(clamping: axis)
    return try quantizedData.withCTensor { q in
      try zeroPoint.withCTensor { z in
        try scale.withCTensor { s in
          try CCall.produce(target: target) { out, info, ctx in
            wk_affine_dequantize(q, z, s, a, out, info, ctx)
          }
        }
      }
    }
  }

  /// `constexpr_sparse_blockwise_shift_scale`: the mask unchanged and the non-zeros dequantized
  /// with the block of each one's coordinate in the mask's shape (FORMATS.md §7.5); feed both to
  /// `sparseToDenseIOS18`.
  /// - Throws: `WeightKernelsError` naming the operand that breaks Core ML's rules.
  public static func sparseBlockwiseShiftScale(
    dataMask: Tensor, nonzeroData: Tensor, scale: Tensor, offset: Tensor?, target: SIMDTarget? = nil
  ) throws -> (mask: Tensor, nonzeroData: Tensor) {
    try dataMask.withCTensor { m in
      try nonzeroData.withCTensor { d in
        try scale.withCTensor { s in
          try offset.withCTensor { o in
            try CCall.producePair(target: target) { outMask, outValues, maskInfo, valuesInfo, ctx in
              wk_sparse_blockwise_shift_scale(m, d, s, o, outMask, outValues, maskInfo, valuesInfo, ctx)
            }
          }
        }
      }
    }
  }
}
