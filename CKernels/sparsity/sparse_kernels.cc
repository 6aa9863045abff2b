// Fused sparse GEMV (fp16, fp32 and LUT-coded non-zeros), the decompression of sparse +
// palettized matrices (the GEMV's decoder, storing raw bits) and the sparse expansion behind
// constexpr_sparse_to_dense, compiled for every target (the expand itself: sparse_expand-inl.h).
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sparsity/sparse_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstring>
#include <type_traits>

#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "sparsity/sparse_expand-inl.h"
#include "sparsity/sparse_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// 16 LUT indices of `plan` from non-zero `nz` on, one per byte lane (lanes past the last
// non-zero are unspecified but below 2^n). Without kSafe, 16 bytes from the first one's byte
// are readable; the fields of a chunk span at most 7 + 16 n <= 128 bits from there (n = 8 has
// no bit offset).
class IndexFields {
 public:
  explicit IndexFields(uint32_t n) {
#if HWY_TARGET == HWY_AVX3_DL
    for (uint32_t i = 0; i < 16; ++i) {
      pair_[i] = static_cast<uint8_t>(i < 8 ? i : n + i - 8);
      for (uint32_t offset = 0; offset < 8; ++offset) {
        control_[offset][i] = static_cast<uint8_t>(offset + n * (i % 8));
      }
    }
    std::memset(field_mask_, static_cast<int>((1u << n) - 1), sizeof(field_mask_));
#else
    (void)n;
#endif
  }

  template <bool kSafe>
  HWY_INLINE hn::Vec<D8x16> Load(const SparseMatrixPlan& plan, uint64_t nz) const {
    const D8x16 d8;
    HWY_ALIGN uint8_t scratch[16];
    const uint64_t bit = nz * plan.nbits;
    const uint8_t* p = GroupSource<kSafe>(plan.values, plan.value_bytes, bit >> 3, scratch);
    const uint32_t n = plan.nbits;
    const uint8_t field = static_cast<uint8_t>((1u << n) - 1);
#if HWY_TARGET == HWY_AVX3_DL
    // VBMI, every n: qword 0 of the window keeps bytes 0-7 (fields 0-7 end by bit 7 + 8 n <= 64)
    // and qword 1 gets bytes n to n + 7 (fields 8-15, n bytes further); one vpmultishiftqb moves
    // field i to lane i. No test of n, no loop over the fields.
    const hn::Vec<D8x16> window = hn::TableLookupBytes(hn::LoadU(d8, p), hn::Load(d8, pair_));
    const hn::Vec<D8x16> fields{
        _mm_multishift_epi64_epi8(hn::Load(d8, control_[bit & 7]).raw, window.raw)};
    return hn::And(fields, hn::Set(d8, field));
#else
    if (n == 8) return hn::LoadU(d8, p);
    if (n == 4) return UnpackNibbles<uint8_t>(NibblesAt(p, nz & 1));
    // 1, 2, 3 and 6 bits: fields of a 128-bit window spread to bytes.
    uint64_t word[2];
    std::memcpy(word, p, 16);
    const unsigned __int128 window =
        ((static_cast<unsigned __int128>(word[1]) << 64) | word[0]) >> (bit & 7);
    HWY_ALIGN uint8_t bytes[16];
    for (uint32_t i = 0; i < 16; ++i) bytes[i] = static_cast<uint8_t>(window >> (n * i)) & field;
    return hn::Load(d8, bytes);
#endif
  }

#if HWY_TARGET == HWY_AVX3_DL
  // `count` <= 64 indices of n <= 4 bits from non-zero nz on, one per byte lane (lanes from
  // count on 0). Reads their bytes only (Fields64): any row, no bounds to check.
  HWY_INLINE __m512i Load64(const SparseMatrixPlan& plan, uint64_t nz, uint32_t count) const {
    const uint64_t bit = nz * plan.nbits;
    const uint32_t bytes = static_cast<uint32_t>(((bit & 7) + uint64_t{count} * plan.nbits + 7) >> 3);
    return _mm512_and_si512(
        Fields64(plan.values + (bit >> 3), plan.nbits, static_cast<uint32_t>(bit & 7), bytes),
        _mm512_load_si512(field_mask_));
  }

 private:
  HWY_ALIGN uint8_t pair_[16];            // byte shuffle forming the window
  HWY_ALIGN uint8_t control_[8][16];      // multishift control per bit offset of field 0
  alignas(64) uint8_t field_mask_[64];    // 2^n - 1 per lane (a load, not a broadcast per step)
#endif
};

// Weights of a sparse matrix row by row: mask bits, then the row's next values scattered to
// them. The cursor carries the running value ordinal, started from the prepared row offsets.
// LUT-coded values (kLut) are scattered as indices and then looked up: with kPlanes (at most 16
// entries, one column group) by a byte shuffle per byte of the weight type, else lane by lane.
template <bool kLut, bool kF16, bool kPlanes = false>
struct SparseMatrixDecoder : SparseMaskDecoder<SparseMatrixDecoder<kLut, kF16, kPlanes>> {
  struct Cursor {
    uint64_t bit;    // mask stream position of the next chunk
    uint64_t nz;     // ordinal of the next non-zero
    size_t table;    // kLut: offset of the row group's tables (kPlanes: of its byte planes)
    uint64_t next_block;  // NextBlockOffset of the row
  };

  static constexpr uint32_t kElemBytes = kF16 ? 2 : 4;
  static constexpr bool kIsLut = kLut;

  using SparseMaskDecoder<SparseMatrixDecoder>::plan;

  explicit SparseMatrixDecoder(const SparseMatrixPlan& p)
      : SparseMaskDecoder<SparseMatrixDecoder>(p), fields_(p.nbits) {}

  HWY_INLINE Cursor Begin(size_t r) const {
    const size_t group = kLut ? r / plan.rows_per_group : 0;
    const size_t table = kPlanes ? group * kElemBytes * 16 : group * plan.column_groups * plan.entries;
    return Cursor{static_cast<uint64_t>(r) * plan.cols, plan.row_start[r], table,
                  this->NextBlockOffset(r)};
  }

  HWY_INLINE void Prefetch(const Cursor& cur, size_t) const {
    this->PrefetchNextBlock(cur, kLut ? plan.nbits : kElemBytes * 8);
  }

  // The batch product's: a panel row's mask bits, and its values where the row's non-zeros would
  // be if spread evenly (the row's share of the panel, a line either side).
  template <bool kL2>
  HWY_INLINE void PrefetchPanel(size_t r, size_t c, size_t n) const {
    const uint64_t col = uint64_t{c} * kChunk;
    const uint64_t width = uint64_t{n} * kChunk;
    PrefetchLines<kL2>(plan.mask, (uint64_t{r} * plan.cols + col) >> 3, width / 8);
    const uint64_t first = plan.row_start[r];
    const uint64_t count = plan.row_start[r + 1] - first;
    const uint64_t bits = kLut ? plan.nbits : kElemBytes * 8;
    const uint64_t at = (first + count * col / plan.cols) * bits / 8;
    const uint64_t span = (count * width / plan.cols) * bits / 8 + 128;
    PrefetchLines<kL2>(plan.values, at >= 64 ? at - 64 : 0, span);
  }

  // fp16 weights on AVX3_DL, reading only a step's values or indices (no kSafe difference):
  // stored values two chunks a step (ExpandPairF16), indices into byte planes four (StepPlanes;
  // sparse50-lut4 on an Intel core, cold: 1842 against 2714 us two chunks a step). Elsewhere
  // the chunk loop.
  static constexpr bool kPairSteps = HWY_TARGET == HWY_AVX3_DL && kF16 && !kLut;
  static constexpr bool kQuadSteps = HWY_TARGET == HWY_AVX3_DL && kF16 && kLut && kPlanes;
  static constexpr size_t kStepChunks =
      kQuadSteps ? 4 : SparseMaskDecoder<SparseMatrixDecoder>::kStepChunks;

  template <bool kSafe>
  HWY_INLINE void DecodeStep(Cursor& cur, size_t c, VecSpan<DF> w) const {
#if HWY_TARGET == HWY_AVX3_DL
    if constexpr (kPairSteps) {
      static_assert(kStepChunks == 2 && kVecs == 1, "a step of two 16-lane chunks");
      const uint32_t bits = ChunkMaskBits<kSafe, 2>(plan.mask, plan.mask_bytes, cur.bit);
      cur.bit += 2 * kChunk;
      ExpandPairF16<kSafe>(plan.values, cur.nz, bits, w);
      return;
    }
    if constexpr (kQuadSteps) {
      __m512i lo, hi;
      StepPlanes(cur, lo, hi);
      WidenWords64(lo, hi, w);
      return;
    }
#endif
    SparseMaskDecoder<SparseMatrixDecoder>::template DecodeStep<kSafe>(cur, c, w);
  }

#if HWY_TARGET == HWY_AVX3_DL
  // The two byte planes (low, high bytes) of the binary16 weights of cur's next 64 columns, cur
  // advanced past them: the step's mask bits, its indices (IndexFields::Load64) scattered to
  // them by vpexpandb, looked up by vpermb zeroing the pruned lanes (+0).
  HWY_INLINE void StepPlanes(Cursor& cur, __m512i& lo, __m512i& hi) const {
    const uint64_t m = StepMaskBits64(plan.mask, cur.bit);
    const uint32_t count = static_cast<uint32_t>(hwy::PopCount(m));
    const uint8_t* planes = plan.byte_planes.data() + cur.table;
    const __m512i idx = _mm512_maskz_expand_epi8(m, fields_.Load64(plan, cur.nz, count));
    lo = _mm512_maskz_permutexvar_epi8(m, idx, BroadcastPlane(planes));
    hi = _mm512_maskz_permutexvar_epi8(m, idx, BroadcastPlane(planes + 16));
    cur.bit += 4 * kChunk;
    cur.nz += count;
  }
#endif

  template <bool kSafe>
  HWY_INLINE void Expand(Cursor& cur, size_t c, uint32_t bits, VecSpan<DF> w) const {
    if constexpr (kLut && kPlanes && kF16) {
      V16x8 lo, hi;
      PlanesF16(ChunkIndices<kSafe>(cur, bits), cur.table, lo, hi);
      WidenChunk(lo, hi, w);
    } else if constexpr (kLut && kPlanes) {
      VecArray<DF32x4, 4> g;
      PlanesF32(ChunkIndices<kSafe>(cur, bits), cur.table, g);
      AssembleChunk(g, w);
    } else if constexpr (kLut) {
      HWY_ALIGN Raw raw[kChunk];
      LaneEntries(ChunkIndices<kSafe>(cur, bits), cur.table, c, bits, raw);
      if constexpr (kF16) {
        WidenChunk(hn::Load(D16x8(), raw), hn::Load(D16x8(), raw + 8), w);
      } else {
        const DF df;
        for (size_t j = 0; j < kVecs; ++j) w[j] = hn::BitCast(df, hn::Load(DU(), raw + j * kLanes));
      }
    } else if constexpr (kF16) {
      ExpandChunkF16<kSafe>(plan.values, plan.value_bytes, cur.nz, bits, w);
    } else {
      ExpandChunkF32<kSafe>(plan.values, plan.value_bytes, cur.nz, bits, w);
    }
  }

#if HWY_TARGET == HWY_AVX3_DL
  // Decompression's steps (kQuadSteps): the bits ExpandRaw stores, 64 columns at a time by
  // StepPlanes and StoreWords64. The full steps of cur's row from chunk 0; returns the chunks
  // done.
  HWY_INLINE size_t ExpandRawSteps(Cursor& cur, size_t full, uint8_t* row) const {
    static_assert(kQuadSteps, "fp16 weights with byte planes");
    size_t c = 0;
    for (; c + 4 <= full; c += 4) {
      Prefetch(cur, c);
      __m512i lo, hi;
      StepPlanes(cur, lo, hi);
      StoreWords64(lo, hi, row + c * 32);
    }
    return c;
  }
#endif

  // Decompression (kLut): the raw bits of the chunk's 16 weights to out, so that every entry is
  // copied bit for bit (signalling NaNs included), which a round trip through fp32 is not.
  template <bool kSafe>
  HWY_INLINE void ExpandRaw(Cursor& cur, size_t c, uint32_t bits, uint8_t* out) const {
    if constexpr (kPlanes && kF16) {
      V16x8 lo, hi;
      PlanesF16(ChunkIndices<kSafe>(cur, bits), cur.table, lo, hi);
      hn::StoreU(lo, D16x8(), reinterpret_cast<uint16_t*>(out));
      hn::StoreU(hi, D16x8(), reinterpret_cast<uint16_t*>(out) + 8);
    } else if constexpr (kPlanes) {
      VecArray<DF32x4, 4> g;
      PlanesF32(ChunkIndices<kSafe>(cur, bits), cur.table, g);
      const hn::Full128<uint32_t> d32;
      for (size_t i = 0; i < 4; ++i) {
        hn::StoreU(hn::BitCast(d32, VF32x4(g[i])), d32, reinterpret_cast<uint32_t*>(out) + 4 * i);
      }
    } else {
      HWY_ALIGN Raw raw[kChunk];
      LaneEntries(ChunkIndices<kSafe>(cur, bits), cur.table, c, bits, raw);
      std::memcpy(out, raw, sizeof(raw));
    }
  }

 private:
  using Raw = std::conditional_t<kF16, uint16_t, uint32_t>;

  IndexFields fields_;

  // The chunk's LUT indices scattered to its mask bits (pruned lanes: index 0, or with kPlanes
  // a selector of bit 7, which every plane looks up as byte 0, so the weight is +0).
  template <bool kSafe>
  HWY_INLINE hn::Vec<D8x16> ChunkIndices(Cursor& cur, uint32_t bits) const {
    const hn::Vec<D8x16> idx =
        ExpandChunkBytes<uint8_t, kPlanes>(fields_.template Load<kSafe>(plan, cur.nz), bits);
    cur.nz += hwy::PopCount(bits);
    return idx;
  }

  // Bytes 0 and 1 of each lane's entry from planes 0 and 1, interleaved into fp16 bits.
  HWY_INLINE void PlanesF16(hn::Vec<D8x16> idx, size_t table, V16x8& lo, V16x8& hi) const {
    const D8x16 d8;
    const uint8_t* planes = plan.byte_planes.data() + table;
    const auto b0 = hn::TableLookupBytesOr0(hn::Load(d8, planes), idx);
    const auto b1 = hn::TableLookupBytesOr0(hn::Load(d8, planes + 16), idx);
    lo = hn::BitCast(D16x8(), hn::InterleaveLower(d8, b0, b1));
    hi = hn::BitCast(D16x8(), hn::InterleaveUpper(d8, b0, b1));
  }

  // The four bytes of each lane's entry from planes 0-3, interleaved into fp32 bits, 4 lanes
  // per vector in column order.
  HWY_INLINE void PlanesF32(hn::Vec<D8x16> idx, size_t table, VecSpan<DF32x4> g) const {
    const D8x16 d8;
    const D16x8 d16;
    V16x8 l01, h01;
    PlanesF16(idx, table, l01, h01);
    const uint8_t* planes = plan.byte_planes.data() + table;
    const auto b2 = hn::TableLookupBytesOr0(hn::Load(d8, planes + 32), idx);
    const auto b3 = hn::TableLookupBytesOr0(hn::Load(d8, planes + 48), idx);
    const V16x8 l23 = hn::BitCast(d16, hn::InterleaveLower(d8, b2, b3));
    const V16x8 h23 = hn::BitCast(d16, hn::InterleaveUpper(d8, b2, b3));
    g[0] = hn::BitCast(DF32x4(), hn::InterleaveLower(d16, l01, l23));
    g[1] = hn::BitCast(DF32x4(), hn::InterleaveUpper(d16, l01, l23));
    g[2] = hn::BitCast(DF32x4(), hn::InterleaveLower(d16, h01, h23));
    g[3] = hn::BitCast(DF32x4(), hn::InterleaveUpper(d16, h01, h23));
  }

  // Entry by entry (wide indices, or a table per column group): scalar loads run on the load
  // ports beside the vector work, where gathers are slow on many cores. Pruned lanes read
  // entry 0 and are cleared by their mask bit.
  HWY_INLINE void LaneEntries(hn::Vec<D8x16> idx, size_t table, size_t c, uint32_t bits,
                              Raw* raw) const {
    HWY_ALIGN uint8_t index[16];
    hn::Store(idx, D8x16(), index);
    const uint32_t* entries = plan.tables.data() + table;
    const uint32_t* column = plan.column_table_offset.empty()
                                 ? nullptr
                                 : plan.column_table_offset.data() + c * kChunk;
    for (size_t i = 0; i < kChunk; ++i) {
      const uint32_t offset = column != nullptr ? column[i] : 0;
      raw[i] = static_cast<Raw>(entries[offset + index[i]] & (0u - ((bits >> i) & 1u)));
    }
  }
};

// The decoder of a sparse matrix's value kind and weight type, handed to f.
template <class F>
void WithDecoder(const SparseMatrixPlan& plan, const F& f) {
  const bool f16 = plan.weight_dtype == WK_DTYPE_FP16;
  if (plan.kind == SparseValueKind::kLut) {
    if (!plan.byte_planes.empty()) {
      if (f16) return f(SparseMatrixDecoder<true, true, true>(plan));
      return f(SparseMatrixDecoder<true, false, true>(plan));
    }
    if (f16) return f(SparseMatrixDecoder<true, true>(plan));
    return f(SparseMatrixDecoder<true, false>(plan));
  }
  if (f16) return f(SparseMatrixDecoder<false, true>(plan));
  return f(SparseMatrixDecoder<false, false>(plan));
}

void SparseMatrixGemv(const SparseMatrixPlan& plan, const GemvOperands& io) {
  WithDecoder(plan, [&](const auto& dec) { MatrixProduct(dec, plan.cols, io); });
}

// Row r of the dense weights, chunk by chunk as the GEMV decodes them.
template <bool kSafe, class Decoder>
HWY_INLINE void DecompressRow(const Decoder& dec, size_t r, uint8_t* row) {
  constexpr size_t kElem = Decoder::kElemBytes;
  const SparseMatrixPlan& plan = dec.plan;
  auto cur = dec.Begin(r);
  const size_t full = plan.cols / kChunk;
  size_t c = 0;
  if constexpr (Decoder::kQuadSteps) c = dec.ExpandRawSteps(cur, full, row);
  for (; c < full; ++c) {
    dec.Prefetch(cur, c);
    const uint32_t bits = ChunkMaskBits<kSafe>(plan.mask, plan.mask_bytes, cur.bit);
    cur.bit += kChunk;
    dec.template ExpandRaw<kSafe>(cur, c, bits, row + c * kChunk * kElem);
  }
  const size_t valid = plan.cols - full * kChunk;
  if (valid != 0) {
    const uint32_t bits =
        ChunkMaskBits<true>(plan.mask, plan.mask_bytes, cur.bit) & ((1u << valid) - 1);
    HWY_ALIGN uint8_t last[kChunk * 4];
    dec.template ExpandRaw<true>(cur, full, bits, last);
    std::memcpy(row + full * kChunk * kElem, last, valid * kElem);
  }
}

void SparseLutDecompress(const SparseMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  WithDecoder(plan, [&](const auto& dec) {
    using Decoder = std::decay_t<decltype(dec)>;
    if constexpr (Decoder::kIsLut) {
      const size_t row_bytes = plan.cols * Decoder::kElemBytes;
      for (size_t r = r0; r < r1; ++r) {
        if (r < plan.fast_rows) {
          DecompressRow<false>(dec, r, out + r * row_bytes);
        } else {
          DecompressRow<true>(dec, r, out + r * row_bytes);
        }
      }
    }
  });
}

// A vector of the output at p: streamed (kStream: p aligned to the vector) or stored.
template <bool kStream, class D>
HWY_INLINE void StoreGroup(hn::Vec<D> v, D d, uint8_t* p) {
  using T = hn::TFromD<D>;
  if constexpr (kStream) {
    hn::Stream(v, d, reinterpret_cast<T*>(p));
  } else {
    hn::StoreU(v, d, reinterpret_cast<T*>(p));
  }
}

// SparseExpand's columns [0, count): 8 fp16 or 4 fp32 columns per 16-byte group; on AVX3_DL fp16
// 32 columns a step (ExpandWords32, as the GEMV's pairs). kStream: out is 16-byte aligned and every full group and step
// is streamed, the steps from the first 64-byte boundary on.
template <bool kStream>
HWY_INLINE void SparseExpandColumns(const uint8_t* mask, uint64_t count, const uint8_t* values,
                                    size_t value_bytes, uint32_t elem_bytes, uint8_t* out) {
  HWY_ALIGN uint8_t scratch[16];
  HWY_ALIGN uint8_t last[16];
  uint64_t nz = 0;
  uint64_t i = 0;
  if (elem_bytes == 2) {
    const auto group = [&]() {
      const uint32_t m = mask[i >> 3];
      const uint8_t* src = GroupSource<true>(values, value_bytes, 2 * nz, scratch);
      StoreGroup<kStream>(ExpandF16Group(src, m), D16x8(), out + 2 * i);
      nz += hwy::PopCount(m);
      i += 8;
    };
#if HWY_TARGET == HWY_AVX3_DL
    const hn::ScalableTag<uint16_t> dw;
    while (kStream && i + 8 <= count && reinterpret_cast<uintptr_t>(out + 2 * i) % 64 != 0) group();
    for (; i + 32 <= count; i += 32) {
      uint32_t m;
      std::memcpy(&m, mask + (i >> 3), 4);
      const hn::Vec<decltype(dw)> e{ExpandWords32(values, nz, m, 2 * nz + 64 <= value_bytes)};
      StoreGroup<kStream>(e, dw, out + 2 * i);
    }
#endif
    while (i + 8 <= count) group();
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
    StoreGroup<kStream>(ExpandF32Group(GroupSource<true>(values, value_bytes, 4 * nz, scratch), m),
                        DF32x4(), out + 4 * i);
    nz += hwy::PopCount(m);
  }
  if (i < count) {
    const uint32_t m = (mask[i >> 3] >> (i & 4)) & ((1u << (count - i)) - 1);
    hn::Store(ExpandF32Group(GroupSource<true>(values, value_bytes, 4 * nz, scratch), m),
              DF32x4(), reinterpret_cast<float*>(last));
    std::memcpy(out + 4 * i, last, static_cast<size_t>(4 * (count - i)));
  }
}

void SparseExpand(const uint8_t* mask, uint64_t count, const uint8_t* values, uint64_t value_count,
                  uint32_t elem_bytes, uint8_t* out) {
  const size_t value_bytes = static_cast<size_t>(value_count * elem_bytes);
  // Outputs far beyond the caches bypass them, as the other decompressions' (kStreamBytes).
  if (count * elem_bytes >= kStreamBytes && reinterpret_cast<uintptr_t>(out) % 16 == 0) {
    SparseExpandColumns<true>(mask, count, values, value_bytes, elem_bytes, out);
    hwy::FlushStream();
    return;
  }
  SparseExpandColumns<false>(mask, count, values, value_bytes, elem_bytes, out);
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(SparseMatrixGemv);
HWY_EXPORT(SparseExpand);
HWY_EXPORT(SparseLutDecompress);

void RunSparseMatrixGemv(uint64_t target, const SparseMatrixPlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(SparseMatrixGemv), target)(plan, io);
}

void RunSparseLutDecompress(uint64_t target, const SparseMatrixPlan& plan, uint8_t* out,
                            size_t r0, size_t r1) {
  KernelFor(HWY_DISPATCH_TABLE(SparseLutDecompress), target)(plan, out, r0, r1);
}

void RunSparseExpand(uint64_t target, const uint8_t* mask, uint64_t count, const uint8_t* values,
                     uint64_t value_count, uint32_t elem_bytes, uint8_t* out) {
  KernelFor(HWY_DISPATCH_TABLE(SparseExpand), target)(mask, count, values, value_count,
                                                      elem_bytes, out);
}

}  // namespace wk
#endif  // HWY_ONCE
