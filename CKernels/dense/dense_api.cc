// C ABI: dense matrices and wk_cast.
#include <algorithm>
#include <cstring>

#include "common/targets.h"
#include "common/tensor.h"
#include "dense/dense_kernels.h"
#include "matrix/matrix.h"

using namespace wk;

namespace {

struct DenseMatrix final : wk_matrix {
  DensePlan plan;

  void Gemv(uint64_t target, const GemvOperands& io) const override {
    RunDenseGemv(target, plan, io);
  }

  bool ReadsSmallBatchRows() const override { return true; }

  void Decompress(uint64_t, uint8_t* out, size_t row_begin, size_t row_end) const override {
    const size_t row_bytes = plan.cols * (plan.w_f16 ? 2 : 4);
    std::memcpy(out + row_begin * row_bytes, plan.w + row_begin * row_bytes,
                (row_end - row_begin) * row_bytes);
  }

  wk_status Build(const wk_tensor* w, wk_context* ctx) {
    WK_TRY(CheckTensor(w, "w", ctx, nullptr));
    if (!IsFloatDType(w->dtype)) {
      return Fail(ctx, WK_ERROR_INVALID_DTYPE, "w: dtype %s; fp16 or fp32 expected",
                  wk_dtype_name(w->dtype));
    }
    if (w->rank != 2 || w->shape[0] < 1 || w->shape[1] < 1) {
      return Fail(ctx, WK_ERROR_INVALID_SHAPE, "w: [rows, cols] with rows, cols >= 1 expected");
    }
    plan.w = static_cast<const uint8_t*>(w->data);
    plan.w_f16 = w->dtype == WK_DTYPE_FP16;
    plan.rows = static_cast<size_t>(w->shape[0]);
    plan.cols = static_cast<size_t>(w->shape[1]);
    SetInfo(WK_FORMAT_DENSE, plan.rows, plan.cols, w->dtype, w->dtype, w->nbytes);
    regions[0] = {w->data, w->nbytes, "the weights"};
    return WK_OK;
  }
};

}  // namespace

extern "C" {

wk_status wk_dense_matrix_create(const wk_tensor* w, wk_matrix** matrix, wk_context* ctx) {
  return CreateMatrix<DenseMatrix>(w, matrix, ctx);
}

wk_status wk_cast(const wk_tensor* source, int32_t output_dtype, const wk_buffer* out,
                  wk_tensor_info* info, wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  uint64_t count = 0;
  WK_TRY(CheckTensor(source, "source_val", ctx, &count));
  if (source->dtype != WK_DTYPE_FP16) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "source_val: dtype %s; constexpr_cast takes fp16",
                wk_dtype_name(source->dtype));
  }
  if (output_dtype != WK_DTYPE_FP32) {
    return Fail(ctx, WK_ERROR_INVALID_ARGUMENT,
                "output_dtype: %s; constexpr_cast only produces fp32", wk_dtype_name(output_dtype));
  }
  wk_tensor_info result;
  SetInfo(&result, WK_DTYPE_FP32, source->rank, source->shape);
  if (info != nullptr) *info = result;
  if (out == nullptr) return WK_OK;
  WK_TRY(CheckOutput(out, result.nbytes, "output", ctx));
  WK_TRY(CheckDisjoint(out, source, "source_val", ctx));
  RunCastF16ToF32(target, static_cast<const uint16_t*>(source->data), static_cast<size_t>(count),
                  static_cast<uint32_t*>(out->data));
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

}  // extern "C"
