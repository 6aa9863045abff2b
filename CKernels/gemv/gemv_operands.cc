#include "gemv/gemv_operands.h"

#include "common/tensor.h"

namespace wk {

void SplitActivations(const float* x, size_t cols, float* out) {
  const size_t full = cols / 16 * 16;
  for (size_t c = 0; c < full; c += 16) {
    for (size_t p = 0; p < 16; ++p) out[c + p] = x[c + SplitColumn(p)];
  }
  for (size_t i = full; i < cols; ++i) out[i] = x[i];
}

wk_status CheckGemvOperands(uint64_t rows, uint64_t cols, const wk_tensor* x, const wk_buffer* y,
                            int32_t y_dtype, wk_context* ctx, GemvRequest* out) {
  uint64_t count = 0;
  WK_TRY(CheckTensor(x, "x", ctx, &count));
  if (!IsFloatDType(x->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "x: dtype %s; fp16 or fp32 expected",
                wk_dtype_name(x->dtype));
  }
  if (x->rank != 1 && x->rank != 2) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "x: rank %u; [cols] or [batch, cols] expected",
                x->rank);
  }
  const uint64_t x_cols = static_cast<uint64_t>(x->shape[x->rank - 1]);
  if (x_cols != cols) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "x: %llu columns, the matrix has %llu",
                static_cast<unsigned long long>(x_cols), static_cast<unsigned long long>(cols));
  }
  const uint64_t batch = x->rank == 2 ? static_cast<uint64_t>(x->shape[0]) : 1;
  if (!IsFloatDType(y_dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "y: dtype %s; fp16 or fp32 expected",
                wk_dtype_name(y_dtype));
  }
  // rows and batch are each below 2^56, but their product may not be.
  if (batch != 0 && rows > kMaxElements / batch) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "y: batch * rows overflows");
  }
  WK_TRY(CheckOutput(y, PackedBytes(y_dtype, batch * rows), "y", ctx));
  if (Overlaps(y->data, y->nbytes, x->data, x->nbytes)) {
    return Fail(ctx, WK_ERROR_ALIASING, "y overlaps x");
  }
  out->x = static_cast<const uint8_t*>(x->data);
  out->x_f16 = x->dtype == WK_DTYPE_FP16;
  out->batch = static_cast<size_t>(batch);
  out->y = static_cast<uint8_t*>(y->data);
  out->y_f16 = y_dtype == WK_DTYPE_FP16;
  return WK_OK;
}

}  // namespace wk
