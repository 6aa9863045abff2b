import CKernels

extension CoreMLOps {
  /// `constexpr_cast` from fp16 to `outputType` (only `.fp32` exists): exact widening; NaNs keep
  /// payload and quiet bit.
  public static func cast(_ source: Tensor, to outputType: DType, target: SIMDTarget? = nil) throws
    -> Tensor
  {
    try source.withCTensor { s in
      try CCall.produce(target: target) { out, info, ctx in
        wk_cast(s, outputType.rawValue, out, info, ctx)
      }
    }
  }
}
