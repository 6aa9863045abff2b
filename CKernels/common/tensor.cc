#include "common/tensor.h"

#include <cstdint>

namespace wk {

uint32_t DTypeBits(int32_t dtype) {
  switch (dtype) {
    case WK_DTYPE_UINT1: return 1;
    case WK_DTYPE_UINT2: return 2;
    case WK_DTYPE_UINT3: return 3;
    case WK_DTYPE_INT4:
    case WK_DTYPE_UINT4: return 4;
    case WK_DTYPE_UINT6: return 6;
    case WK_DTYPE_INT8:
    case WK_DTYPE_UINT8: return 8;
    case WK_DTYPE_FP16:
    case WK_DTYPE_INT16:
    case WK_DTYPE_UINT16: return 16;
    case WK_DTYPE_FP32:
    case WK_DTYPE_INT32:
    case WK_DTYPE_UINT32: return 32;
    default: return 0;
  }
}

bool IsFloatDType(int32_t dtype) { return dtype == WK_DTYPE_FP16 || dtype == WK_DTYPE_FP32; }

bool IsQuantizedDType(int32_t dtype) {
  return dtype == WK_DTYPE_INT4 || dtype == WK_DTYPE_UINT4 || dtype == WK_DTYPE_INT8 ||
         dtype == WK_DTYPE_UINT8;
}

bool IsIndexDType(int32_t dtype) {
  switch (dtype) {
    case WK_DTYPE_UINT1:
    case WK_DTYPE_UINT2:
    case WK_DTYPE_UINT3:
    case WK_DTYPE_UINT4:
    case WK_DTYPE_UINT6:
    case WK_DTYPE_UINT8: return true;
    default: return false;
  }
}

bool IsSignedDType(int32_t dtype) {
  return dtype == WK_DTYPE_INT4 || dtype == WK_DTYPE_INT8 || dtype == WK_DTYPE_INT16 ||
         dtype == WK_DTYPE_INT32;
}

uint64_t ShapeCount(uint32_t rank, const int64_t* shape) {
  uint64_t count = 1;
  for (uint32_t d = 0; d < rank; ++d) count *= static_cast<uint64_t>(shape[d]);
  return count;
}

wk_status CheckTensor(const wk_tensor* t, const char* name, wk_context* ctx, uint64_t* count) {
  if (t == nullptr) return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "%s: tensor is NULL", name);
  if (DTypeBits(t->dtype) == 0) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "%s: unknown dtype code %d", name, t->dtype);
  }
  if (t->rank > WK_MAX_RANK) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: rank %u exceeds %d", name, t->rank,
                WK_MAX_RANK);
  }
  uint64_t n = 1;
  for (uint32_t d = 0; d < t->rank; ++d) {
    const int64_t extent = t->shape[d];
    if (extent < 0) {
      return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: extent %lld of axis %u is negative", name,
                  static_cast<long long>(extent), d);
    }
    if (extent != 0 && n > kMaxElements / static_cast<uint64_t>(extent)) {
      return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: element count overflows", name);
    }
    n *= static_cast<uint64_t>(extent);
  }
  const uint64_t expected = PackedBytes(t->dtype, n);
  if (t->nbytes != expected) {
    return Fail(ctx, WK_ERROR_SIZE_MISMATCH, "%s: %s with %llu elements needs %llu bytes, got %zu",
                name, wk_dtype_name(t->dtype), static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(expected), t->nbytes);
  }
  if (t->nbytes > 0 && t->data == nullptr) {
    return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "%s: data is NULL", name);
  }
  if (count != nullptr) *count = n;
  return WK_OK;
}

wk_status CheckOutput(const wk_buffer* out, uint64_t needed, const char* name, wk_context* ctx) {
  if (out == nullptr) return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "%s: buffer is NULL", name);
  if (out->nbytes < needed) {
    return Fail(ctx, WK_ERROR_SIZE_MISMATCH, "%s: needs %llu bytes, buffer has %zu", name,
                static_cast<unsigned long long>(needed), out->nbytes);
  }
  if (needed > 0 && out->data == nullptr) {
    return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "%s: data is NULL", name);
  }
  return WK_OK;
}

bool Overlaps(const void* a, size_t an, const void* b, size_t bn) {
  if (an == 0 || bn == 0 || a == nullptr || b == nullptr) return false;
  const uintptr_t pa = reinterpret_cast<uintptr_t>(a);
  const uintptr_t pb = reinterpret_cast<uintptr_t>(b);
  return pa < pb + bn && pb < pa + an;
}

wk_status CheckDisjoint(const wk_buffer* out, const wk_tensor* in, const char* name,
                        wk_context* ctx) {
  if (in == nullptr) return WK_OK;
  if (Overlaps(out->data, out->nbytes, in->data, in->nbytes)) {
    return Fail(ctx, WK_ERROR_ALIASING, "output overlaps %s", name);
  }
  return WK_OK;
}

void SetInfo(wk_tensor_info* info, int32_t dtype, uint32_t rank, const int64_t* shape) {
  info->dtype = dtype;
  info->rank = rank;
  for (uint32_t d = 0; d < WK_MAX_RANK; ++d) info->shape[d] = d < rank ? shape[d] : 0;
  info->nbytes = static_cast<size_t>(PackedBytes(dtype, ShapeCount(rank, shape)));
}

wk_status CheckOutputPair(const wk_buffer* out_mask, uint64_t mask_bytes,
                          const wk_buffer* out_values, uint64_t value_bytes,
                          const wk_tensor* const* inputs, const char* const* names, size_t count,
                          wk_context* ctx, bool* run) {
  *run = false;
  if (out_mask == nullptr && out_values == nullptr) return WK_OK;
  if (out_mask == nullptr || out_values == nullptr) {
    return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "out_mask and out_values: both or neither");
  }
  WK_TRY(CheckOutput(out_mask, mask_bytes, "out_mask", ctx));
  WK_TRY(CheckOutput(out_values, value_bytes, "out_values", ctx));
  for (size_t i = 0; i < count; ++i) {
    WK_TRY(CheckDisjoint(out_mask, inputs[i], names[i], ctx));
    WK_TRY(CheckDisjoint(out_values, inputs[i], names[i], ctx));
  }
  if (Overlaps(out_mask->data, mask_bytes, out_values->data, value_bytes)) {
    return Fail(ctx, WK_ERROR_ALIASING, "out_mask overlaps out_values");
  }
  *run = true;
  return WK_OK;
}

}  // namespace wk

extern "C" {

uint32_t wk_dtype_bits(int32_t dtype) { return wk::DTypeBits(dtype); }

const char* wk_dtype_name(int32_t dtype) {
  switch (dtype) {
    case WK_DTYPE_FP16: return "fp16";
    case WK_DTYPE_FP32: return "fp32";
    case WK_DTYPE_UINT8: return "uint8";
    case WK_DTYPE_INT8: return "int8";
    case WK_DTYPE_INT16: return "int16";
    case WK_DTYPE_UINT16: return "uint16";
    case WK_DTYPE_INT4: return "int4";
    case WK_DTYPE_UINT1: return "uint1";
    case WK_DTYPE_UINT2: return "uint2";
    case WK_DTYPE_UINT4: return "uint4";
    case WK_DTYPE_UINT3: return "uint3";
    case WK_DTYPE_UINT6: return "uint6";
    case WK_DTYPE_INT32: return "int32";
    case WK_DTYPE_UINT32: return "uint32";
    default: return "unknown";
  }
}

}  // extern "C"
