// Internal: a validated iOS18 LUT layout (FORMATS.md §7.1), shared by constexpr_lut_to_dense
// (indices of shape I) and constexpr_lut_to_sparse (the mask's shape S, the non-zeros' dtype).
#ifndef WK_PALETTIZATION_LUT_SPEC_H_
#define WK_PALETTIZATION_LUT_SPEC_H_

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace wk {

// A validated lut_to_dense: indices of shape I (rank K) into a LUT [G0..G(K-1), P, V].
struct LutSpec {
  uint32_t nbits;
  uint32_t rank;
  int64_t index_dims[WK_MAX_RANK];
  int64_t groups[WK_MAX_RANK];
  int64_t vector_size;
  int32_t vector_axis;  // normalised; -1 when V == 1
  bool scalar_output;   // iOS16 with an empty shape: one element, viewed as shape [1]
  int32_t lut_dtype;
  uint32_t elem_bytes;
  uint64_t index_count;
  const uint8_t* indices;
  size_t index_bytes;
  const uint8_t* lut;
};

// Checks lut (dtype, rank K + 2, groups dividing index_dims, 2^n entries) and vector_axis against
// an index tensor of index_dtype and shape index_dims[rank] holding count elements. Fills spec
// except indices and index_bytes.
wk_status CheckLutLayout(int32_t index_dtype, uint32_t rank, const int64_t* index_dims,
                         uint64_t count, const wk_tensor* lut, const int32_t* vector_axis,
                         const char* index_name, wk_context* ctx, LutSpec* spec);

}  // namespace wk

#endif  // WK_PALETTIZATION_LUT_SPEC_H_
