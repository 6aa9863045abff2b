// Fused sparse GEMV (fp16, fp32 and LUT-coded non-zeros) and the sparse expansion behind
// constexpr_sparse_to_dense, compiled for every target. Highway 1.0.3 has no Expand: the values
// of a mask byte (fp16) or nibble (fp32) are scattered with one table-driven byte shuffle whose
// zero lanes come for free (TableLookupBytesOr0); AVX-512 targets use the native masked expand
// loads (vpexpandw with VBMI2, vexpandps), which also never read past the last value.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sparsity/sparse_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstring>

#include "common/simd-inl.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "sparsity/sparse_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

using D8x16 = hn::Full128<uint8_t>;
using D16x8 = hn::Full128<uint16_t>;
using DF32x4 = hn::Full128<float>;
using V16x8 = hn::Vec<D16x8>;
using VF32x4 = hn::Vec<DF32x4>;

// Address arithmetic for prefetches, which may point past a buffer (or offset a null one).
HWY_INLINE void PrefetchAt(const uint8_t* base, uint64_t offset) {
  hwy::Prefetch(reinterpret_cast<const uint8_t*>(reinterpret_cast<uintptr_t>(base) + offset));
}

// 16 readable bytes holding the values at byte `offset`: in place, or (kSafe, near the end) a
// zero-padded copy in scratch.
template <bool kSafe>
HWY_INLINE const uint8_t* GroupSource(const uint8_t* values, size_t value_bytes, uint64_t offset,
                                      uint8_t* scratch) {
  if (kSafe && offset + 16 > value_bytes) {
    std::memset(scratch, 0, 16);
    if (offset < value_bytes) std::memcpy(scratch, values + offset, value_bytes - offset);
    return scratch;
  }
  return values + offset;
}

// 8 fp16 values at p scattered to the set bits of mask byte m.
HWY_INLINE V16x8 ExpandF16Group(const uint8_t* p, uint32_t m) {
  const D8x16 d8;
  const hn::Vec<D8x16> pattern = hn::Load(d8, kSparseExpandTables.f16[m]);
  return hn::BitCast(D16x8(), hn::TableLookupBytesOr0(hn::LoadU(d8, p), pattern));
}

// 4 fp32 values at p scattered to the set bits of nibble m.
HWY_INLINE VF32x4 ExpandF32Group(const uint8_t* p, uint32_t m) {
  const D8x16 d8;
  const hn::Vec<D8x16> pattern = hn::Load(d8, kSparseExpandTables.f32[m]);
  return hn::BitCast(DF32x4(), hn::TableLookupBytesOr0(hn::LoadU(d8, p), pattern));
}

// A chunk's 16 columns from its two expanded fp16 groups, as exact fp32 vectors.
HWY_INLINE void WidenChunk(V16x8 lo, V16x8 hi, VF* w) {
#if HWY_MAX_BYTES >= 64
  w[0] = WidenF16(hn::Combine(DU16(), hi, lo));
#elif HWY_MAX_BYTES == 32
  w[0] = WidenF16(lo);
  w[1] = WidenF16(hi);
#else
  const hn::Half<D16x8> dh;
  w[0] = WidenF16(hn::LowerHalf(dh, lo));
  w[1] = WidenF16(hn::UpperHalf(dh, lo));
  w[2] = WidenF16(hn::LowerHalf(dh, hi));
  w[3] = WidenF16(hn::UpperHalf(dh, hi));
#endif
}

// A chunk's 16 columns from its four expanded fp32 groups.
HWY_INLINE void AssembleChunk(const VF32x4* g, VF* w) {
#if HWY_MAX_BYTES >= 64
  const hn::Half<DF> dh;
  w[0] = hn::Combine(DF(), hn::Combine(dh, g[3], g[2]), hn::Combine(dh, g[1], g[0]));
#elif HWY_MAX_BYTES == 32
  w[0] = hn::Combine(DF(), g[1], g[0]);
  w[1] = hn::Combine(DF(), g[3], g[2]);
#else
  for (size_t j = 0; j < kVecs; ++j) w[j] = g[j];
#endif
}

// The 16 weights of a chunk whose mask bits are `bits`, the first of its values being value
// `nz` (advanced past them). Without kSafe, 16 bytes past each group's first value are readable.
template <bool kSafe>
HWY_INLINE void ExpandChunkF16(const uint8_t* values, size_t value_bytes, uint64_t& nz,
                               uint32_t bits, VF* w) {
#if HWY_TARGET == HWY_AVX3_DL
  (void)value_bytes;
  const hn::Vec<DU16> e{_mm256_maskz_expandloadu_epi16(static_cast<__mmask16>(bits),
                                                       values + 2 * nz)};
  w[0] = WidenF16(e);
  nz += hwy::PopCount(bits);
#else
  HWY_ALIGN uint8_t scratch[2][16];
  const uint32_t m0 = bits & 0xFFu;
  const uint32_t m1 = bits >> 8;
  const V16x8 lo = ExpandF16Group(GroupSource<kSafe>(values, value_bytes, 2 * nz, scratch[0]), m0);
  nz += hwy::PopCount(m0);
  const V16x8 hi = ExpandF16Group(GroupSource<kSafe>(values, value_bytes, 2 * nz, scratch[1]), m1);
  nz += hwy::PopCount(m1);
  WidenChunk(lo, hi, w);
#endif
}

template <bool kSafe>
HWY_INLINE void ExpandChunkF32(const uint8_t* values, size_t value_bytes, uint64_t& nz,
                               uint32_t bits, VF* w) {
#if HWY_TARGET <= HWY_AVX3
  (void)value_bytes;
  w[0] = VF{_mm512_maskz_expandloadu_ps(static_cast<__mmask16>(bits), values + 4 * nz)};
  nz += hwy::PopCount(bits);
#else
  HWY_ALIGN uint8_t scratch[4][16];
  VF32x4 g[4];
  for (size_t i = 0; i < 4; ++i) {
    const uint32_t m = (bits >> (4 * i)) & 0xFu;
    g[i] = ExpandF32Group(GroupSource<kSafe>(values, value_bytes, 4 * nz, scratch[i]), m);
    nz += hwy::PopCount(m);
  }
  AssembleChunk(g, w);
#endif
}

// The 16 mask bits of a chunk starting at stream bit `bit`. Without kSafe, 4 bytes from the
// chunk's first byte are readable.
template <bool kSafe>
HWY_INLINE uint32_t ChunkMaskBits(const uint8_t* mask, size_t mask_bytes, uint64_t bit) {
  const size_t byte = static_cast<size_t>(bit >> 3);
  uint32_t word = 0;
  const size_t n = kSafe ? HWY_MIN(size_t{4}, mask_bytes - byte) : 4;
  std::memcpy(&word, mask + byte, n);
  return (word >> (bit & 7)) & 0xFFFFu;
}

// Weights of a sparse matrix row by row: mask bits, then the row's next values scattered to
// them. The cursor carries the running value ordinal, started from the prepared row offsets.
template <bool kLut, bool kF16>
struct SparseMatrixDecoder {
  struct Cursor {
    uint64_t bit;    // mask stream position of the next chunk
    uint64_t nz;     // ordinal of the next non-zero
    size_t table;    // kLut: offset of the row group's tables
  };

  static constexpr size_t kStepChunks = 1;
  static constexpr bool kMultiRow = true;
  // Each row carries two running positions: more rows would spill them.
  static constexpr size_t kBlockRows = 2;
  static constexpr uint32_t kElemBytes = kF16 ? 2 : 4;

  const SparseMatrixPlan& plan;

  HWY_INLINE Cursor Begin(size_t r) const {
    const size_t table = kLut ? (r / plan.rows_per_group) * plan.column_groups * plan.entries : 0;
    return Cursor{static_cast<uint64_t>(r) * plan.cols, plan.row_start[r], table};
  }

  size_t FastRows() const { return plan.fast_rows; }

  HWY_INLINE void Prefetch(const Cursor& cur, size_t) const {
    PrefetchAt(plan.mask, (cur.bit >> 3) + 512);
    if constexpr (!kLut) PrefetchAt(plan.values, cur.nz * kElemBytes + 1024);
  }

  template <bool kSafe>
  HWY_INLINE void DecodeStep(Cursor& cur, size_t c, VF* w) const {
    Decode<kSafe>(cur, c, w);
  }

  template <bool kSafe>
  HWY_INLINE void Decode(Cursor& cur, size_t c, VF* w) const {
    const uint32_t bits = ChunkMaskBits<kSafe>(plan.mask, plan.mask_bytes, cur.bit);
    cur.bit += kChunk;
    Expand<kSafe>(cur, c, bits, w);
  }

  HWY_INLINE void DecodeTail(Cursor& cur, size_t c, VF* w) const {
    const size_t valid = plan.cols - c * kChunk;
    const uint32_t bits =
        ChunkMaskBits<true>(plan.mask, plan.mask_bytes, cur.bit) & ((1u << valid) - 1);
    cur.bit += valid;
    Expand<true>(cur, c, bits, w);
  }

 private:
  template <bool kSafe>
  HWY_INLINE void Expand(Cursor& cur, size_t c, uint32_t bits, VF* w) const {
    if constexpr (kLut) {
      // The chunk's values looked up into a small buffer, then scattered like stored values.
      HWY_ALIGN uint8_t buffer[16 * kElemBytes];
      size_t k = 0;
      for (uint32_t m = bits; m != 0; m &= m - 1, ++k) {
        size_t t = cur.table;
        if (!plan.column_table_offset.empty()) {
          t += plan.column_table_offset[c * kChunk + hwy::Num0BitsBelowLS1Bit_Nonzero32(m)];
        }
        const uint32_t index =
            ReadPackedField(plan.values, plan.value_bytes, cur.nz + k, plan.nbits);
        std::memcpy(buffer + k * kElemBytes, &plan.tables[t + index], kElemBytes);
      }
      cur.nz += k;
      uint64_t local = 0;
      if constexpr (kF16) {
        ExpandChunkF16<false>(buffer, sizeof(buffer), local, bits, w);
      } else {
        ExpandChunkF32<false>(buffer, sizeof(buffer), local, bits, w);
      }
    } else if constexpr (kF16) {
      ExpandChunkF16<kSafe>(plan.values, plan.value_bytes, cur.nz, bits, w);
    } else {
      ExpandChunkF32<kSafe>(plan.values, plan.value_bytes, cur.nz, bits, w);
    }
  }
};

void SparseMatrixGemv(const SparseMatrixPlan& plan, const GemvOperands& io) {
  const auto run = [&](const auto& dec) {
    GemvAllRows(dec, plan.rows, plan.cols, io.x, io.x_f16, io.batch, io.y, io.y_f16);
  };
  const bool f16 = plan.weight_dtype == WK_DTYPE_FP16;
  if (plan.kind == SparseValueKind::kLut) {
    if (f16) return run(SparseMatrixDecoder<true, true>{plan});
    return run(SparseMatrixDecoder<true, false>{plan});
  }
  if (f16) return run(SparseMatrixDecoder<false, true>{plan});
  return run(SparseMatrixDecoder<false, false>{plan});
}

void SparseExpand(const uint8_t* mask, uint64_t count, const uint8_t* values, uint64_t value_count,
                  uint32_t elem_bytes, uint8_t* out) {
  const size_t value_bytes = static_cast<size_t>(value_count * elem_bytes);
  HWY_ALIGN uint8_t scratch[16];
  HWY_ALIGN uint8_t last[16];
  uint64_t nz = 0;
  uint64_t i = 0;
  if (elem_bytes == 2) {
    for (; i + 8 <= count; i += 8) {
      const uint32_t m = mask[i >> 3];
      hn::StoreU(ExpandF16Group(GroupSource<true>(values, value_bytes, 2 * nz, scratch), m),
                 D16x8(), reinterpret_cast<uint16_t*>(out + 2 * i));
      nz += hwy::PopCount(m);
    }
    if (i < count) {
      const uint32_t m = mask[i >> 3] & ((1u << (count - i)) - 1);
      hn::Store(ExpandF16Group(GroupSource<true>(values, value_bytes, 2 * nz, scratch), m),
                D16x8(), reinterpret_cast<uint16_t*>(last));
      std::memcpy(out + 2 * i, last, static_cast<size_t>(2 * (count - i)));
    }
    return;
  }
  for (; i + 4 <= count; i += 4) {
    const uint32_t m = (mask[i >> 3] >> (i & 4)) & 0xFu;
    hn::StoreU(ExpandF32Group(GroupSource<true>(values, value_bytes, 4 * nz, scratch), m),
               DF32x4(), reinterpret_cast<float*>(out + 4 * i));
    nz += hwy::PopCount(m);
  }
  if (i < count) {
    const uint32_t m = (mask[i >> 3] >> (i & 4)) & ((1u << (count - i)) - 1);
    hn::Store(ExpandF32Group(GroupSource<true>(values, value_bytes, 4 * nz, scratch), m),
              DF32x4(), reinterpret_cast<float*>(last));
    std::memcpy(out + 4 * i, last, static_cast<size_t>(4 * (count - i)));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(SparseMatrixGemv);
HWY_EXPORT(SparseExpand);

void RunSparseMatrixGemv(uint64_t target, const SparseMatrixPlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(SparseMatrixGemv), target)(plan, io);
}

void RunSparseExpand(uint64_t target, const uint8_t* mask, uint64_t count, const uint8_t* values,
                     uint64_t value_count, uint32_t elem_bytes, uint8_t* out) {
  KernelFor(HWY_DISPATCH_TABLE(SparseExpand), target)(mask, count, values, value_count,
                                                      elem_bytes, out);
}

}  // namespace wk
#endif  // HWY_ONCE
