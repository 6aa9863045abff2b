import CKernels

/// A palettized linear weight [rows, cols] as Core ML stores it (iOS18 `constexpr_lut_to_dense`
/// with rank-2 indices), optionally with the per-channel-scale or quantized-LUT chains of
/// FORMATS.md §7.6, prepared once for fused decompress-GEMV. A value type: copies share one
/// immutable prepared form. GEMV and decompression come from `WeightMatrix`.
public struct PalettizedMatrix: WeightMatrix {
  public let handle: MatrixHandle

  /// Index width n (1, 2, 3, 4, 6 or 8).
  public var bits: Int { Int(handle.info.nbits) }

  /// - Parameters:
  ///   - indices: uint1…uint8 [rows, cols].
  ///   - lut: fp16/fp32/int8/uint8 [Gr, Gc, 2ⁿ, 1]; Gr divides rows, Gc divides cols.
  ///   - lutScale, lutOffset: a `blockwise_shift_scale` applied to the LUT first (Core ML's
  ///     canonical per-channel-scale form, or a quantized LUT): shape [a, b, c, 1].
  ///   - scale: a `blockwise_shift_scale` (no offset) applied to the dense result: [Sr, Sc].
  /// - Throws: `WeightKernelsError` naming the operand at fault; `.unsupported` for vector
  ///   palettization (decompress it instead) or integer weights without a scale.
  /// - Complexity: O(LUT + scales + rows + cols); the indices are copied once, never expanded.
  public init(
    indices: Tensor, lut: Tensor, lutScale: Tensor? = nil, lutOffset: Tensor? = nil,
    scale: Tensor? = nil
  ) throws {
    let copy = OwnedTensor(indices)
    handle = try MatrixHandle(borrowing: [copy]) { matrix in
      try lut.withCTensor { l in
        try lutScale.withCTensor { ls in
          try lutOffset.withCTensor { lo in
            try scale.withCTensor { s in
              try copy.withCTensor { i in
                var desc = wk_lut_matrix_desc(indices: i, lut: l, lut_scale: ls, lut_offset: lo, scale: s)
                try CCall.run(target: nil) { wk_lut_matrix_create(&desc, &matrix, $0) }
              }
            }
          }
        }
      }
    }
  }
}
