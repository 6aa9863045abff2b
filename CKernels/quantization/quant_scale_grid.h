// Internal: the scales and offsets of a blockwise_shift_scale over a [rows, cols] weight, in the
// form the fused dequantize decoders read (quant_matrix-inl.h). Shared by dense quantized
// matrices (quant_plan.h) and sparse + quantized ones (sparsity/sparse_plan.h).
#ifndef WK_QUANTIZATION_QUANT_SCALE_GRID_H_
#define WK_QUANTIZATION_QUANT_SCALE_GRID_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "quantization/bss_spec.h"

namespace wk {

// weight[r, k] = RN_T(s * y), y = T(q) - o (rounded to T first when o is a float and T is fp16),
// with s, o the scale and offset of (r, k)'s block. Every value fits fp32 exactly, and every fp32
// step rounds exactly as Core ML's (FORMATS.md §7.3, docs/ARITHMETIC.md).
struct QuantScaleGrid {
  bool round_f16;         // T = fp16: weights are RN16 of the fp32 product
  bool round_difference;  // fp16 T with a float offset: y is RN16 first
  size_t scale_cols;      // Sc
  size_t rows_per_block;  // rows / Sr
  std::vector<float> scale;   // [Sr][Sc], exact values
  std::vector<float> offset;  // [Sr][Sc], exact values (0 without offset)
  bool zero_offset;           // every offset is +-0 (or there is none): y = T(q)
  bool finite_scale;          // every scale is finite
  // Blocks that start on chunk boundaries take one scale per 16-column chunk; others, per lane.
  bool chunk_uniform;
  std::vector<uint32_t> chunk_block;  // [ceil(cols / 16)]
  std::vector<int32_t> lane_block;    // [16 ceil(cols / 16)], per-lane blocks
};

// The grid of a validated 2-D spec (spec.rank == 2) over [rows, cols]: it keeps no pointer into
// the caller's scale and offset. Throws std::bad_alloc.
void BuildQuantScaleGrid(const BssSpec& spec, size_t rows, size_t cols, QuantScaleGrid* grid);

}  // namespace wk

#endif  // WK_QUANTIZATION_QUANT_SCALE_GRID_H_
