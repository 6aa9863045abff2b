// Internal: the prepared form of a linearly quantized [rows, cols] weight (constexpr_blockwise_
// shift_scale on int4/uint4/int8/uint8 data) for the fused dequantize-GEMV (quant_matrix-inl.h).
// Built and validated by quant_api.cc.
#ifndef WK_QUANTIZATION_QUANT_PLAN_H_
#define WK_QUANTIZATION_QUANT_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gemv/gemv_operands.h"
#include "quantization/bss_spec.h"
#include "quantization/quant_scale_grid.h"

namespace wk {

struct QuantMatrixPlan {
  const uint8_t* data;  // borrowed, [rows, cols] packed
  size_t data_bytes;
  int32_t data_dtype;   // int4, uint4, int8, uint8
  size_t rows;
  size_t cols;
  QuantScaleGrid grid;
  int32_t weight_dtype;
  uint64_t compressed_bytes;
  // W8A8 (int8 data, no offset, one scale per row): sum of each row's weights, for the unsigned
  // activations of VNNI's u8 x s8 dot product.
  bool w8a8_eligible;
  std::vector<int32_t> row_sums;
};

// Whether the product may stage the weights as binary16 (QuantMatrixDecoder::F16Steps, for the
// nibble types; the driver then splits x for it): fp16 scales, whole bytes per step.
inline bool QuantHalfWeights(const QuantMatrixPlan& plan) {
  return (plan.data_dtype == WK_DTYPE_INT4 || plan.data_dtype == WK_DTYPE_UINT4) &&
         plan.grid.round_f16 && plan.cols % 2 == 0;
}

// Longest row whose int8 x int8 dot product cannot overflow int32 (|q_w q_x| <= 128 * 127).
constexpr uint64_t kW8A8MaxCols = uint64_t{1} << 17;

// Fused GEMV: int8/uint8 data (quant_gemv_bytes.cc) and int4/uint4 (quant_gemv_nibbles.cc).
void RunQuantMatrixGemvBytes(uint64_t target, const QuantMatrixPlan& plan, const GemvOperands& io);
void RunQuantMatrixGemvNibbles(uint64_t target, const QuantMatrixPlan& plan, const GemvOperands& io);

// Rows [r0, r1) of the weights in weight dtype into out (all rows), bit for bit
// constexpr_blockwise_shift_scale (quant_decompress.cc).
void RunQuantMatrixDecompress(uint64_t target, const QuantMatrixPlan& plan, uint8_t* out, size_t r0,
                              size_t r1);

// W8A8 activations, quantized once per call (docs/ARITHMETIC.md §3 steps 1-2), per batch row b:
// q at xq + b * stride (int16, +0 up to stride, a whole number of vectors), the same biased to
// uint8 (q + 128) at xu + b * stride for VNNI, the scale s_x, and whether the row is finite.
struct W8A8Activations {
  const int16_t* xq;
  const uint8_t* xu;
  size_t stride;
  const float* sx;
  const uint8_t* finite;
};

// Quantizes `batch` fp32 rows of `cols` (row b at x + b * cols) into per-thread scratch that
// stays valid until the calling thread's next call. May throw std::bad_alloc.
void QuantizeW8A8Activations(const float* x, size_t cols, size_t batch, W8A8Activations* out);

// W8A8 over io's rows: integer dot products, rescaled in fp32 (docs/ARITHMETIC.md §3).
// Requires plan.w8a8_eligible and cols <= kW8A8MaxCols.
void RunQuantMatrixGemvW8A8(uint64_t target, const QuantMatrixPlan& plan, const W8A8Activations& a,
                            const GemvOperands& io);

}  // namespace wk

#endif  // WK_QUANTIZATION_QUANT_PLAN_H_
