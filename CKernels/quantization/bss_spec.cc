#include "quantization/bss_spec.h"

#include <cmath>
#include <cstring>

#include "common/tensor.h"

namespace wk {
namespace {

bool IsBssDataDType(int32_t dtype) {
  switch (dtype) {
    case WK_DTYPE_INT4:
    case WK_DTYPE_UINT4:
    case WK_DTYPE_INT8:
    case WK_DTYPE_UINT8:
    case WK_DTYPE_FP16:
    case WK_DTYPE_FP32: return true;
    default: return false;
  }
}

float Quiet(float nan) { return BitsFloat(FloatBits(nan) | 0x00400000u); }

float ToFloat(int32_t dtype, uint32_t raw) {
  if (dtype == WK_DTYPE_FP16) return F16ToF32(static_cast<uint16_t>(raw));
  if (dtype == WK_DTYPE_FP32) return BitsFloat(raw);
  return static_cast<float>(static_cast<int32_t>(raw));
}

}  // namespace

wk_status CheckBss(int32_t data_dtype, uint32_t rank, const int64_t* dims, const wk_tensor* scale,
                   const wk_tensor* offset, const char* name, wk_context* ctx, BssSpec* spec) {
  if (!IsBssDataDType(data_dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "%s: data dtype %s; int4/uint4/int8/uint8/fp16/fp32 expected",
                name, wk_dtype_name(data_dtype));
  }
  if (rank < 1) return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: data must have rank >= 1", name);
  WK_TRY(CheckTensor(scale, name, ctx, nullptr));
  if (!IsFloatDType(scale->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "%s: scale dtype %s; fp16 or fp32 expected", name,
                wk_dtype_name(scale->dtype));
  }
  if (scale->rank != rank) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: scale rank %u differs from data rank %u", name,
                scale->rank, rank);
  }
  spec->rank = rank;
  for (uint32_t d = 0; d < rank; ++d) {
    const int64_t s = scale->shape[d];
    if (s < 1 || dims[d] % s != 0) {
      return Fail(ctx, WK_ERROR_INVALID_SHAPE,
                  "%s: scale extent %lld does not divide data extent %lld on axis %u", name,
                  static_cast<long long>(s), static_cast<long long>(dims[d]), d);
    }
    spec->dims[d] = dims[d];
    spec->scale_dims[d] = s;
    spec->block[d] = dims[d] / s;
  }
  spec->data_dtype = data_dtype;
  spec->scale_dtype = scale->dtype;
  spec->scale = static_cast<const uint8_t*>(scale->data);
  spec->offset_dtype = 0;
  spec->offset = nullptr;
  if (offset != nullptr) {
    WK_TRY(CheckTensor(offset, name, ctx, nullptr));
    if (offset->rank != rank) {
      return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: offset shape differs from scale shape", name);
    }
    for (uint32_t d = 0; d < rank; ++d) {
      if (offset->shape[d] != scale->shape[d]) {
        return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: offset shape differs from scale shape", name);
      }
    }
    if (!IsFloatDType(offset->dtype) && offset->dtype != data_dtype) {
      return Fail(ctx, WK_ERROR_INVALID_DTYPE,
                  "%s: integer offset dtype %s must equal the data dtype %s", name,
                  wk_dtype_name(offset->dtype), wk_dtype_name(data_dtype));
    }
    if (offset->dtype == WK_DTYPE_FP32 && scale->dtype == WK_DTYPE_FP16) {
      return Fail(ctx, WK_ERROR_UNSUPPORTED,
                  "%s: an fp32 offset with an fp16 scale has no defined output type in Core ML",
                  name);
    }
    spec->offset_dtype = offset->dtype;
    spec->offset = static_cast<const uint8_t*>(offset->data);
  }
  return WK_OK;
}

uint32_t BssElement(int32_t data_dtype, uint32_t x, int32_t scale_dtype, uint32_t scale,
                    int32_t offset_dtype, uint32_t offset) {
  const bool t16 = scale_dtype == WK_DTYPE_FP16;
  // x' = T(x): exact for integers and for widening; fp32 data with an fp16 scale rounds.
  float xt = (data_dtype == WK_DTYPE_FP32 && t16) ? F16ToF32(NarrowF16LikeNumpy(x))
                                                  : ToFloat(data_dtype, x);
  float y = xt;
  if (offset_dtype != 0) {
    if (IsFloatDType(offset_dtype)) {
      // Rounded to the wider of T and the offset type (T, since fp32 offsets need fp32 T).
      float d = xt - ToFloat(offset_dtype, offset);
      if (std::isnan(xt)) d = Quiet(xt);
      y = t16 ? F16ToF32(F32ToF16(d)) : d;
    } else {
      y = xt - ToFloat(offset_dtype, offset);  // exact: |x - offset| <= 510
    }
  }
  float r = ToFloat(scale_dtype, scale) * y;
  if (std::isnan(y)) r = Quiet(y);
  return t16 ? F32ToF16(r) : FloatBits(r);
}

uint32_t ReadRawElement(const uint8_t* data, int32_t dtype, uint64_t i) {
  switch (dtype) {
    case WK_DTYPE_INT4:
    case WK_DTYPE_UINT4: {
      const uint32_t nibble = (data[i / 2] >> (4 * (i % 2))) & 0xFu;
      if (dtype == WK_DTYPE_INT4 && (nibble & 8u)) return nibble | 0xFFFFFFF0u;
      return nibble;
    }
    case WK_DTYPE_INT8: return static_cast<uint32_t>(static_cast<int32_t>(static_cast<int8_t>(data[i])));
    case WK_DTYPE_UINT8: return data[i];
    case WK_DTYPE_FP16: {
      uint16_t h;
      std::memcpy(&h, data + 2 * i, 2);
      return h;
    }
    default: {
      uint32_t u;
      std::memcpy(&u, data + 4 * i, 4);
      return u;
    }
  }
}

uint64_t BssScaleIndex(const BssSpec& spec, uint64_t i) {
  uint64_t index = 0;
  uint64_t stride = 1;
  for (int d = static_cast<int>(spec.rank) - 1; d >= 0; --d) {
    const uint64_t extent = static_cast<uint64_t>(spec.dims[d]);
    const uint64_t coordinate = extent == 0 ? 0 : i % extent;
    i = extent == 0 ? 0 : i / extent;
    index += (coordinate / static_cast<uint64_t>(spec.block[d])) * stride;
    stride *= static_cast<uint64_t>(spec.scale_dims[d]);
  }
  return index;
}

uint32_t BssElementAt(const BssSpec& spec, uint32_t x, uint64_t s) {
  const uint32_t offset = spec.offset_dtype != 0 ? ReadRawElement(spec.offset, spec.offset_dtype, s) : 0;
  return BssElement(spec.data_dtype, x, spec.scale_dtype, ReadRawElement(spec.scale, spec.scale_dtype, s),
                    spec.offset_dtype, offset);
}

void BssApply(const BssSpec& spec, const uint8_t* x, uint64_t count, uint8_t* out) {
  const uint64_t inner = static_cast<uint64_t>(spec.dims[spec.rank - 1]);
  if (inner != 0) BssApplyRows(spec, x, 0, count / inner, out);
}

void BssApplyRows(const BssSpec& spec, const uint8_t* x, uint64_t row_begin, uint64_t row_end,
                  uint8_t* out) {
  const size_t out_bytes = spec.scale_dtype == WK_DTYPE_FP16 ? 2 : 4;
  const uint64_t inner = static_cast<uint64_t>(spec.dims[spec.rank - 1]);
  const uint64_t block = static_cast<uint64_t>(spec.block[spec.rank - 1]);
  for (uint64_t row = row_begin; row < row_end; ++row) {
    // One scale row per data row; along the last axis the scale advances every `block` elements.
    const uint64_t first = row * inner;
    const uint64_t base = BssScaleIndex(spec, first);
    for (uint64_t k = 0; k < inner; ++k) {
      const uint32_t r = BssElementAt(spec, ReadRawElement(x, spec.data_dtype, first + k), base + k / block);
      std::memcpy(out + (first + k) * out_bytes, &r, out_bytes);
    }
  }
}

}  // namespace wk
