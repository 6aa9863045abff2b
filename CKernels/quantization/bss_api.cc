// C ABI: wk_blockwise_shift_scale.
#include "common/targets.h"
#include "common/tensor.h"
#include "quantization/bss_spec.h"

using namespace wk;

extern "C" {

wk_status wk_blockwise_shift_scale(const wk_tensor* data, const wk_tensor* scale,
                                   const wk_tensor* offset, const wk_buffer* out,
                                   wk_tensor_info* info, wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  uint64_t count = 0;
  WK_TRY(CheckTensor(data, "data", ctx, &count));
  BssSpec spec;
  WK_TRY(CheckBss(data->dtype, data->rank, data->shape, scale, offset, "scale", ctx, &spec));
  wk_tensor_info result;
  SetInfo(&result, spec.scale_dtype, data->rank, data->shape);
  if (info != nullptr) *info = result;
  if (out == nullptr) return WK_OK;
  WK_TRY(CheckOutput(out, result.nbytes, "output", ctx));
  WK_TRY(CheckDisjoint(out, data, "data", ctx));
  WK_TRY(CheckDisjoint(out, scale, "scale", ctx));
  WK_TRY(CheckDisjoint(out, offset, "offset", ctx));
  const DefaultFloatEnvironment env;
  BssApply(spec, static_cast<const uint8_t*>(data->data), count, static_cast<uint8_t*>(out->data));
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

}  // extern "C"
