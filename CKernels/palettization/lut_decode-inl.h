// Per-target decoding of Core ML's packed n-bit indices (FORMATS.md §2.1) and table lookup: the
// one implementation behind every palettization kernel. A chunk of 16 indices always occupies 2n
// bytes, whatever the vector width; lanes come out in natural column order.
#if defined(WK_PALETTIZATION_LUT_DECODE_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WK_PALETTIZATION_LUT_DECODE_INL_H_
#undef WK_PALETTIZATION_LUT_DECODE_INL_H_
#else
#define WK_PALETTIZATION_LUT_DECODE_INL_H_
#endif

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "palettization/lut_plan.h"

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

using D8 = hn::Repartition<uint8_t, DU>;

// Where the n-bit field of column N j + i of a chunk lies: TableLookupBytesOr0 gathers the two
// bytes it touches into u32 lane i (pattern), then a per-lane right shift aligns it (shift).
// Bits above the field are unspecified; Lookup ignores or masks them.
template <int kBits>
struct IndexLayout {
  uint8_t pattern[kVecs][4 * kLanes];
  uint32_t shift[kVecs][kLanes];

  static constexpr IndexLayout Make() {
    IndexLayout t{};
    for (size_t j = 0; j < kVecs; ++j) {
      for (size_t i = 0; i < kLanes; ++i) {
        const size_t bit = (j * kLanes + i) * kBits;
        const uint8_t byte = static_cast<uint8_t>(bit / 8);
        t.pattern[j][4 * i] = byte;
        t.pattern[j][4 * i + 1] = (bit % 8) + kBits > 8 ? static_cast<uint8_t>(byte + 1) : 0x80;
        t.pattern[j][4 * i + 2] = 0x80;
        t.pattern[j][4 * i + 3] = 0x80;
        t.shift[j][i] = static_cast<uint32_t>(bit % 8);
      }
    }
    return t;
  }
};

template <int kBits>
constexpr IndexLayout<kBits> kIndexLayout = IndexLayout<kBits>::Make();

#if HWY_TARGET == HWY_AVX3_DL
// VBMI, n <= 4: a chunk's 2n bytes fit a qword. Broadcast to every qword, one vpmultishiftqb
// moves field i to the low byte of lane i (control byte 4 i: bit offset n i), instead of a byte
// shuffle and a variable shift.
template <int kBits>
struct FieldShifts {
  uint8_t control[64];

  static constexpr FieldShifts Make() {
    FieldShifts t{};
    for (size_t i = 0; i < 16; ++i) t.control[4 * i] = static_cast<uint8_t>(kBits * i);
    return t;
  }
};

template <int kBits>
constexpr FieldShifts<kBits> kFieldShifts = FieldShifts<kBits>::Make();
#endif

#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
// AVX-512, n <= 2: a chunk's fields fit a dword, which a load broadcasts (no shuffle uop); lane i
// shifts field i down, on the shift pipe rather than the look-up's shuffle pipe.
template <int kBits>
struct DwordShifts {
  alignas(64) uint32_t shift[16];

  static constexpr DwordShifts Make() {
    DwordShifts t{};
    for (size_t i = 0; i < 16; ++i) t.shift[i] = static_cast<uint32_t>(kBits * i);
    return t;
  }
};

template <int kBits>
constexpr DwordShifts<kBits> kDwordShifts = DwordShifts<kBits>::Make();

// Paired order (PairedColumn, gemv_operands.h): a chunk of nibbles (a qword) broadcast and
// shifted right by 4k in qword k leaves nibble k at the bottom of dword 2k and nibble k + 8 at that
// of dword 2k + 1: the index work of 4-bit look-ups on the shift pipe instead of the look-up's
// shuffle pipe; the products meet x in that order (matmul-inl.h, kPairedSteps).
struct PairedShifts {
  alignas(64) uint64_t shift[8];

  static constexpr PairedShifts Make() {
    PairedShifts t{};
    for (size_t k = 0; k < 8; ++k) t.shift[k] = 4 * k;
    return t;
  }
};

constexpr PairedShifts kPairedShifts = PairedShifts::Make();

// The nibbles of the chunk at p (8 readable bytes) in paired order, in the low 4 bits of each lane
// (bits above them unspecified: Lookup<4> ignores them).
HWY_INLINE VU PairedNibbles(const uint8_t* p) {
  const hn::Repartition<uint64_t, DU> d64;
  uint64_t chunk;
  std::memcpy(&chunk, p, 8);
  return hn::BitCast(DU(), hn::Shr(hn::Set(d64, chunk), hn::Load(d64, kPairedShifts.shift)));
}
#endif

// Index fields of one chunk from 16 readable bytes at p (the chunk uses the first 2n).
template <int kBits>
WK_DECODE_INLINE void DecodeIndices(const uint8_t* p, VecSpan<DU> idx) {
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
  if constexpr (kBits <= 2) {
    static_assert(kLanes == 16, "a chunk is one vector");
    uint32_t chunk;  // and the next chunk's bits (above the fields: ignored)
    std::memcpy(&chunk, p, 4);
    idx[0] = hn::Shr(hn::Set(DU(), chunk), hn::Load(DU(), kDwordShifts<kBits>.shift));
    return;
  }
#endif
#if HWY_TARGET == HWY_AVX3_DL
  if constexpr (kBits <= 4) {
    static_assert(kLanes == 16, "a chunk is one vector");
    uint64_t chunk;
    std::memcpy(&chunk, p, 8);
    idx[0] = VU{_mm512_multishift_epi64_epi8(_mm512_loadu_si512(kFieldShifts<kBits>.control),
                                             _mm512_set1_epi64(static_cast<long long>(chunk)))};
    return;
  }
#endif
  const DU du;
  const D8 d8;
  const hn::Vec<D8> bytes = hn::LoadDup128(d8, p);
  for (size_t j = 0; j < kVecs; ++j) {
    VU v = hn::BitCast(du, hn::TableLookupBytesOr0(bytes, hn::LoadU(d8, kIndexLayout<kBits>.pattern[j])));
    if constexpr (kBits != 8) v = hn::Shr(v, hn::LoadU(du, kIndexLayout<kBits>.shift[j]));
    idx[j] = v;
  }
}

// Copies the chunk whose first index is at bit `bit` of buf[0, nbytes) into 16 bytes starting
// at a byte boundary, without reading outside buf.
template <int kBits>
HWY_INLINE void SafeChunkBytes(const uint8_t* buf, size_t nbytes, uint64_t bit, uint8_t* aligned) {
  constexpr size_t kBytes = 2 * kBits;
  const size_t first = static_cast<size_t>(bit >> 3);
  const unsigned s = static_cast<unsigned>(bit & 7);
  uint8_t raw[kBytes + 1] = {};
  std::memcpy(raw, buf + first, std::min(kBytes + 1, nbytes - first));
  for (size_t i = 0; i < 16; ++i) {
    aligned[i] = i < kBytes ? static_cast<uint8_t>((raw[i] >> s) | (raw[i + 1] << (8 - s))) : 0;
  }
}

// The chunk whose first index is at bit `bit` of buf[0, nbytes), without reading outside buf.
template <int kBits>
WK_DECODE_INLINE void DecodeIndicesSafe(const uint8_t* buf, size_t nbytes, uint64_t bit, VecSpan<DU> idx) {
  HWY_ALIGN uint8_t aligned[16];
  SafeChunkBytes<kBits>(buf, nbytes, bit, aligned);
  DecodeIndices<kBits>(aligned, idx);
}

// table[idx & (2^n - 1)] per lane. Tables of n < 4 bits are repeated to 16 entries, so for
// n <= 4 only the low 4 bits matter and permutes that ignore higher bits need no mask.
template <int kBits>
WK_DECODE_INLINE VU Lookup(const uint32_t* table, VU idx) {
  const DU du;
  if constexpr (kBits >= 6) {
    const DI di;
    const VU masked = hn::And(idx, hn::Set(du, (1u << kBits) - 1));
    return hn::GatherIndex(du, table, hn::BitCast(di, masked));
  } else {
    constexpr size_t kUsed = std::min<size_t>(size_t{1} << kBits, 16);
    constexpr size_t kSub = kUsed > kLanes ? kUsed / kLanes : 1;
#if HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3
    static_assert(kLanes == 16, "AVX-512 chunk is one vector");
    return VU{_mm512_permutexvar_epi32(idx.raw, hn::LoadU(du, table).raw)};
#elif HWY_ARCH_X86 && HWY_TARGET == HWY_AVX2
    const __m256i lo = _mm256_permutevar8x32_epi32(hn::LoadU(du, table).raw, idx.raw);
    if constexpr (kSub == 1) {
      return VU{lo};
    } else {
      const __m256i hi = _mm256_permutevar8x32_epi32(hn::LoadU(du, table + 8).raw, idx.raw);
      // Index bit 3 picks the upper half: move it to the sign bit that blendv tests.
      const __m256 select = _mm256_castsi256_ps(_mm256_slli_epi32(idx.raw, 28));
      return VU{_mm256_castps_si256(_mm256_blendv_ps(_mm256_castsi256_ps(lo),
                                                     _mm256_castsi256_ps(hi), select))};
    }
#else
    constexpr uint32_t kLaneBits = hwy::CeilLog2(kLanes);
    const VU lane = hn::And(idx, hn::Set(du, static_cast<uint32_t>(kLanes - 1)));
    const auto indices = hn::IndicesFromVec(du, lane);
    VU result = hn::TableLookupLanes(hn::LoadU(du, table), indices);
    const VU sub = hn::And(hn::ShiftRight<kLaneBits>(idx), hn::Set(du, static_cast<uint32_t>(kSub - 1)));
    for (size_t s = 1; s < kSub; ++s) {
      const VU v = hn::TableLookupLanes(hn::LoadU(du, table + s * kLanes), indices);
      result = hn::IfThenElse(hn::Eq(sub, hn::Set(du, static_cast<uint32_t>(s))), v, result);
    }
    return result;
#endif
  }
}

// The binary16 words whose low bytes are lo and high bytes hi (two byte-plane look-ups): one
// round of per-block interleaving, stored at out (2 N words for N-byte vectors).
HWY_INLINE void StoreHalfWords(hn::Vec<D8> lo, hn::Vec<D8> hi, uint16_t* out) {
  const D8 d8;
  const hn::RebindToUnsigned<hn::Repartition<uint16_t, DU>> d16;
  hn::StoreU(hn::BitCast(d16, hn::InterleaveLower(d8, lo, hi)), d16, out);
  hn::StoreU(hn::BitCast(d16, hn::InterleaveUpper(d8, lo, hi)), d16, out + hn::Lanes(d16));
}

// Chunks of the widest split look-up: 64 columns (one 32-byte load of nibbles) on 8-lane
// targets, one chunk on 4-lane ones.
constexpr size_t kSplitStepChunks = kLanes == 8 ? 4 : 1;

// Where Lookup4PlanesSplit<kChunks> leaves vector j of chunk s (kLanes entries, in split order:
// even columns, then odd), in entries from out. 64 columns: the 256-bit stores hold [even
// columns of chunk s | of chunk s + 2] and then the odd ones alike.
template <size_t kChunks>
constexpr size_t SplitOffset(size_t s, size_t j) {
  return kChunks == 4 && kLanes == 8 ? 8 * (4 * j + 2 * (s & 1) + (s >> 1)) : 16 * s + kLanes * j;
}

// The binary16 words of a 16-entry table (byte planes at `planes`) for 64 columns whose indices
// are byte k of `even` (column 2k) and of `odd` (column 2k + 1), low 4 bits, placed as
// SplitOffset<4> says.
HWY_INLINE void StoreSplitPlanes(hn::Vec<D8> even, hn::Vec<D8> odd, const uint8_t* planes, uint16_t* out) {
  const D8 d8;
  const hn::Vec<D8> plane_low = hn::LoadDup128(d8, planes);
  const hn::Vec<D8> plane_high = hn::LoadDup128(d8, planes + 16);
  StoreHalfWords(hn::TableLookupBytes(plane_low, even), hn::TableLookupBytes(plane_high, even), out);
  StoreHalfWords(hn::TableLookupBytes(plane_low, odd), hn::TableLookupBytes(plane_high, odd), out + 32);
}

// 16 kChunks weights of a 16-entry binary16 table (byte planes: 16 low bytes, 16 high bytes) from
// 8 kChunks bytes of nibbles (16 readable at p), each chunk in split order (its even columns,
// then its odd ones: the staged GEMV's order), placed as SplitOffset says. The nibbles need
// no reordering: low nibbles (even columns) and high ones go to separate bytes or blocks by
// shifts. Column order would need a byte pattern per block, which compilers turn into
// lane-crossing vpermd (1.3 cycles each on Zen 3, blocking the fma beside them).
template <size_t kChunks>
HWY_INLINE void Lookup4PlanesSplit(const uint8_t* p, const uint8_t* planes, uint16_t* out) {
  static_assert(kChunks == 1 ? kLanes == 4 : (kChunks == 2 || kChunks == 4) && kLanes == 8,
                "one chunk per 128-bit block of 4 lanes, two or four per two blocks of 8");
  const D8 d8;
  const hn::RebindToUnsigned<hn::Repartition<uint16_t, DU>> d16;
  const hn::Vec<D8> nibble = hn::Set(d8, 0x0F);
  const hn::Vec<D8> plane_low = hn::LoadDup128(d8, planes);
  const hn::Vec<D8> plane_high = hn::LoadDup128(d8, planes + 16);
  const auto store = [&](hn::Vec<D8> idx, uint16_t* q) {
    StoreHalfWords(hn::TableLookupBytes(plane_low, idx), hn::TableLookupBytes(plane_high, idx), q);
  };
  if constexpr (kChunks == 4) {
    const hn::Vec<D8> packed = hn::LoadU(d8, p);
    StoreSplitPlanes(hn::And(packed, nibble),
                     hn::And(hn::BitCast(d8, hn::ShiftRight<4>(hn::BitCast(d16, packed))), nibble), planes, out);
  } else if constexpr (kChunks == 2) {
    // Block 0 takes the low nibbles, block 1 the high ones: one variable shift.
    // A type that depends on kChunks: the variable shift (operator>> only on x86 in Highway
    // 1.0.3) is then compiled only for this branch.
    const std::conditional_t<kChunks == 2, DU, void> du;
    alignas(32) static constexpr uint32_t kShift[8] = {0, 0, 0, 0, 4, 4, 4, 4};
    const hn::Vec<D8> packed = hn::LoadDup128(d8, p);
    store(hn::And(hn::BitCast(d8, hn::BitCast(du, packed) >> hn::Load(du, kShift)), nibble), out);
  } else {
    const hn::Repartition<uint64_t, D8> d64;
    const hn::Vec<D8> packed = hn::LoadDup128(d8, p);
    const hn::Vec<D8> low = hn::And(packed, nibble);
    const hn::Vec<D8> high = hn::And(hn::BitCast(d8, hn::ShiftRight<4>(hn::BitCast(d16, packed))), nibble);
    store(hn::BitCast(d8, hn::InterleaveLower(d64, hn::BitCast(d64, low), hn::BitCast(d64, high))), out);
  }
}

// 6-bit look-ups (Lookup6PlanesSplit): one chunk per 128-bit block; block s holds chunk s, even
// columns in bytes 0-7 and odd ones in 8-15. Two such steps per call, sharing the table's plane
// loads, measured no faster.
constexpr size_t kSplit6StepChunks = kLanes / 4;
// Where vector j (split order) of chunk s of a step lands, in entries.
constexpr size_t Split6Offset(size_t s, size_t j) { return kLanes == 8 ? 8 * s + 16 * j : kLanes * j; }

// How a chunk's 16 six-bit fields (12 bytes) become one byte each, in split order, with two byte
// shuffles and two 16-bit multiplies: byte 2i of a block is word i of `a`, byte 2i + 1 word i of
// `b`, each shifted right by MulHigh to put its field's bits at 0-5. a's words are columns 0, 4,
// 8, 12, 1, 5, 9, 13 and b's 2, 6, 10, 14, 3, 7, 11, 15.
// Make(true): byte i is field i (natural order): lut6 decompression's columns, and lut3's index
// pairs of columns 2i and 2i + 1.
struct Index6Layout {
  uint8_t a[16];
  uint8_t b[16];
  uint16_t mul_a[8];
  uint16_t mul_b[8];

  static constexpr Index6Layout Make(bool natural) {
    Index6Layout t{};
    for (size_t i = 0; i < 8; ++i) {
      const size_t col_a = natural ? 2 * i : 4 * (i % 4) + i / 4;
      const size_t col_b = natural ? 2 * i + 1 : col_a + 2;
      // a: a field starting a byte goes to a word's high byte (a MulHigh shifts by 1-15 bits).
      const size_t byte_a = 6 * col_a / 8, off_a = 6 * col_a % 8;
      t.a[2 * i] = off_a == 0 ? 0x80 : static_cast<uint8_t>(byte_a);
      t.a[2 * i + 1] = static_cast<uint8_t>(byte_a + (off_a == 0 ? 0 : 1));
      t.mul_a[i] = static_cast<uint16_t>(1u << (off_a == 0 ? 8 : 16 - off_a));
      // b: the field's byte low, the next one high if the field reaches it (offset 2, 4 or 6).
      const size_t byte_b = 6 * col_b / 8, off_b = 6 * col_b % 8;
      t.b[2 * i] = static_cast<uint8_t>(byte_b);
      t.b[2 * i + 1] = off_b + 6 > 8 ? static_cast<uint8_t>(byte_b + 1) : 0x80;
      t.mul_b[i] = static_cast<uint16_t>(1u << (16 - off_b));
    }
    return t;
  }
};

constexpr Index6Layout kIndex6Layout = Index6Layout::Make(false);
constexpr Index6Layout kIndex6Natural = Index6Layout::Make(true);

// The 16 six-bit fields of the 12 bytes at the start of each 128-bit block of src as bytes, in
// the layout's order (two byte shuffles and two 16-bit multiplies; bits 6 and 7 of a byte may
// hold the next field's bits).
HWY_INLINE hn::Vec<hn::RebindToUnsigned<hn::Repartition<uint16_t, DU>>> Fields6(hn::Vec<D8> src,
                                                                               const Index6Layout& t) {
  const D8 d8;
  const hn::RebindToUnsigned<hn::Repartition<uint16_t, DU>> d16;
  const auto a = hn::BitCast(d16, hn::TableLookupBytesOr0(src, hn::LoadDup128(d8, t.a)));
  const auto b = hn::BitCast(d16, hn::TableLookupBytesOr0(src, hn::LoadDup128(d8, t.b)));
  return hn::Or(hn::And(hn::MulHigh(a, hn::LoadDup128(d16, t.mul_a)), hn::Set(d16, 0x00FF)),
                hn::ShiftLeft<8>(hn::MulHigh(b, hn::LoadDup128(d16, t.mul_b))));
}

// lut1, lut2, lut3 through lut4's staged look-up (StoreSplitPlanes; 8-lane targets): the 64
// indices of a step become lut4's two byte vectors, even columns and odd ones, each index masked
// in its byte, in as few operations as their packing allows. 16 bytes readable at p, and at p + 12
// for 3 bits. Tables of fewer than 16 entries are repeated to 16.
template <int kBits, size_t kL = kLanes>  // a template: instantiated only where a decoder stages
HWY_INLINE void LookupNarrowPlanesSplit(const uint8_t* p, const uint8_t* planes, uint16_t* out) {
  static_assert(kL == 8 && kBits >= 1 && kBits <= 3, "64 columns of 1-3 bit indices per step");
  const D8 d8;
  const hn::RebindToUnsigned<hn::Repartition<uint16_t, DU>> d16;
  hn::Vec<D8> even;
  hn::Vec<D8> odd;
  if constexpr (kBits == 1) {
    // Byte k takes index byte k / 4 (both blocks hold bytes 0-7); bit 2 (k % 4) is column 2k,
    // the next bit column 2k + 1.
    alignas(16) static constexpr uint8_t kSpread[32] = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                                        4, 4, 4, 4, 5, 5, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7};
    alignas(16) static constexpr uint8_t kBit[16] = {1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64, 1, 4, 16, 64};
    const hn::Vec<D8> spread = hn::TableLookupBytes(hn::LoadDup128(d8, p), hn::LoadU(d8, kSpread));
    const hn::Vec<D8> bit = hn::LoadDup128(d8, kBit);
    const hn::Vec<D8> one = hn::Set(d8, 1);
    even = hn::Min(hn::And(spread, bit), one);
    odd = hn::Min(hn::And(spread, hn::Add(bit, bit)), one);
  } else if constexpr (kBits == 2) {
    // Word m holds index byte m, columns 4m ... 4m + 3: columns 4m and 4m + 2 to its two bytes
    // for `even`, 4m + 1 and 4m + 3 for `odd`.
    const hn::Rebind<uint8_t, decltype(d16)> dn;
    const auto w = hn::PromoteTo(d16, hn::LoadU(dn, p));
    const auto mask = hn::Set(d16, 0x0303);
    even = hn::BitCast(d8, hn::And(hn::Or(w, hn::ShiftLeft<4>(w)), mask));
    odd = hn::BitCast(d8, hn::And(hn::Or(hn::ShiftRight<2>(w), hn::ShiftLeft<2>(w)), mask));
  } else {
    // Block s holds bytes 12 s ... 12 s + 11: 16 index pairs of 6 bits.
    const hn::Half<D8> dh;
    const auto pairs = Fields6(hn::Combine(d8, hn::LoadU(dh, p + 12), hn::LoadU(dh, p)), kIndex6Natural);
    const auto mask = hn::Set(d16, 0x0707);
    even = hn::BitCast(d8, hn::And(pairs, mask));
    odd = hn::BitCast(d8, hn::And(hn::ShiftRight<3>(pairs), mask));
  }
  StoreSplitPlanes(even, odd, planes, out);
}

// The low and the high bytes of the entries of a 64-entry binary16 table (two byte planes: the
// 64 low bytes, then the 64 high ones, each four 16-entry sub-tables at planes + 64 k + 16 t)
// that index fields in bytes select (bits 0-5; 6 and 7 ignored): every sub-table is looked up
// with the low 4 bits, and index bits 4 and 5, moved to the sign bit, pick among the four (a
// blend each on AVX2): 8 shuffles and 6 blends per 32 weights, against scalar loads of every entry.
HWY_INLINE void Lookup6Planes(hn::Vec<hn::RebindToUnsigned<hn::Repartition<uint16_t, DU>>> fields,
                              const uint8_t* planes, hn::Vec<D8>& lo, hn::Vec<D8>& hi) {
  const D8 d8;
  const hn::Repartition<int8_t, D8> di8;
  // Arm's byte look-up gives 0 for indices of 16 and more: keep the low 4 bits.
  const auto low = hn::BitCast(di8, hn::And(hn::BitCast(d8, fields), hn::Set(d8, 0x0F)));
  // Bits 4 and 5 as whole-byte masks (Highway 1.0.3's IfNegativeThenElse of int8 lanes reads
  // every bit of the selector on targets without a byte blend). Where a blend reads only the sign
  // bit, clang drops the compares.
  const auto zero = hn::Zero(di8);
  const auto bit4 = hn::Lt(hn::BitCast(di8, hn::ShiftLeft<3>(fields)), zero);
  const auto bit5 = hn::Lt(hn::BitCast(di8, hn::ShiftLeft<2>(fields)), zero);
  const auto plane = [&](size_t k) {
    const auto l = [&](size_t t) {
      return hn::BitCast(di8, hn::TableLookupBytes(hn::LoadDup128(d8, planes + 64 * k + 16 * t), low));
    };
    return hn::BitCast(d8, hn::IfThenElse(bit5, hn::IfThenElse(bit4, l(3), l(2)), hn::IfThenElse(bit4, l(1), l(0))));
  };
  lo = plane(0);
  hi = plane(1);
}

// One chunk of 6-bit indices per 128-bit block: chunk s's 12 bytes (16 readable) at p + 12 s.
template <size_t kL>
HWY_INLINE hn::Vec<D8> Index6Blocks(const uint8_t* p) {
  static_assert(kL == 4 || kL == 8, "one chunk per 128-bit block");
  const D8 d8;
  if constexpr (kL == 8) {
    const hn::Half<D8> dh;
    return hn::Combine(d8, hn::LoadU(dh, p + 12), hn::LoadU(dh, p));
  } else {
    return hn::LoadU(d8, p);
  }
}

// 16 kSplit6StepChunks weights of a 64-entry binary16 table (planes as Lookup6Planes) from 12
// bytes of indices per chunk (chunk s's 16 bytes readable at p + 12 s), in split order, placed as
// Split6Offset says.
template <size_t kL = kLanes>  // a template: instantiated only where a decoder stages
HWY_INLINE void Lookup6PlanesSplit(const uint8_t* p, const uint8_t* planes, uint16_t* out) {
  hn::Vec<D8> lo, hi;
  Lookup6Planes(Fields6(Index6Blocks<kL>(p), kIndex6Layout), planes, lo, hi);
  StoreHalfWords(lo, hi, out);
}

// The same look-up in column order (decompression): 16 kSplit6StepChunks consecutive entries at
// out. Two 16-column chunks take one lane-crossing shuffle each on 8-lane targets.
template <size_t kL = kLanes>  // a template: instantiated only on targets of 4 or 8 lanes
HWY_INLINE void Lookup6PlanesNatural(const uint8_t* p, const uint8_t* planes, uint16_t* out) {
  hn::Vec<D8> lo, hi;
  Lookup6Planes(Fields6(Index6Blocks<kL>(p), kIndex6Natural), planes, lo, hi);
  if constexpr (kL == 8) {
    const D8 d8;
    const hn::RebindToUnsigned<hn::Repartition<uint16_t, DU>> d16;
    // Block s: columns 0-7 of chunk s in `first`, 8-15 in `second`.
    const hn::Vec<D8> first = hn::InterleaveLower(d8, lo, hi);
    const hn::Vec<D8> second = hn::InterleaveUpper(d8, lo, hi);
    hn::StoreU(hn::BitCast(d16, hn::ConcatLowerLower(d8, second, first)), d16, out);
    hn::StoreU(hn::BitCast(d16, hn::ConcatUpperUpper(d8, second, first)), d16, out + 16);
  } else {
    StoreHalfWords(lo, hi, out);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#endif  // WK_PALETTIZATION_LUT_DECODE_INL_H_
