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

#include "common/matmul-inl.h"
#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "palettization/lut_decode-inl.h"
#include "palettization/lut_plan.h"

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// How a decoder finds tables and scales. The fast layouts cover per-tensor / row-grouped /
// chunk-aligned column-grouped LUTs without and with an fp16 per-column scale (Core ML's
// per-channel-scale palettization); kGeneral decides everything at run time. kPlainHalf is kPlain
// looked up through the binary16 planes (half_planes), where a decoder has such a look-up.
enum class LutLayout { kPlain, kPlainHalf, kColumnScaleF16, kGeneral };

// 4-bit tables through byte planes (below) on targets of at most 8 fp32 lanes; AVX-512 permutes
// 16 entries in one instruction instead.
constexpr bool kPlanes4 = kLanes <= 8;
// Chunks one byte-plane step covers: 16 columns per 128-bit block.
constexpr size_t kPlaneStepChunks = kLanes / 4;
// 6- and 8-bit tables through byte planes held in registers where byte permutes span a whole
// register (AVX3_DL's VBMI: LookupWide below); other targets load entries one by one.
constexpr bool kWideLookups = HWY_TARGET == HWY_AVX3_DL;

// Chunks a byte-plane step of n-bit indices covers (1: no byte planes).
constexpr size_t PlaneStepChunks(uint32_t nbits) {
  return (nbits == 4 && kPlanes4) || (nbits >= 6 && kWideLookups) ? kPlaneStepChunks : 1;
}

// Chunks a GEMV step of n <= 4-bit indices takes where a chunk is one 16-lane vector without byte
// planes: the prefetch, the row's index address and its bookkeeping once per 4 chunks instead of
// per chunk (the one-chunk loop was dispatch-bound on Intel: 59 uops per 4 rows x 16 columns).
// Tables are still found per chunk, so column groups keep their layout.
constexpr size_t RowStepChunks(uint32_t nbits) { return kLanes == 16 && nbits <= 4 ? 4 : 1; }

// AVX3_DL's 8-bit steps look fp16 tables up in their two binary16 planes, not the four fp32 ones
// (LookupWideF16).
constexpr bool HalfWideLookups(uint32_t nbits) { return nbits == 8 && kWideLookups; }

inline LutLayout LayoutOf(const LutMatrixPlan& plan) {
  if (!plan.chunk_aligned_groups) return LutLayout::kGeneral;
  // A byte-plane step spans several chunks, which must share one table.
  const size_t step_chunks = PlaneStepChunks(plan.nbits);
  if (step_chunks > 1 && plan.group_cols % (kChunk * step_chunks) != 0 &&
      plan.group_cols != plan.cols) {
    return LutLayout::kGeneral;
  }
  if (plan.scale_mode == LutScaleMode::kNone) {
    return HalfWideLookups(plan.nbits) && !plan.half_planes.empty() ? LutLayout::kPlainHalf : LutLayout::kPlain;
  }
  if (plan.scale_mode == LutScaleMode::kPerColumn && plan.round_f16) return LutLayout::kColumnScaleF16;
  return LutLayout::kGeneral;
}

// Which column each index byte p of a byte-plane step takes, for entries of kElem bytes (4: fp32
// values, 2: fp16 bits). kElem 4: byte t of 4-byte group g of 128-bit block k is column
// g * 4 kBlocks + 4 k + t, so that after two rounds of per-block interleaving each fp32 vector
// holds consecutive columns (natural order, one chunk's partials in order). kElem 2: byte t of
// block k is column 8 k + t (t < 8) or 8 kBlocks + 8 k + t - 8, so that one round gives each
// 16-bit vector consecutive columns. An even column is a low nibble (pattern_low names its
// byte), an odd one a high nibble.
template <size_t kElem>
constexpr size_t PlaneColumn(size_t p) {
  constexpr size_t kBlocks = kLanes / 4;
  const size_t k = p / 16;
  const size_t b = p % 16;
  return kElem == 4 ? (b / 4) * 4 * kBlocks + 4 * k + b % 4
                    : (b < 8 ? 8 * k + b : 8 * kBlocks + 8 * k + b - 8);
}

template <size_t kElem>
struct PlaneLayout {
  uint8_t pattern_low[4 * kLanes];
  uint8_t pattern_high[4 * kLanes];

  static constexpr PlaneLayout Make() {
    PlaneLayout t{};
    for (size_t p = 0; p < 4 * kLanes; ++p) {
      const size_t col = PlaneColumn<kElem>(p);
      t.pattern_low[p] = col % 2 == 0 ? static_cast<uint8_t>(col / 2) : 0x80;
      t.pattern_high[p] = col % 2 == 1 ? static_cast<uint8_t>(col / 2) : 0x80;
    }
    return t;
  }
};

template <size_t kElem>
constexpr PlaneLayout<kElem> kPlaneLayout = PlaneLayout<kElem>::Make();

// 16 kBlocks 4-bit indices from 8 kBlocks bytes of nibbles (16 readable at p), one per byte in
// the order PlaneLayout<kElem> gives.
template <size_t kElem>
HWY_INLINE hn::Vec<D8> PlaneIndices(const uint8_t* p) {
  const D8 d8;
  const hn::RebindToUnsigned<hn::Repartition<uint16_t, DU>> d16;
  const hn::Vec<D8> packed = hn::LoadDup128(d8, p);
  const hn::Vec<D8> nibble = hn::Set(d8, 0x0F);
  const hn::Vec<D8> low = hn::And(packed, nibble);
  const hn::Vec<D8> high =
      hn::And(hn::BitCast(d8, hn::ShiftRight<4>(hn::BitCast(d16, packed))), nibble);
  return hn::Or(hn::TableLookupBytesOr0(low, hn::LoadU(d8, kPlaneLayout<kElem>.pattern_low)),
                hn::TableLookupBytesOr0(high, hn::LoadU(d8, kPlaneLayout<kElem>.pattern_high)));
}

// Four byte planes (byte b of each weight in bN, positions as PlaneLayout<4> orders them) as
// fp32 weights: two rounds of per-block interleaving give w 4 vectors in natural column order.
HWY_INLINE void AssemblePlanes(hn::Vec<D8> b0, hn::Vec<D8> b1, hn::Vec<D8> b2, hn::Vec<D8> b3,
                               VecSpan<DF> w) {
  const DF df;
  const D8 d8;
  const hn::RebindToUnsigned<hn::Repartition<uint16_t, DU>> d16;
  const auto l01 = hn::BitCast(d16, hn::InterleaveLower(d8, b0, b1));
  const auto h01 = hn::BitCast(d16, hn::InterleaveUpper(d8, b0, b1));
  const auto l23 = hn::BitCast(d16, hn::InterleaveLower(d8, b2, b3));
  const auto h23 = hn::BitCast(d16, hn::InterleaveUpper(d8, b2, b3));
  w[0] = hn::BitCast(df, hn::InterleaveLower(d16, l01, l23));
  w[1] = hn::BitCast(df, hn::InterleaveUpper(d16, l01, l23));
  w[2] = hn::BitCast(df, hn::InterleaveLower(d16, h01, h23));
  w[3] = hn::BitCast(df, hn::InterleaveUpper(d16, h01, h23));
}

// 16 kBlocks weights of a 16-entry fp32 table from 8 kBlocks bytes of nibbles (16 readable at p).
// Four byte shuffles fetch the four bytes of every entry ("byte planes" of the table) and two
// rounds of interleaving assemble the fp32 lanes: on AVX2 about half the shuffle work of two
// 8-entry permutes and a blend per 8 weights. w receives 4 vectors in natural column order.
HWY_INLINE void Lookup4Planes(const uint8_t* p, const uint8_t* planes, VecSpan<DF> w) {
  const D8 d8;
  const hn::Vec<D8> idx = PlaneIndices<4>(p);
  const hn::Vec<D8> b0 = hn::TableLookupBytes(hn::LoadDup128(d8, planes), idx);
  const hn::Vec<D8> b1 = hn::TableLookupBytes(hn::LoadDup128(d8, planes + 16), idx);
  const hn::Vec<D8> b2 = hn::TableLookupBytes(hn::LoadDup128(d8, planes + 32), idx);
  const hn::Vec<D8> b3 = hn::TableLookupBytes(hn::LoadDup128(d8, planes + 48), idx);
  AssemblePlanes(b0, b1, b2, b3, w);
}

// The same for a table of 16-bit entries (two byte planes, one round of interleaving): 16 kBlocks
// entries' bits stored at out in natural column order.
HWY_INLINE void Lookup4Planes16(const uint8_t* p, const uint8_t* planes, uint16_t* out) {
  const D8 d8;
  const hn::Vec<D8> idx = PlaneIndices<2>(p);
  StoreHalfWords(hn::TableLookupBytes(hn::LoadDup128(d8, planes), idx),
                 hn::TableLookupBytes(hn::LoadDup128(d8, planes + 16), idx), out);
}

// Calls f(i, field i) for the 16 fields of a chunk of 6- or 8-bit indices at p (16 bytes
// readable), from GPR loads and shifts. Unrolled, so that f sees each i as a constant.
template <int kBits, class F>
HWY_INLINE void ForEachScalarField(const uint8_t* p, const F& f) {
  if constexpr (kBits == 8) {
    HWY_UNROLL(16)
    for (size_t i = 0; i < kChunk; ++i) f(i, uint32_t{p[i]});
  } else {
    static_assert(kBits == 6, "6 or 8 bits");
    // Four 6-bit fields per 3 bytes.
    HWY_UNROLL(4)
    for (size_t g = 0; g < 4; ++g) {
      const uint32_t v = p[3 * g] | (uint32_t{p[3 * g + 1]} << 8) | (uint32_t{p[3 * g + 2]} << 16);
      HWY_UNROLL(4)
      for (size_t k = 0; k < 4; ++k) f(4 * g + k, (v >> (6 * k)) & 63);
    }
  }
}

// Without VBMI, 64- and 256-entry tables exceed in-register permutes, and gathers are slow on
// many cores (Zen 3: under 2 G lanes/s): scalar loads into a stack buffer run on the load/store
// ports instead, beside the vector work, and measured several times faster there.
template <int kBits>
HWY_INLINE void LookupScalar(const uint8_t* p, const uint32_t* table, VecSpan<DF> w) {
  const DF df;
  HWY_ALIGN uint32_t values[kChunk];
  ForEachScalarField<kBits>(p, [&](size_t i, uint32_t field) { values[i] = table[field]; });
  for (size_t j = 0; j < kVecs; ++j) w[j] = hn::BitCast(df, hn::Load(DU(), values + j * kLanes));
}

#if HWY_TARGET == HWY_AVX3_DL
// Byte patterns of a 64-weight step whose position p takes column PlaneColumn<kElem>(p); positions
// 4 g .. 4 g + 3 of a qword hold four consecutive columns (a multiple of 4 first), whose 6-bit
// fields are 3 whole bytes.
template <size_t kElem>
struct WidePatterns {
  uint8_t columns[64];  // 8-bit indices: the index byte of each position's column
  uint8_t sources[64];  // 6-bit: per qword, the 3 bytes of each of its two column quads
  uint8_t shifts[64];   // 6-bit: each position's field offset within its qword

  static constexpr WidePatterns Make() {
    WidePatterns t{};
    for (size_t p = 0; p < 64; ++p) {
      const size_t quad = PlaneColumn<kElem>(8 * (p / 8) + 4 * (p % 8 / 3));
      t.columns[p] = static_cast<uint8_t>(PlaneColumn<kElem>(p));
      t.sources[p] = p % 8 < 6 ? static_cast<uint8_t>(quad / 4 * 3 + p % 8 % 3) : 0;
      t.shifts[p] = static_cast<uint8_t>(6 * (p % 8));
    }
    return t;
  }
};

template <size_t kElem>
constexpr WidePatterns<kElem> kWidePatterns = WidePatterns<kElem>::Make();

// 64 weights' bytes of one byte plane (1 << kBits bytes at plane) from VBMI permutes: vpermb
// reads an index's low 6 bits, vpermi2b 7; the 8th selects between two of those by a blend.
template <int kBits>
HWY_INLINE __m512i WidePlane(__m512i idx, const uint8_t* plane) {
  if constexpr (kBits == 6) {
    return _mm512_permutexvar_epi8(idx, _mm512_loadu_si512(plane));
  } else {
    const __m512i low = _mm512_permutex2var_epi8(_mm512_loadu_si512(plane), idx,
                                                 _mm512_loadu_si512(plane + 64));
    const __m512i high = _mm512_permutex2var_epi8(_mm512_loadu_si512(plane + 128), idx,
                                                  _mm512_loadu_si512(plane + 192));
    return _mm512_mask_blend_epi8(_mm512_movepi8_mask(idx), low, high);
  }
}

// The 64 indices of a step of 4 chunks at p (exactly its 48 or 64 bytes are read), position p
// holding column PlaneColumn<kElem>(p)'s (6-bit: in its low 6 bits, cut out by vpmultishiftqb).
template <int kBits, size_t kElem>
HWY_INLINE __m512i WideIndices(const uint8_t* p) {
  constexpr const WidePatterns<kElem>& kPat = kWidePatterns<kElem>;
  if constexpr (kBits == 6) {
    const __m512i packed = _mm512_maskz_loadu_epi8((uint64_t{1} << 48) - 1, p);
    return _mm512_multishift_epi64_epi8(_mm512_loadu_si512(kPat.shifts),
                                        _mm512_permutexvar_epi8(_mm512_loadu_si512(kPat.sources), packed));
  } else {
    static_assert(kBits == 8, "6 or 8 bits");
    return _mm512_permutexvar_epi8(_mm512_loadu_si512(kPat.columns), _mm512_loadu_si512(p));
  }
}

// 4 chunks of 6- or 8-bit indices at p as fp32 weights from the table's four byte planes
// (byte_planes): one look-up per plane, then AssemblePlanes. The bytes are the table's, so the
// weights are LookupScalar's.
template <int kBits>
HWY_INLINE void LookupWide(const uint8_t* p, const uint8_t* planes, VecSpan<DF> w) {
  static_assert(kLanes == 16, "a step is the 64 bytes of one AVX-512 register");
  const __m512i idx = WideIndices<kBits, 4>(p);
  constexpr size_t kPlane = size_t{1} << kBits;
  using V8 = hn::Vec<D8>;
  AssemblePlanes(V8{WidePlane<kBits>(idx, planes)}, V8{WidePlane<kBits>(idx, planes + kPlane)},
                 V8{WidePlane<kBits>(idx, planes + 2 * kPlane)},
                 V8{WidePlane<kBits>(idx, planes + 3 * kPlane)}, w);
}

// The same from the two byte planes of binary16 entries (half_planes): half the look-ups and one
// round of unpacks, then the exact widening. For 8-bit tables only: it halves lut8's `vpermt2b`
// (cold on Zen 5: 1847 against 3040 µs), but lut6's two-plane `vpermb` and unpacks it saves cost
// less than the widening (1606 against 1476 µs).
template <int kBits>
HWY_INLINE void LookupWideF16(const uint8_t* p, const uint8_t* planes, VecSpan<DF> w) {
  static_assert(kLanes == 16, "a step is the 64 bytes of one AVX-512 register");
  const D8 d8;
  const hn::Repartition<uint16_t, D8> d16;
  const hn::Half<decltype(d16)> dh;
  const __m512i idx = WideIndices<kBits, 2>(p);
  const hn::Vec<D8> low{WidePlane<kBits>(idx, planes)};
  const hn::Vec<D8> high{WidePlane<kBits>(idx, planes + (size_t{1} << kBits))};
  const auto a = hn::BitCast(d16, hn::InterleaveLower(d8, low, high));  // columns 0-31
  const auto b = hn::BitCast(d16, hn::InterleaveUpper(d8, low, high));  // columns 32-63
  w[0] = WidenF16(hn::LowerHalf(dh, a));
  w[1] = WidenF16(hn::UpperHalf(dh, a));
  w[2] = WidenF16(hn::LowerHalf(dh, b));
  w[3] = WidenF16(hn::UpperHalf(dh, b));
}
#endif

// Weights of a palettized matrix as fp32 values: table lookup, then the optional in-register
// scale W = RN_T(value * s). kExact: the decompression form (products unrounded, NaN rule; the
// GEMV skips the rule, since it canonicalises NaN outputs anyway).
template <int kBits, LutLayout kLayout, bool kExact = false>
struct LutMatrixDecoder {
  // Chunks per DecodeStep: a byte-plane step for fast layouts with byte planes, a row step
  // (RowStepChunks) for the other fast layouts, one chunk for kGeneral.
  static constexpr size_t kPlaneChunks = kLayout != LutLayout::kGeneral ? PlaneStepChunks(kBits) : 1;
  static constexpr size_t kStepChunks =
      kPlaneChunks > 1 || kLayout == LutLayout::kGeneral ? kPlaneChunks : RowStepChunks(kBits);
  static constexpr bool kMultiRow = kLayout != LutLayout::kGeneral;
  // Decoding, not fma latency, bounds 8-lane targets: two rows keep the decode in registers.
  // 16-lane targets: 4 rows but for lut6 (cold on Zen 5, against 8 rows: lut1 -15 %, lut2 -23 %,
  // lut4 -11 %, lut8 -4 %, lut3 unchanged, lut6 +1 %).
  static constexpr size_t kBlockRows = kVecs == 2 ? 2 : (kVecs == 1 && kBits != 6 ? 4 : kLatencyBlockRows);

  const LutMatrixPlan& plan;
  size_t row_bits;
  RowPrefetch<1536, (kBits >= 3)> prefetch;
  // The plan's arrays, for DecodeStepF16: read through `plan` after the stores of a step, which
  // may alias anything, they would be reloaded at every step.
  const uint8_t* indices;
  const uint8_t* half_planes;
  const LutRowInfo* row_info;
  const size_t* chunk_table_offset;

  explicit LutMatrixDecoder(const LutMatrixPlan& p)
      : plan(p),
        row_bits(p.cols * static_cast<size_t>(kBits)),
        prefetch(row_bits, GemvReadRows(*this)),  // F16Steps() reads `plan` only
        indices(p.indices),
        half_planes(p.half_planes.data()),
        row_info(p.row_info.data()),
        chunk_table_offset(p.chunk_table_offset.data()) {}

  // Rows whose full chunks start on a byte and may read 16 bytes: all but the last few rows,
  // when a row's bits are a whole number of bytes.
  using Cursor = size_t;
  Cursor Begin(size_t r) const { return r; }

  size_t FastRows() const {
    if (row_bits % 8 != 0) return 0;
    const size_t row_bytes = row_bits / 8;
    const size_t full = plan.cols / kChunk;
    if (full == 0) return plan.rows;
    const size_t last_chunk = (full - 1) * 2 * kBits;
    if (plan.index_bytes < last_chunk + 16) return 0;
    return std::min(plan.rows, (plan.index_bytes - last_chunk - 16) / row_bytes + 1);
  }

  // Rows are read kBlockRows at a time, interleaved, which hardware prefetchers follow poorly.
  // 1.5 KiB ahead measured best on Zen 3 (one block ahead was slower). For n >= 3, rows at least
  // that long (4096 columns and more) wrap past their end to the next block's row, not into row
  // r + 1, which is being read already: cold on Zen 5, lut4 -20 %, lut6 -23 %, lut8 -25 %. n <= 2:
  // wrapping cost lut1 10 %, lut2 5 % cold there; rows shorter than the distance (n <= 2 at 4096
  // columns) read ahead the next block's row at the same columns instead of +1.5 KiB, which fell
  // into the rows being read (Intel Xeon, cold: lut2 898 -> 670 us, lut1 unchanged).
  HWY_INLINE void Prefetch(size_t r, size_t c) const {
    prefetch.At(plan.indices, row_bits, r, uint64_t{c} * kChunk * kBits);
  }

  // The batch product's: a panel row's indices (tables, as for Prefetch, are left to the caches).
  template <bool kL2>
  HWY_INLINE void PrefetchPanel(size_t r, size_t c, size_t n) const {
    PrefetchLines<kL2>(plan.indices, (uint64_t{r} * row_bits + uint64_t{c} * kChunk * kBits) / 8,
                       uint64_t{n} * kChunk * kBits / 8);
  }

  // Where the full chunk c of row r starts (rows < FastRows(): rows of whole bytes).
  HWY_INLINE const uint8_t* StepBytes(size_t r, size_t c) const {
    return plan.indices + ((uint64_t{r} * row_bits + uint64_t{c} * kChunk * kBits) >> 3);
  }

  // kStepChunks full chunks starting at chunk c (kStepChunks * kVecs vectors).
  template <bool kSafe>
  WK_DECODE_INLINE void DecodeStep(size_t r, size_t c, VecSpan<DF> w) const {
    if constexpr (kPlaneChunks > 1 && !kSafe) {
      const uint8_t* p = StepBytes(r, c);
      const size_t table = Table(r, c);
      const uint8_t* planes = plan.byte_planes.data() + table * 4;
      if constexpr (kBits == 4) {
        Lookup4Planes(p, planes, w);
      } else {
#if HWY_TARGET == HWY_AVX3_DL
        if constexpr (kLayout == LutLayout::kPlainHalf) {
          LookupWideF16<kBits>(p, half_planes + table * 2, w);
        } else {
          LookupWide<kBits>(p, planes, w);
        }
#else
        static_assert(kBits == 4, "wider indices take byte-plane steps only with VBMI");
#endif
      }
      for (size_t s = 0; s < kStepChunks; ++s) Scale(r, c + s, w + s * kVecs);
    } else if constexpr (kStepChunks > 1 && !kSafe) {
      // A row step: one address for its chunks, 2n bytes apart.
      const uint8_t* p = StepBytes(r, c);
      for (size_t s = 0; s < kStepChunks; ++s) DecodeBytes(p + s * 2 * kBits, r, c + s, w + s * kVecs);
    } else {
      for (size_t s = 0; s < kStepChunks; ++s) Decode<kSafe>(r, c + s, w + s * kVecs);
    }
  }

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  // Unscaled 4-bit tables: GEMV row steps in paired order (PairedNibbles).
  static constexpr bool kPairedSteps = kBits == 4 && kLayout == LutLayout::kPlain && kStepChunks > 1;

  WK_DECODE_INLINE void DecodeStepPaired(size_t r, size_t c, VecSpan<DF> w) const {
    const uint8_t* p = StepBytes(r, c);
    for (size_t s = 0; s < kStepChunks; ++s) {
      VecArray<DU, 1> idx;
      idx[0] = PairedNibbles(p + 8 * s);
      Lookups(r, c + s, idx, w + s);
    }
  }
#endif

  // Unscaled fp16 tables of 4 or 6 bits, and of 1-3 bits on 8-lane targets (lut4's look-up, 64
  // columns a step): a step's entries as binary16 bits, in split order.
  static constexpr bool kNarrowF16 = kBits <= 3 && kLanes == 8;
  static constexpr bool kF16Steps =
      (kBits == 4 || kBits == 6 || kNarrowF16) && kPlanes4 && kLayout == LutLayout::kPlain;
  // 4-bit panels decode faster to fp32 directly (four byte planes, no order to restore).
  static constexpr bool kF16Panels = kBits == 6;
  static constexpr size_t kF16StepChunks = kBits == 6 ? kSplit6StepChunks : kSplitStepChunks;
  static constexpr size_t F16Offset(size_t s, size_t j) {
    return kBits == 6 ? Split6Offset(s, j) : SplitOffset<kF16StepChunks>(s, j);
  }
  // A step's columns must share one table.
  bool F16Steps() const {
    return !plan.half_planes.empty() &&
           (plan.group_cols % (kChunk * kF16StepChunks) == 0 || plan.group_cols == plan.cols);
  }

  WK_DECODE_INLINE void DecodeStepF16(size_t r, size_t c, uint16_t* out) const {
    const uint64_t bit = uint64_t{r} * row_bits + uint64_t{c} * kChunk * kBits;
    const size_t table = row_info[r].table_offset + chunk_table_offset[c];
    if constexpr (kBits == 4) {
      Lookup4PlanesSplit<kSplitStepChunks>(indices + (bit >> 3), half_planes + table * 2, out);
    } else if constexpr (kBits <= 3) {
      LookupNarrowPlanesSplit<kBits>(indices + (bit >> 3), half_planes + table * 2, out);
    } else {
      Lookup6PlanesSplit(indices + (bit >> 3), half_planes + table * 2, out);
    }
  }

  template <bool kSafe>
  WK_DECODE_INLINE void Decode(size_t r, size_t c, VecSpan<DF> w) const {
    HWY_ALIGN uint8_t aligned[16];
    DecodeBytes(ChunkBytes<kSafe>(uint64_t{r} * row_bits + uint64_t{c} * kChunk * kBits, aligned), r, c, w);
  }

  // Chunk c of row r from its indices' bytes (16 readable at p).
  WK_DECODE_INLINE void DecodeBytes(const uint8_t* p, size_t r, size_t c, VecSpan<DF> w) const {
    if constexpr (kBits == 4 && kPlanes4 && kPlaneStepChunks == 1 && kLayout != LutLayout::kGeneral) {
      // One chunk is one byte-plane step.
      Lookup4Planes(p, plan.byte_planes.data() + Table(r, c) * 4, w);
    } else if constexpr (kBits >= 6 && kLayout != LutLayout::kGeneral) {
      LookupScalar<kBits>(p, plan.value_tables.data() + Table(r, c), w);
    } else {
      VecArray<DU, kVecs> idx;
      DecodeIndices<kBits>(p, idx);
      Lookups(r, c, idx, w);
    }
    Scale(r, c, w);
  }

  WK_DECODE_INLINE void DecodeTail(size_t r, size_t c, VecSpan<DF> w) const { Decode<true>(r, c, w); }

 private:
  // The table of chunk c of row r, for layouts whose chunks each use one.
  HWY_INLINE size_t Table(size_t r, size_t c) const {
    return plan.row_info[r].table_offset + plan.chunk_table_offset[c];
  }

  // The chunk at `bit` from 16 bytes readable at the returned pointer: in place, or (kSafe) copied
  // to `aligned` without reading outside the indices.
  template <bool kSafe>
  HWY_INLINE const uint8_t* ChunkBytes(uint64_t bit, uint8_t* aligned) const {
    if constexpr (kSafe) {
      SafeChunkBytes<kBits>(plan.indices, plan.index_bytes, bit, aligned);
      return aligned;
    } else {
      return plan.indices + (bit >> 3);
    }
  }

  HWY_INLINE void Lookups(size_t r, size_t c, VecSpan<DU> idx, VecSpan<DF> w) const {
    const DF df;
    const size_t row_offset = plan.row_info[r].table_offset;
    if (kLayout != LutLayout::kGeneral || plan.chunk_aligned_groups) {
      const uint32_t* table = plan.value_tables.data() + row_offset + plan.chunk_table_offset[c];
      for (size_t j = 0; j < kVecs; ++j) w[j] = hn::BitCast(df, Lookup<kBits>(table, idx[j]));
    } else {
      // A table per lane: entry + the lane's group offset, gathered from all tables at once.
      const DU du;
      const DI di;
      const hn::Vec<DI> base = hn::Set(di, static_cast<int32_t>(row_offset));
      for (size_t j = 0; j < kVecs; ++j) {
        const VU entry = hn::And(idx[j], hn::Set(du, (1u << kBits) - 1));
        const hn::Vec<DI> offset =
            hn::Add(base, hn::LoadU(di, plan.lane_table_offset.data() + c * kChunk + j * kLanes));
        const hn::Vec<DI> flat = hn::Add(offset, hn::BitCast(di, entry));
        w[j] = hn::BitCast(df, hn::GatherIndex(du, plan.value_tables.data(), flat));
      }
    }
  }

  HWY_INLINE void Scale(size_t r, size_t c, VecSpan<DF> w) const {
    if constexpr (kLayout == LutLayout::kPlain || kLayout == LutLayout::kPlainHalf) {
      return;
    } else {
      if (kLayout == LutLayout::kGeneral && plan.scale_mode == LutScaleMode::kNone) return;
      const DF df;
      const float* scale = plan.scale_values.data() + plan.row_info[r].scale_offset;
      const bool per_row = kLayout == LutLayout::kGeneral && plan.scale_mode == LutScaleMode::kPerRow;
      const bool round_f16 = !kExact && (kLayout == LutLayout::kColumnScaleF16 || plan.round_f16);
      for (size_t j = 0; j < kVecs; ++j) {
        const VF s = per_row ? hn::Set(df, scale[0]) : hn::LoadU(df, scale + c * kChunk + j * kLanes);
        VF product = hn::Mul(w[j], s);
        if constexpr (kExact) product = PreferDataNaN(product, w[j]);
        w[j] = round_f16 ? RoundThroughF16(product) : product;
      }
    }
  }
};

// Calls body(decoder) with the decoder for this plan's layout.
template <int kBits, class Body>
HWY_INLINE void WithLutDecoder(const LutMatrixPlan& plan, const Body& body) {
  switch (LayoutOf(plan)) {
    case LutLayout::kPlainHalf:
      if constexpr (HalfWideLookups(kBits)) return body(LutMatrixDecoder<kBits, LutLayout::kPlainHalf>(plan));
      [[fallthrough]];  // never chosen: LayoutOf picks it only where HalfWideLookups
    case LutLayout::kPlain: return body(LutMatrixDecoder<kBits, LutLayout::kPlain>(plan));
    case LutLayout::kColumnScaleF16:
      return body(LutMatrixDecoder<kBits, LutLayout::kColumnScaleF16>(plan));
    case LutLayout::kGeneral: return body(LutMatrixDecoder<kBits, LutLayout::kGeneral>(plan));
  }
}

// Fused GEMV of a plan with kBits-bit indices.
template <int kBits>
HWY_INLINE void LutMatrixGemvBits(const LutMatrixPlan& plan, const GemvOperands& io) {
  WithLutDecoder<kBits>(plan, [&](const auto& dec) {
    MatrixProduct(dec, plan.cols, io);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#endif  // WK_PALETTIZATION_LUT_MATRIX_INL_H_
