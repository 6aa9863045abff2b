import CKernels

extension CoreMLOps {
  /// iOS18 `constexpr_blockwise_shift_scale`: out = RN_T(scale · (T(data) − offset)), T the scale
  /// type, with Core ML's rounding steps (docs/ARITHMETIC.md). `scale` (and `offset`) have data's
  /// rank and extents dividing data's.
  /// - Throws: `WeightKernelsError`; `.unsupported` for an fp32 offset with an fp16 scale.
  public static func blockwiseShiftScale(
    data: Tensor, scale: Tensor, offset: Tensor?, target: SIMDTarget? = nil
  ) throws -> Tensor {
    try data.withCTensor { d in
      try scale.withCTensor { s in
        try offset.withCTensor { o in
          try CCall.produce(target: target) { out, info, ctx in
            wk_blockwise_shift_scale(d, s, o, out, info, ctx)
          }
        }
      }
    }
  }
}
