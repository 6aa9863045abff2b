// Per-target expansion of packed non-zeros to the set bits of a mask, shared by the sparse
// kernels (sparse_kernels.cc) and the sparse + quantized decoder (sparse_quant_matrix-inl.h).
// Highway 1.0.3 has no Expand: the values of a mask byte (fp16, 1-byte integers) or nibble (fp32)
// are scattered with one table-driven byte shuffle whose zero lanes come for free
// (TableLookupBytesOr0); AVX-512 targets use the native expands (vpexpandw and vpexpandb with
// VBMI2, vexpandps) of masked loads, which never read past the last value, or in fast rows of
// whole vectors (the plan's fast rows have 64 readable bytes past any value).

#if defined(WK_SPARSITY_SPARSE_EXPAND_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WK_SPARSITY_SPARSE_EXPAND_INL_H_
#undef WK_SPARSITY_SPARSE_EXPAND_INL_H_
#else
#define WK_SPARSITY_SPARSE_EXPAND_INL_H_
#endif

#include <cstring>

#include "common/matmul-inl.h"
#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "sparsity/sparse_plan.h"

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

using D8x16 = hn::Full128<uint8_t>;
using D16x8 = hn::Full128<uint16_t>;
using DF32x4 = hn::Full128<float>;
using V16x8 = hn::Vec<D16x8>;
using VF32x4 = hn::Vec<DF32x4>;

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
HWY_INLINE void WidenChunk(V16x8 lo, V16x8 hi, VecSpan<DF> w) {
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
HWY_INLINE void AssembleChunk(VecSpan<DF32x4> g, VecSpan<DF> w) {
#if HWY_MAX_BYTES >= 64
  const hn::Half<DF> dh;
  w[0] = hn::Combine(DF(), hn::Combine(dh, VF32x4(g[3]), VF32x4(g[2])),
                     hn::Combine(dh, VF32x4(g[1]), VF32x4(g[0])));
#elif HWY_MAX_BYTES == 32
  w[0] = hn::Combine(DF(), VF32x4(g[1]), VF32x4(g[0]));
  w[1] = hn::Combine(DF(), VF32x4(g[3]), VF32x4(g[2]));
#else
  for (size_t j = 0; j < kVecs; ++j) w[j] = g[j];
#endif
}

// The 16 weights of a chunk whose mask bits are `bits`, the first of its values being value
// `nz` (advanced past them). Without kSafe, 16 bytes past each group's first value are readable.
template <bool kSafe>
WK_DECODE_INLINE void ExpandChunkF16(const uint8_t* values, size_t value_bytes, uint64_t& nz,
                               uint32_t bits, VecSpan<DF> w) {
#if HWY_TARGET == HWY_AVX3_DL
  // The chunk's values by a masked load (no over-read), then a register-form expand: the
  // memory-operand vpexpandw ran at half the portable path's rate on Zen 5 (sparse50 512 x 4096
  // hot: 404 against 189 us).
  (void)value_bytes;
  const uint32_t count = hwy::PopCount(bits);
  const __m256i packed =
      _mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << count) - 1), values + 2 * nz);
  const hn::Vec<DU16> e{_mm256_maskz_expand_epi16(static_cast<__mmask16>(bits), packed)};
  w[0] = WidenF16(e);
  nz += count;
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

#if HWY_TARGET == HWY_AVX3_DL
// The fp16 values from value nz on scattered to the set bits of 32 columns' mask `bits` (the
// other words +0), nz advanced past them: one popcount and one vpexpandw. `whole`: 64 bytes from
// the first value are readable and the load needs no mask, whose move was one of the ~7 uops a
// pair of chunks costs on port 5 of an Intel core (sparse50 256 x 4096 hot: 97 against 80 us); it
// stays a register operand (LoadForExpand). The GEMV's pairs and the decompression's steps.
HWY_INLINE __m512i ExpandWords32(const uint8_t* values, uint64_t& nz, uint32_t bits, bool whole) {
  const uint32_t count = hwy::PopCount(bits);
  const uint8_t* p = values + 2 * nz;
  const __mmask32 first = static_cast<__mmask32>((uint64_t{1} << count) - 1);
  const __m512i packed = whole ? LoadForExpand(p) : _mm512_maskz_loadu_epi16(first, p);
  nz += count;
  return _mm512_maskz_expand_epi16(static_cast<__mmask32>(bits), packed);
}

// Two chunks (mask bits `bits`, the first chunk's low) of fp16 values from value nz on, advanced
// past them: ExpandChunkF16 on 32 columns at once, the second chunk's words taken by one
// vextracti64x4. Without kSafe (fast rows), 64 bytes from the first value are readable.
template <bool kSafe>
HWY_INLINE void ExpandPairF16(const uint8_t* values, uint64_t& nz, uint32_t bits, VecSpan<DF> w) {
  const __m512i e = ExpandWords32(values, nz, bits, !kSafe);
  w[0] = WidenF16(hn::Vec<DU16>{_mm512_castsi512_si256(e)});
  w[1] = WidenF16(hn::Vec<DU16>{_mm512_extracti64x4_epi64(e, 1)});
}
#endif

template <bool kSafe>
WK_DECODE_INLINE void ExpandChunkF32(const uint8_t* values, size_t value_bytes, uint64_t& nz,
                               uint32_t bits, VecSpan<DF> w) {
#if HWY_TARGET <= HWY_AVX3
  // As ExpandChunkF16: a masked load, then the register-form expand.
  (void)value_bytes;
  const uint32_t count = hwy::PopCount(bits);
  const __m512 packed =
      _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1), values + 4 * nz);
  w[0] = VF{_mm512_maskz_expand_ps(static_cast<__mmask16>(bits), packed)};
  nz += count;
#else
  HWY_ALIGN uint8_t scratch[4][16];
  VecArray<DF32x4, 4> g;
  for (size_t i = 0; i < 4; ++i) {
    const uint32_t m = (bits >> (4 * i)) & 0xFu;
    g[i] = ExpandF32Group(GroupSource<kSafe>(values, value_bytes, 4 * nz, scratch[i]), m);
    nz += hwy::PopCount(m);
  }
  AssembleChunk(g, w);
#endif
}

// The mask bits of kChunks <= 2 chunks starting at stream bit `bit`, 16 per chunk, the first
// chunk's in the low half. Without kSafe, 8 bytes from the first chunk's byte are readable.
template <bool kSafe, size_t kChunks = 1>
HWY_INLINE uint32_t ChunkMaskBits(const uint8_t* mask, size_t mask_bytes, uint64_t bit) {
  static_assert(kChunks == 1 || kChunks == 2, "at most 32 bits");
  const size_t byte = static_cast<size_t>(bit >> 3);
  uint64_t word = 0;
  constexpr size_t kRead = kChunks == 1 ? 4 : 8;  // 16 or 32 bits past a bit offset of up to 7
  const size_t n = kSafe ? HWY_MIN(kRead, mask_bytes - byte) : kRead;
  std::memcpy(&word, mask + byte, n);
  return static_cast<uint32_t>((word >> (bit & 7)) & ((uint64_t{1} << (16 * kChunks)) - 1));
}

#if HWY_TARGET == HWY_AVX3_DL
// The mask bits of a 64-column step at stream bit `bit`, reading only the bytes they span: a
// step inside the matrix needs no bounds check. The bit offset is fixed along a row (steps
// advance 64 bits), so its branch predicts.
HWY_INLINE uint64_t StepMaskBits64(const uint8_t* mask, uint64_t bit) {
  const uint8_t* p = mask + (bit >> 3);
  const uint32_t offset = static_cast<uint32_t>(bit & 7);
  uint64_t word;
  std::memcpy(&word, p, 8);
  if (offset != 0) word = (word >> offset) | (uint64_t{p[8]} << (64 - offset));
  return word;
}
#endif

// Byte selectors that scatter a chunk's packed one-byte values to the set bits of its mask
// `bits`: lane i selects its non-zero's ordinal; pruned lanes have bit 7 set (select zero).
HWY_INLINE hn::Vec<D8x16> ChunkExpandPattern(uint32_t bits) {
  const hn::Full128<uint64_t> d64;
  // The upper 8 lanes index past the lower byte's values; a zero selector stays negative.
  const uint32_t m0 = bits & 0xFFu;
  const uint64_t lo = kSparseExpandTables.u8[m0];
  const uint64_t hi = kSparseExpandTables.u8[bits >> 8] + 0x0101010101010101ull * hwy::PopCount(m0);
  return hn::BitCast(D8x16(), hn::InterleaveLower(d64, hn::Set(d64, lo), hn::Set(d64, hi)));
}

// 16 one-byte lanes (lane i holding the chunk's i-th non-zero) scattered to the set bits of
// the chunk's mask `bits`; the other lanes are 0, or with kMarkPruned 0x80 (a byte-shuffle
// selector of zero).
template <typename T, bool kMarkPruned = false>
WK_DECODE_INLINE hn::Vec<hn::Full128<T>> ExpandChunkBytes(hn::Vec<hn::Full128<T>> packed, uint32_t bits) {
#if HWY_TARGET == HWY_AVX3_DL
  // VBMI2's vpexpandb: one instruction for the pattern's two table loads, popcount and shuffle.
  const __m128i fill = kMarkPruned ? _mm_set1_epi8(static_cast<char>(0x80)) : _mm_setzero_si128();
  return hn::Vec<hn::Full128<T>>{_mm_mask_expand_epi8(fill, static_cast<__mmask16>(bits), packed.raw)};
#else
  const hn::Full128<T> d;
  const hn::Vec<D8x16> pattern = ChunkExpandPattern(bits);
  hn::Vec<D8x16> v = hn::TableLookupBytesOr0(hn::BitCast(D8x16(), packed), pattern);
  if constexpr (kMarkPruned) v = hn::Or(v, hn::And(pattern, hn::Set(D8x16(), 0x80)));
  return hn::BitCast(d, v);
#endif
}

// The 16 nibbles from nibble `odd` (0 or 1) of p on, as a little-endian word; 9 bytes at p are
// readable. Branch-free: the parity of a running non-zero count is a coin flip to a predictor.
HWY_INLINE uint64_t NibblesAt(const uint8_t* p, uint64_t odd) {
  uint64_t word;
  std::memcpy(&word, p, 8);
  const uint64_t shift = 4 * odd;
  // Two shifts: a single shift by 64 (odd == 0) would be undefined.
  return (word >> shift) | ((static_cast<uint64_t>(p[8]) << 56) << (8 - shift));
}

// Zeroes the weights of a chunk whose mask bit is clear (sparse_to_dense writes +0 there).
WK_DECODE_INLINE void ZeroUnmasked(uint32_t bits, VecSpan<DF> w) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  // The bits are the lane mask: one kmov (the expand's), where testing lane bits took a
  // broadcast and a vptestmd, two more port-5 uops per chunk on Intel cores.
  static_assert(kVecs == 1, "a chunk is one 512-bit vector");
  w[0] = hn::IfThenElseZero(hn::Mask<DF>{static_cast<__mmask16>(bits)}, VF(w[0]));
#else
  const DF df;
  const DU du;
  alignas(64) static constexpr uint32_t kLaneBit[kChunk] = {
      1u << 0, 1u << 1, 1u << 2,  1u << 3,  1u << 4,  1u << 5,  1u << 6,  1u << 7,
      1u << 8, 1u << 9, 1u << 10, 1u << 11, 1u << 12, 1u << 13, 1u << 14, 1u << 15};
  const VU b = hn::Set(du, bits);
  for (size_t j = 0; j < kVecs; ++j) {
    const auto set = hn::TestBit(b, hn::Load(du, kLaneBit + j * kLanes));
    w[j] = hn::IfThenElseZero(hn::RebindMask(df, set), VF(w[j]));
  }
#endif
}

// The mask side of every sparse matrix decoder (the interface of matmul-inl.h's GemvRowBlock):
// each chunk's mask bits are read and handed, with the row's cursor, to
// Derived::Expand<kSafe>(cursor, chunk, bits, w), which scatters the chunk's values.
template <class Derived>
struct SparseMaskDecoder {
  // Two chunks per step where a chunk is at most two vectors (more would spill on SSE4): one
  // mask read and one pair of prefetches per 32 columns.
  static constexpr size_t kStepChunks = kVecs <= 2 ? 2 : 1;
  static constexpr bool kMultiRow = true;
  // Each row carries two running positions: more rows would spill them.
  static constexpr size_t kBlockRows = 2;

  const SparseMatrixPlan& plan;

  explicit SparseMaskDecoder(const SparseMatrixPlan& p) : plan(p) {}

  size_t FastRows() const { return plan.fast_rows; }

  // Non-zeros from row r's first to the first of row r + kBlockRows (the rows' end past the
  // last block): where that row's values are, relative to row r's, at the same columns.
  HWY_INLINE uint64_t NextBlockOffset(size_t r) const {
    return plan.row_start[HWY_MIN(r + Derived::kBlockRows, plan.rows)] - plan.row_start[r];
  }

  // The GEMV's prefetch, from each row of a block: the same columns of row r + kBlockRows, the
  // next block's, which no read has reached yet; its values at the ordinal they would have if
  // both rows had the same density profile. A distance within the row ran past the row's end
  // into row r + 1, which the block was already reading, and the next block's second row was
  // left to demand misses (sparse50 cold on an Intel core: ~2190 against ~1640 us).
  template <class Cursor>
  HWY_INLINE void PrefetchNextBlock(const Cursor& cur, uint64_t value_bits) const {
    PrefetchAt(plan.mask, (cur.bit + Derived::kBlockRows * plan.cols) >> 3);
    PrefetchAt(plan.values, ((cur.nz + cur.next_block) * value_bits) >> 3);
  }

  template <bool kSafe, class Cursor>
  HWY_INLINE void DecodeStep(Cursor& cur, size_t c, VecSpan<DF> w) const {
    const uint32_t bits = ChunkMaskBits<kSafe, kStepChunks>(plan.mask, plan.mask_bytes, cur.bit);
    cur.bit += kStepChunks * kChunk;
#pragma clang loop unroll(full)
    for (size_t s = 0; s < kStepChunks; ++s) {
      static_cast<const Derived*>(this)->template Expand<kSafe>(
          cur, c + s, (bits >> (16 * s)) & 0xFFFFu, w + s * kVecs);
    }
  }

  template <bool kSafe, class Cursor>
  HWY_INLINE void Decode(Cursor& cur, size_t c, VecSpan<DF> w) const {
    const uint32_t bits = ChunkMaskBits<kSafe>(plan.mask, plan.mask_bytes, cur.bit);
    cur.bit += kChunk;
    static_cast<const Derived*>(this)->template Expand<kSafe>(cur, c, bits, w);
  }

  template <class Cursor>
  HWY_INLINE void DecodeTail(Cursor& cur, size_t c, VecSpan<DF> w) const {
    const size_t valid = plan.cols - c * kChunk;
    const uint32_t bits =
        ChunkMaskBits<true>(plan.mask, plan.mask_bytes, cur.bit) & ((1u << valid) - 1);
    cur.bit += valid;
    static_cast<const Derived*>(this)->template Expand<true>(cur, c, bits, w);
  }
};

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#endif  // WK_SPARSITY_SPARSE_EXPAND_INL_H_
