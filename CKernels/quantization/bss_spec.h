// Internal: constexpr_blockwise_shift_scale (FORMATS.md §7.3) — the one validator and the exact
// element arithmetic, shared by wk_blockwise_shift_scale and by the palettization chains that
// scale a LUT or its dense output.
#ifndef WK_QUANTIZATION_BSS_SPEC_H_
#define WK_QUANTIZATION_BSS_SPEC_H_

#include <cstddef>
#include <cstdint>

#include "common/float16.h"
#include "common/status.h"

namespace wk {

// A validated blockwise shift-scale over data of shape dims[rank].
struct BssSpec {
  uint32_t rank;
  int64_t dims[WK_MAX_RANK];
  int64_t scale_dims[WK_MAX_RANK];
  int64_t block[WK_MAX_RANK];  // dims / scale_dims
  int32_t data_dtype;
  int32_t scale_dtype;   // = output dtype
  int32_t offset_dtype;  // 0 when there is no offset
  const uint8_t* scale;
  const uint8_t* offset;
};

// Validates scale/offset against data of the given dtype and shape (the data tensor itself is
// checked by the caller). `name` prefixes messages ("lut_scale", "scale"...).
wk_status CheckBss(int32_t data_dtype, uint32_t rank, const int64_t* dims, const wk_tensor* scale,
                   const wk_tensor* offset, const char* name, wk_context* ctx, BssSpec* spec);

// One element: out = RN_T(scale * (T(x) - offset)) with every rounding step of §7.3 and the NaN
// rule of docs/ARITHMETIC.md. `x` is the raw element: the integer value (sign-extended) for
// integer dtypes, the bit pattern for floats; likewise `offset`. Returns T's bit pattern.
uint32_t BssElement(int32_t data_dtype, uint32_t x, int32_t scale_dtype, uint32_t scale,
                    int32_t offset_dtype, uint32_t offset);

// fp32 data narrowed to an fp16 scale's type as numpy narrows it: RN16, except that a NaN keeps
// its quiet bit (a signalling NaN whose payload truncates to 0 gets payload 1).
inline uint16_t NarrowF16LikeNumpy(uint32_t bits) {
  if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
    uint16_t h = static_cast<uint16_t>(((bits >> 16) & 0x8000u) | 0x7C00u | ((bits >> 13) & 0x3FFu));
    if ((h & 0x3FFu) == 0) h |= 1;
    return h;
  }
  return F32ToF16(BitsFloat(bits));
}

// Reads element i of a tensor of an integer or float dtype in the raw form BssElement takes.
uint32_t ReadRawElement(const uint8_t* data, int32_t dtype, uint64_t i);

// Flat index into the scale tensor of the element at flat index i of the data.
uint64_t BssScaleIndex(const BssSpec& spec, uint64_t i);

// BssElement of raw data element x with the scale and offset at flat index s of the scale tensor.
uint32_t BssElementAt(const BssSpec& spec, uint32_t x, uint64_t s);

// The whole op: out = every one of the `count` data elements at x, as spec.scale_dtype.
void BssApply(const BssSpec& spec, const uint8_t* x, uint64_t count, uint8_t* out);

// Rows [row_begin, row_end) of the op (a row: the data's last axis) into out, which holds all rows.
void BssApplyRows(const BssSpec& spec, const uint8_t* x, uint64_t row_begin, uint64_t row_end,
                  uint8_t* out);

}  // namespace wk

#endif  // WK_QUANTIZATION_BSS_SPEC_H_
