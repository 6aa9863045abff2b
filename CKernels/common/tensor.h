// Internal: validation of wk_tensor / wk_buffer arguments shared by every entry point, so that
// the C ABI, the Swift API (which calls it) and the fuzzers run one set of checks.
#ifndef WK_COMMON_TENSOR_H_
#define WK_COMMON_TENSOR_H_

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace wk {

// Bits per element, or 0 for an unknown code.
uint32_t DTypeBits(int32_t dtype);
bool IsFloatDType(int32_t dtype);
bool IsIndexDType(int32_t dtype);      // uint1/2/3/4/6/8
bool IsQuantizedDType(int32_t dtype);  // int4/uint4/int8/uint8
bool IsSignedDType(int32_t dtype);

// ceil(bits * count / 8); callers have bounded count so that this cannot overflow.
inline uint64_t PackedBytes(int32_t dtype, uint64_t count) {
  return (static_cast<uint64_t>(DTypeBits(dtype)) * count + 7) / 8;
}

// Element counts are capped well below 2^64 / 32 so every byte and bit offset fits in uint64_t.
constexpr uint64_t kMaxElements = uint64_t{1} << 56;

// Checks a tensor: non-null, known dtype, rank <= WK_MAX_RANK, extents >= 0, element count
// <= kMaxElements, data non-null when nbytes > 0, nbytes == PackedBytes. *count receives the
// element count.
wk_status CheckTensor(const wk_tensor* t, const char* name, wk_context* ctx, uint64_t* count);

// Checks an output buffer for `needed` bytes (non-null data when needed > 0).
wk_status CheckOutput(const wk_buffer* out, uint64_t needed, const char* name, wk_context* ctx);

// True when [a, a + an) and [b, b + bn) share a byte.
bool Overlaps(const void* a, size_t an, const void* b, size_t bn);

// WK_ERROR_ALIASING if the output overlaps the tensor (NULL tensors are ignored).
wk_status CheckDisjoint(const wk_buffer* out, const wk_tensor* in, const char* name,
                        wk_context* ctx);

// The outputs of a two-output op (mask and values): both NULL (shape inference: *run = false)
// or both large enough and disjoint from each other and from the `count` inputs (NULL inputs
// are ignored).
wk_status CheckOutputPair(const wk_buffer* out_mask, uint64_t mask_bytes,
                          const wk_buffer* out_values, uint64_t value_bytes,
                          const wk_tensor* const* inputs, const char* const* names, size_t count,
                          wk_context* ctx, bool* run);

// Fills an info with dtype and shape and computes its byte size.
void SetInfo(wk_tensor_info* info, int32_t dtype, uint32_t rank, const int64_t* shape);

uint64_t ShapeCount(uint32_t rank, const int64_t* shape);

}  // namespace wk

#endif  // WK_COMMON_TENSOR_H_
