// C ABI: wk_dense_gemv and wk_cast.
#include <new>

#include "common/targets.h"
#include "common/tensor.h"
#include "dense/dense_kernels.h"

using namespace wk;

extern "C" {

wk_status wk_dense_gemv(const wk_tensor* w, const wk_tensor* x, const wk_buffer* y,
                        int32_t y_dtype, wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  WK_TRY(CheckTensor(w, "w", ctx, nullptr));
  if (!IsFloatDType(w->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "w: dtype %s; fp16 or fp32 expected",
                wk_dtype_name(w->dtype));
  }
  if (w->rank != 2 || w->shape[0] < 1 || w->shape[1] < 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "w: [rows, cols] with rows, cols >= 1 expected");
  }
  DenseGemvArgs args;
  args.w = static_cast<const uint8_t*>(w->data);
  args.w_f16 = w->dtype == WK_DTYPE_FP16;
  args.rows = static_cast<size_t>(w->shape[0]);
  args.cols = static_cast<size_t>(w->shape[1]);
  WK_TRY(CheckGemvOperands(args.rows, args.cols, x, y, y_dtype, w->data, w->nbytes, ctx,
                           &args.io));
  try {
    const DefaultFloatEnvironment env;
    RunDenseGemv(target, args);
  } catch (const std::bad_alloc&) {
    return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "x: fp16 widening scratch allocation failed");
  }
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
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
