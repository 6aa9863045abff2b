import CKernels

/// A pruned linear weight [rows, cols] as Core ML stores it, prepared once for fused
/// expand-GEMV: `constexpr_sparse_to_dense` (uint1 mask + fp16/fp32 non-zeros), the joint
/// sparse + palettized chain `constexpr_lut_to_sparse → sparse_to_dense` (mask + n-bit LUT
/// indices of the non-zeros + LUT), or the joint sparse + quantized chain
/// `constexpr_sparse_blockwise_shift_scale → sparse_to_dense` (mask + integer non-zeros + scale
/// and offset). Per-row offsets into the values are computed here, once. A value type: copies
/// share one immutable prepared form. GEMV and decompression come from `WeightMatrix`.
public struct SparseMatrix: WeightMatrix {
  public let handle: MatrixHandle

  /// Ones of the mask.
  public var nonzeroCount: Int { Int(handle.info.nonzeros) }
  /// LUT index width of a sparse + palettized matrix; nil otherwise.
  public var bits: Int? { handle.info.nbits == 0 ? nil : Int(handle.info.nbits) }
  /// Type of the stored non-zeros: fp16/fp32, uint1…uint8 LUT indices, or int4/uint4/int8/uint8
  /// quantized values.
  public var valueType: DType { handle.valueType }

  /// Sparse, or sparse + palettized.
  /// - Parameters:
  ///   - mask: uint1 [rows, cols], rows and cols ≥ 1.
  ///   - values: fp16/fp32 [D] (D = ones of the mask); with `lut`, the uint1…uint8 LUT indices
  ///     of the non-zeros [D].
  ///   - lut: nil, or fp16/fp32 [Gr, Gc, 2ⁿ, 1] with Gr dividing rows and Gc dividing cols.
  /// - Throws: `WeightKernelsError` naming the operand at fault; `.unsupported` for vector
  ///   palettization (decompress it with `CoreMLOps.lutToSparse` instead).
  /// - Complexity: O(rows · cols / 8); mask and values are copied once, never expanded.
  public init(mask: Tensor, values: Tensor, lut: Tensor? = nil) throws {
    try self.init(mask: mask, values: values, lut: lut, scale: nil, offset: nil)
  }

  /// Sparse + quantized: each non-zero dequantized with the scale and offset block of its
  /// position, as `constexpr_sparse_blockwise_shift_scale` does.
  /// - Parameters:
  ///   - mask: uint1 [rows, cols], rows and cols ≥ 1.
  ///   - values: int4/uint4/int8/uint8 [D] (D = ones of the mask).
  ///   - scale: fp16/fp32 [Sr, Sc] dividing [rows, cols].
  ///   - offset: nil, or [Sr, Sc] of the values' dtype, or fp16/fp32.
  /// - Throws: `WeightKernelsError` naming the operand at fault; `.unsupported` for an fp32
  ///   offset with an fp16 scale.
  /// - Complexity: O(rows · cols / 8 + Sr · Sc); mask and values are copied once.
  public init(mask: Tensor, values: Tensor, scale: Tensor, offset: Tensor? = nil) throws {
    try self.init(mask: mask, values: values, lut: nil, scale: scale, offset: offset)
  }

  private init(mask: Tensor, values: Tensor, lut: Tensor?, scale: Tensor?, offset: Tensor?) throws {
    let ownedMask = OwnedTensor(mask)
    let ownedValues = OwnedTensor(values)
    handle = try MatrixHandle(borrowing: [ownedMask, ownedValues]) { matrix in
      try ownedMask.withCTensor { m in
        try ownedValues.withCTensor { v in
          try lut.withCTensor { l in
            try scale.withCTensor { s in
              try offset.withCTensor { o in
                var desc = wk_sparse_matrix_desc(mask: m, values: v, lut: l, scale: s, offset: o)
                try CCall.run(target: nil) { wk_sparse_matrix_create(&desc, &matrix, $0) }
              }
            }
          }
        }
      }
    }
  }
}
