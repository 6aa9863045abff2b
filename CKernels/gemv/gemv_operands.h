// Internal: validation of the activation and output operands every GEMV shares.
#ifndef WK_GEMV_GEMV_OPERANDS_H_
#define WK_GEMV_GEMV_OPERANDS_H_

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace wk {

struct GemvOperands {
  const uint8_t* x;
  bool x_f16;
  size_t batch;
  uint8_t* y;
  bool y_f16;
};

// x: fp16/fp32 [cols] or [batch, cols]; y: at least batch * rows elements of y_dtype (fp16/fp32),
// disjoint from x and from the weight bytes [weights, weights + weight_bytes).
wk_status CheckGemvOperands(uint64_t rows, uint64_t cols, const wk_tensor* x, const wk_buffer* y,
                            int32_t y_dtype, const void* weights, size_t weight_bytes,
                            wk_context* ctx, GemvOperands* out);

}  // namespace wk

#endif  // WK_GEMV_GEMV_OPERANDS_H_
