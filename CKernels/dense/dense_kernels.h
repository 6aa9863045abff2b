// Internal interface of the dense kernels (dense_kernels.cc): dense GEMV, the baseline every fused
// kernel must match bit for bit, and constexpr_cast.
#ifndef WK_DENSE_DENSE_KERNELS_H_
#define WK_DENSE_DENSE_KERNELS_H_

#include <cstddef>
#include <cstdint>

#include "gemv/gemv_operands.h"

namespace wk {

struct DensePlan {
  const uint8_t* w;  // borrowed, [rows, cols], fp16 or fp32
  bool w_f16;
  size_t rows;
  size_t cols;
};

void RunDenseGemv(uint64_t target, const DensePlan& plan, const GemvOperands& io);

// Exact fp32 values of fp16 activations (a NaN may come out quiet: no GEMV result can tell).
void RunWidenF16(uint64_t target, const uint16_t* src, size_t count, float* dst);

// constexpr_cast fp16 -> fp32, bit for bit as numpy widens (NaN quiet bit kept).
void RunCastF16ToF32(uint64_t target, const uint16_t* src, size_t count, uint32_t* dst);

}  // namespace wk

#endif  // WK_DENSE_DENSE_KERNELS_H_
