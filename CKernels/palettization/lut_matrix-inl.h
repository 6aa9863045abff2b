// Per-target decoder of a prepared palettized matrix (LutMatrixPlan): fp32 weight values per
// 16-column chunk, the seam that the fused GEMV (lut_gemv.cc) and scaled decompression
// (lut_decompress.cc) share.
#if defined(WK_PALETTIZATION_LUT_MATRIX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WK_PALETTIZATION_LUT_MATRIX_INL_H_
#undef WK_PALETTIZATION_LUT_MATRIX_INL_H_
#else
#define WK_PALETTIZATION_LUT_MATRIX_INL_H_
#endif

#include <algorithm>
#include <cstring>

#include "common/simd-inl.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "palettization/lut_decode-inl.h"
#include "palettization/lut_plan.h"

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// Weights of a palettized matrix as fp32 values: table lookup, then the optional in-register
// scale W = RN_T(value * s). kScaled = false compiles the scale out; with kScaled the per-row /
// per-column choice is a predictable branch per chunk.
template <int kBits, bool kScaled>
struct LutMatrixDecoder {
  const LutMatrixPlan& plan;
  size_t row_bits;

  explicit LutMatrixDecoder(const LutMatrixPlan& p)
      : plan(p), row_bits(p.cols * static_cast<size_t>(kBits)) {}

  // Rows whose full chunks start on a byte and may read 16 bytes: all but the last few rows,
  // when a row's bits are a whole number of bytes.
  size_t FastRows() const {
    if (row_bits % 8 != 0) return 0;
    const size_t row_bytes = row_bits / 8;
    const size_t full = plan.cols / kChunk;
    if (full == 0) return plan.rows;
    const size_t last_chunk = (full - 1) * 2 * kBits;
    if (plan.index_bytes < last_chunk + 16) return 0;
    return std::min(plan.rows, (plan.index_bytes - last_chunk - 16) / row_bytes + 1);
  }

  HWY_INLINE void Prefetch(size_t r, size_t c) const {
    // Several rows stream at once, which the hardware prefetcher does not follow well.
    hwy::Prefetch(plan.indices + (r * row_bits + c * kChunk * kBits) / 8 + 512);
  }

  template <bool kSafe>
  WK_DECODE_INLINE void Decode(size_t r, size_t c, VF* w) const {
    VU idx[kVecs];
    const uint64_t bit = uint64_t{r} * row_bits + uint64_t{c} * kChunk * kBits;
    if constexpr (kSafe) {
      DecodeIndicesSafe<kBits>(plan.indices, plan.index_bytes, bit, idx);
    } else {
      DecodeIndices<kBits>(plan.indices + (bit >> 3), idx);
    }
    Lookups(r, c, idx, w);
    Scale<false>(r, c, w);
  }

  WK_DECODE_INLINE void DecodeTail(size_t r, size_t c, VF* w) const { Decode<true>(r, c, w); }

  // Weights exactly as decompression defines them: the NaN rule applies to the scaling (the
  // GEMV skips it, since it canonicalises NaN outputs anyway).
  WK_DECODE_INLINE void DecodeExact(size_t r, size_t c, VF* w) const {
    VU idx[kVecs];
    const uint64_t bit = uint64_t{r} * row_bits + uint64_t{c} * kChunk * kBits;
    DecodeIndicesSafe<kBits>(plan.indices, plan.index_bytes, bit, idx);
    Lookups(r, c, idx, w);
    Scale<true>(r, c, w);
  }

 private:
  HWY_INLINE void Lookups(size_t r, size_t c, const VU* idx, VF* w) const {
    const DF df;
    const LutRowInfo& row = plan.row_info[r];
    if (plan.chunk_aligned_groups) {
      const uint32_t* table =
          plan.value_tables.data() + row.table_offset + plan.chunk_table_offset[c];
      for (size_t j = 0; j < kVecs; ++j) w[j] = hn::BitCast(df, Lookup<kBits>(table, idx[j]));
    } else {
      // A table per lane: entry + the lane's group offset, gathered from all tables at once.
      const DU du;
      const DI di;
      const hn::Vec<DI> row_offset = hn::Set(di, static_cast<int32_t>(row.table_offset));
      for (size_t j = 0; j < kVecs; ++j) {
        const VU entry = hn::And(idx[j], hn::Set(du, (1u << kBits) - 1));
        const hn::Vec<DI> offset = hn::Add(
            row_offset, hn::LoadU(di, plan.lane_table_offset.data() + c * kChunk + j * kLanes));
        const hn::Vec<DI> flat = hn::Add(offset, hn::BitCast(di, entry));
        w[j] = hn::BitCast(df, hn::GatherIndex(du, plan.value_tables.data(), flat));
      }
    }
  }

  template <bool kNaNRule>
  HWY_INLINE void Scale(size_t r, size_t c, VF* w) const {
    if constexpr (kScaled) {
      const DF df;
      const float* scale = plan.scale_values.data() + plan.row_info[r].scale_offset;
      const bool per_row = plan.scale_mode == LutScaleMode::kPerRow;
      for (size_t j = 0; j < kVecs; ++j) {
        const VF s = per_row ? hn::Set(df, scale[0]) : hn::LoadU(df, scale + c * kChunk + j * kLanes);
        VF product = hn::Mul(w[j], s);
        if constexpr (kNaNRule) product = PreferDataNaN(product, w[j]);
        w[j] = plan.round_f16 ? RoundThroughF16(product) : product;
      }
    }
  }
};

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#endif  // WK_PALETTIZATION_LUT_MATRIX_INL_H_
