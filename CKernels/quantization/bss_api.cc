// C ABI: wk_blockwise_shift_scale.
#include <cstring>

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
  const uint8_t* x = static_cast<const uint8_t*>(data->data);
  uint8_t* y = static_cast<uint8_t*>(out->data);
  const size_t out_bytes = spec.scale_dtype == WK_DTYPE_FP16 ? 2 : 4;
  const uint64_t inner = static_cast<uint64_t>(spec.dims[spec.rank - 1]);
  const uint64_t block = static_cast<uint64_t>(spec.block[spec.rank - 1]);
  for (uint64_t row = 0; inner != 0 && row < count / inner; ++row) {
    // One scale row per data row; along the last axis the scale advances every `block` elements.
    const uint64_t first = row * inner;
    const uint64_t base = BssScaleIndex(spec, first);
    for (uint64_t k = 0; k < inner; ++k) {
      const uint64_t s = base + k / block;
      const uint32_t offset_raw =
          spec.offset_dtype != 0 ? ReadRawElement(spec.offset, spec.offset_dtype, s) : 0;
      const uint32_t r = BssElement(spec.data_dtype, ReadRawElement(x, spec.data_dtype, first + k),
                                    spec.scale_dtype, ReadRawElement(spec.scale, spec.scale_dtype, s),
                                    spec.offset_dtype, offset_raw);
      std::memcpy(y + (first + k) * out_bytes, &r, out_bytes);
    }
  }
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

}  // extern "C"
