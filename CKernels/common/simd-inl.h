// Per-target building blocks shared by every kernel: the canonical accumulation of
// docs/ARITHMETIC.md (16 fp32 partial sums, fused multiply-add, fixed reduction tree), exact
// binary16 conversions on every target, and the NaN rule of arithmetic decompression.
// Compiled once per target: include after hwy/foreach_target.h (or hwy/highway.h).

#if defined(WK_COMMON_SIMD_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WK_COMMON_SIMD_INL_H_
#undef WK_COMMON_SIMD_INL_H_
#else
#define WK_COMMON_SIMD_INL_H_
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "common/float16.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {
namespace hn = hwy::HWY_NAMESPACE;

// For the decoding steps of kernels: EMU128 emulates each op with a loop, and inlining whole
// decoders into every kernel makes clang's loop passes take minutes (more under sanitizers), so
// the portable target keeps them as calls.
#undef WK_DECODE_INLINE
#if HWY_TARGET == HWY_EMU128 || HWY_TARGET == HWY_SCALAR
#define WK_DECODE_INLINE inline HWY_NOINLINE
#else
#define WK_DECODE_INLINE HWY_INLINE
#endif

// Columns per canonical chunk: column k accumulates into partial sum k % 16.
constexpr size_t kChunk = 16;

// fp32 vectors of at most 16 lanes; lane i of vector j of a chunk is column 16c + N j + i, i.e.
// partial N j + i, whatever the target's width.
using DF = hn::CappedTag<float, kChunk>;
using VF = hn::Vec<DF>;
using DU = hn::RebindToUnsigned<DF>;
using VU = hn::Vec<DU>;
using DI = hn::RebindToSigned<DF>;
using DU16 = hn::Rebind<uint16_t, DF>;
constexpr size_t kLanes = hn::MaxLanes(DF());
constexpr size_t kVecs = kChunk / kLanes;
static_assert(kChunk % kLanes == 0, "vector width must divide the chunk");

// SVE vectors are sizeless: they cannot be array elements or struct members, nor be reached by
// pointer arithmetic. Kernels hold groups of vectors as VecArray<D, N> and pass them as
// VecSpan<D>: a plain array and pointer on every other target (the compiler sees the code it
// always saw), lanes in a stack buffer on SVE (each access a load or a store).
#undef WK_SIZELESS_VECTORS
#if HWY_ARCH_ARM_A64 && (HWY_TARGET & (HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128))
#define WK_SIZELESS_VECTORS 1
#else
#define WK_SIZELESS_VECTORS 0
#endif

#if WK_SIZELESS_VECTORS
// One vector of a VecSpan: reads load it, assignments store it.
template <class D>
class VecRef {
 public:
  using V = hn::Vec<D>;
  explicit VecRef(hn::TFromD<D>* p) : p_(p) {}
  HWY_INLINE operator V() const { return hn::LoadU(D(), p_); }
  HWY_INLINE VecRef& operator=(V v) {
    hn::StoreU(v, D(), p_);
    return *this;
  }
  HWY_INLINE VecRef& operator=(const VecRef& other) { return *this = V(other); }

 private:
  hn::TFromD<D>* p_;
};

template <class D>
class VecSpan {
 public:
  static constexpr size_t kStride = hn::MaxLanes(D());
  explicit VecSpan(hn::TFromD<D>* p) : p_(p) {}
  HWY_INLINE VecRef<D> operator[](size_t i) const { return VecRef<D>(p_ + i * kStride); }
  HWY_INLINE VecSpan operator+(size_t i) const { return VecSpan(p_ + i * kStride); }

 private:
  hn::TFromD<D>* p_;
};

template <class D, size_t N>
class VecArray {
 public:
  HWY_INLINE VecRef<D> operator[](size_t i) { return VecSpan<D>(lanes_)[i]; }
  HWY_INLINE operator VecSpan<D>() { return VecSpan<D>(lanes_); }
  HWY_INLINE VecSpan<D> operator+(size_t i) { return VecSpan<D>(lanes_) + i; }

 private:
  HWY_ALIGN hn::TFromD<D> lanes_[N * VecSpan<D>::kStride];
};
#else
template <class D>
using VecSpan = hn::Vec<D>*;
template <class D, size_t N>
using VecArray = hn::Vec<D>[N];
#endif

// x86 AVX2 and AVX-512 have F16C; NEON converts natively. The others use exact integer code,
// because Highway 1.0.3's emulation truncates and mishandles infinities and NaNs.
#undef WK_NATIVE_F16
#if (HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX2) || (HWY_ARCH_ARM && HWY_TARGET == HWY_NEON)
#define WK_NATIVE_F16 1
#else
#define WK_NATIVE_F16 0
#endif

// fma with one rounding on every target. SSE4 and EMU128 lack FMA and Highway's MulAdd
// rounds twice there, so those lanes go through std::fma (correctly rounded in software when the
// CPU has no FMA unit).
HWY_INLINE VF FusedMulAdd(VF a, VF b, VF c) {
#if HWY_NATIVE_FMA && HWY_TARGET != HWY_EMU128 && HWY_TARGET != HWY_SCALAR
  return hn::MulAdd(a, b, c);
#else
  const DF df;
  HWY_ALIGN float ta[kLanes], tb[kLanes], tc[kLanes];
  hn::Store(a, df, ta);
  hn::Store(b, df, tb);
  hn::Store(c, df, tc);
  for (size_t i = 0; i < kLanes; ++i) tc[i] = std::fma(ta[i], tb[i], tc[i]);
  return hn::Load(df, tc);
#endif
}

// Exact value of binary16 bit patterns (u16 lanes) as fp32. NaNs stay NaN (payload kept; the
// quiet bit may be set, which no arithmetic result can observe).
HWY_INLINE VF WidenF16(hn::Vec<DU16> h16) {
  const DF df;
#if WK_NATIVE_F16
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::PromoteTo(df, hn::BitCast(dh, h16));
#else
  const DU du;
  const DI di;
  const VU h = hn::PromoteTo(du, h16);
  const VU sign = hn::ShiftLeft<16>(hn::And(h, hn::Set(du, 0x8000u)));
  const VU abs = hn::And(h, hn::Set(du, 0x7FFFu));
  // Rebias the exponent by 112; infinities and NaNs need another 112 to reach 255.
  VU normal = hn::Add(hn::ShiftLeft<13>(abs), hn::Set(du, 0x38000000u));
  const auto inf_nan = hn::RebindMask(du, hn::Gt(hn::BitCast(di, abs), hn::Set(di, 0x7BFF)));
  normal = hn::IfThenElse(inf_nan, hn::Add(normal, hn::Set(du, 0x38000000u)), normal);
  // Subnormals (and zero): mantissa * 2^-24 is exact in binary32.
  const VF sub = hn::Mul(hn::ConvertTo(df, hn::BitCast(di, abs)), hn::Set(df, 0x1p-24f));
  const auto is_sub = hn::RebindMask(du, hn::Lt(hn::BitCast(di, abs), hn::Set(di, 0x0400)));
  const VU bits = hn::IfThenElse(is_sub, hn::BitCast(du, sub), normal);
  return hn::BitCast(df, hn::Or(bits, sign));
#endif
}

// RN16 of fp32 lanes as binary16 bit patterns: round to nearest even, overflow to infinity,
// gradual underflow, NaN -> sign | 0x7E00 | (payload >> 13). Same bits as wk::F32ToF16.
HWY_INLINE hn::Vec<DU16> RoundToF16(VF v) {
  const DU16 d16;
#if WK_NATIVE_F16
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::BitCast(d16, hn::DemoteTo(dh, v));
#else
  const DF df;
  const DU du;
  const DI di;
  const VU bits = hn::BitCast(du, v);
  const VU sign = hn::And(hn::ShiftRight<16>(bits), hn::Set(du, 0x8000u));
  const VU abs = hn::And(bits, hn::Set(du, 0x7FFFFFFFu));
  const hn::Vec<DI> iabs = hn::BitCast(di, abs);
  const VU odd = hn::And(hn::ShiftRight<13>(abs), hn::Set(du, 1u));
  VU r = hn::ShiftRight<13>(hn::Add(hn::Add(abs, hn::Set(du, 0xC8000FFFu)), odd));
  // Below 2^-14, adding 0.5 makes the fp32 adder round at binary16's subnormal last place.
  const VU sub = hn::Sub(hn::BitCast(du, hn::Add(hn::BitCast(df, abs), hn::Set(df, 0.5f))),
                         hn::Set(du, 0x3F000000u));
  r = hn::IfThenElse(hn::RebindMask(du, hn::Lt(iabs, hn::Set(di, 0x38800000))), sub, r);
  r = hn::IfThenElse(hn::RebindMask(du, hn::Gt(iabs, hn::Set(di, 0x477FEFFF))),
                     hn::Set(du, 0x7C00u), r);
  const VU nan = hn::Or(hn::Set(du, 0x7E00u), hn::And(hn::ShiftRight<13>(abs), hn::Set(du, 0x1FFu)));
  r = hn::IfThenElse(hn::RebindMask(du, hn::Gt(iabs, hn::Set(di, 0x7F800000))), nan, r);
  return hn::DemoteTo(d16, hn::BitCast(di, hn::Or(r, sign)));
#endif
}

// The fp32 value of RN16(v): how fp16 weights computed in-register enter the GEMV.
HWY_INLINE VF RoundThroughF16(VF v) { return WidenF16(RoundToF16(v)); }

// 16 nibbles of `bits` as bytes: element 2i is the low nibble of byte i; int4 is sign-extended.
template <typename T>
WK_DECODE_INLINE hn::Vec<hn::Full128<T>> UnpackNibbles(uint64_t bits) {
  const hn::Full128<uint8_t> d8;
  const hn::Full128<uint64_t> d64;
  const auto mask = hn::Set(d8, 0x0F);
  const auto lo = hn::And(hn::BitCast(d8, hn::Set(d64, bits)), mask);
  const auto hi = hn::And(hn::BitCast(d8, hn::Set(d64, bits >> 4)), mask);
  auto v = hn::InterleaveLower(d8, lo, hi);
  if constexpr (std::is_signed_v<T>) {
    const auto eight = hn::Set(d8, 8);
    v = hn::Sub(hn::Xor(v, eight), eight);
  }
  return hn::BitCast(hn::Full128<T>(), v);
}

// NaN rule of arithmetic decompression (docs/ARITHMETIC.md): when the data-side operand `a` of an
// operation is NaN the result is `a` quieted, whichever NaN the hardware would have propagated.
HWY_INLINE VF PreferDataNaN(VF result, VF a) {
  const DF df;
  const DU du;
  const VF quiet_a = hn::BitCast(df, hn::Or(hn::BitCast(du, a), hn::Set(du, 0x00400000u)));
  return hn::IfThenElse(hn::IsNaN(a), quiet_a, result);
}

// Reduces the 16 partial sums with the fixed tree and replaces a NaN by the canonical NaN.
HWY_INLINE float ReduceCanonical(VecSpan<DF> acc) {
  const DF df;
  HWY_ALIGN float p[kChunk];
  for (size_t j = 0; j < kVecs; ++j) hn::Store(VF(acc[j]), df, p + j * kLanes);
  float q[8];
  for (size_t i = 0; i < 8; ++i) q[i] = p[i] + p[i + 8];
  for (size_t i = 0; i < 4; ++i) q[i] = q[i] + q[i + 4];
  for (size_t i = 0; i < 2; ++i) q[i] = q[i] + q[i + 2];
  const float s = q[0] + q[1];
  return std::isnan(s) ? BitsFloat(kCanonicalNaNBits) : s;
}

// Writes one GEMV result as fp32 or RN16.
HWY_INLINE void StoreResult(float s, void* y, size_t i, bool y_f16) {
  if (y_f16) {
    const uint16_t h = F32ToF16(s);
    std::memcpy(static_cast<uint8_t*>(y) + 2 * i, &h, 2);
  } else {
    std::memcpy(static_cast<uint8_t*>(y) + 4 * i, &s, 4);
  }
}

// Activations of one GEMV batch row as fp32 (fp16 activations are widened once per call).
struct XRow {
  const float* x;
  size_t cols;
  const float* split;  // GemvOperands::x_split

  // Full chunk c in split order (requires split).
  HWY_INLINE void LoadSplit(size_t c, VecSpan<DF> xv) const {
    const DF df;
    for (size_t j = 0; j < kVecs; ++j) xv[j] = hn::LoadU(df, split + c * kChunk + j * kLanes);
  }

  // Full chunk c (requires 16c + 16 <= cols).
  HWY_INLINE void Load(size_t c, VecSpan<DF> xv) const {
    const DF df;
    for (size_t j = 0; j < kVecs; ++j) xv[j] = hn::LoadU(df, x + c * kChunk + j * kLanes);
  }

  // The last, partial chunk: lanes at or beyond cols are +0.
  HWY_INLINE void LoadTail(size_t c, VecSpan<DF> xv) const {
    const DF df;
    HWY_ALIGN float t[kChunk] = {};
    std::memcpy(t, x + c * kChunk, sizeof(float) * (cols - c * kChunk));
    for (size_t j = 0; j < kVecs; ++j) xv[j] = hn::Load(df, t + j * kLanes);
  }
};

// Exact fp32 values of n binary16 activations.
HWY_INLINE void WidenF16Row(const uint16_t* src, size_t n, float* dst) {
  const DF df;
  const DU16 d16;
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes) hn::StoreU(WidenF16(hn::LoadU(d16, src + i)), df, dst + i);
  for (; i < n; ++i) dst[i] = F16ToF32(src[i]);
}

// Zeroes the weight lanes at or beyond `valid` columns of a chunk, so that padding lanes add
// fma(0, 0, p) = p (p is never -0: it starts at +0 and a sum of zeros rounds to +0).
HWY_INLINE void ZeroBeyond(size_t valid, VecSpan<DF> w) {
  const DF df;
  for (size_t j = 0; j < kVecs; ++j) {
    const size_t begin = j * kLanes;
    const size_t n = valid > begin ? valid - begin : 0;
    w[j] = hn::IfThenElseZero(hn::FirstN(df, n), VF(w[j]));
  }
}

// Rows per block for decoders whose decode is cheap next to the fma: enough independent chains
// to cover fma latency (8 vectors in flight) without exceeding the register file.
constexpr size_t kLatencyBlockRows = kVecs >= 4 ? 2 : (kVecs == 2 ? 4 : 8);

// Address arithmetic for prefetches, which may point past a buffer (or offset a null one).
HWY_INLINE void PrefetchAt(const uint8_t* base, uint64_t offset) {
  hwy::Prefetch(reinterpret_cast<const uint8_t*>(reinterpret_cast<uintptr_t>(base) + offset));
}

// A line into L1 (prefetcht0), or with kL2 into L2 only (prefetcht1, PLDL2KEEP): what the batch
// product prefetches while its tiles work in L1 must not evict their accumulators and activations.
template <bool kL2>
HWY_INLINE void PrefetchLine(const void* p) {
  if constexpr (kL2) {
    __builtin_prefetch(p, 0, 2);
  } else {
    hwy::Prefetch(p);
  }
}

// Every line of bytes [offset, offset + bytes) from base.
template <bool kL2>
HWY_INLINE void PrefetchLines(const uint8_t* base, uint64_t offset, uint64_t bytes) {
  const uintptr_t begin = reinterpret_cast<uintptr_t>(base) + offset;
  for (uintptr_t a = begin & ~uintptr_t{63}; a < begin + bytes; a += 64) {
    PrefetchLine<kL2>(reinterpret_cast<const uint8_t*>(a));
  }
}

// Software prefetch for a decoder that reads `block_rows` rows of `row_bits` bits together, each
// kAheadBytes ahead of its own position (interleaved rows are streams hardware prefetchers follow
// poorly). Past its row's end that distance would land in row r + 1, which the block is reading
// already; kWrap sends it to row r + block_rows instead, the next block's, where no read has been
// yet (rows shorter than the distance keep the plain address). Without kWrap, rows shorter than
// the distance prefetch the same columns of row r + block_rows. The distance is a constant and
// the base and row length come from the decoder's own members, so that the address shares its
// registers with the decoder's read: as members here, the extra live registers spilled lut1-lut3's
// row loops (hot, 384 x 1024: 24-28 against 20-22 us on Zen 5).
template <uint64_t kAheadBytes, bool kWrap = true>
class RowPrefetch {
 public:
  RowPrefetch(uint64_t row_bits, size_t block_rows)
      : wrap_bytes_(row_bits >= kAheadBytes * 8 ? (block_rows - 1) * row_bits / 8 : 0),
        ahead_bytes_(kWrap || row_bits >= kAheadBytes * 8 ? kAheadBytes : block_rows * row_bits / 8) {}

  // For the read of row r at bit in_row_bits of the row (rows of row_bits bits from base).
  HWY_INLINE void At(const uint8_t* base, uint64_t row_bits, size_t r,
                     uint64_t in_row_bits) const {
    uint64_t byte = (uint64_t{r} * row_bits + in_row_bits) / 8;
    if constexpr (kWrap) {
      byte += kAheadBytes;
      if (in_row_bits + kAheadBytes * 8 >= row_bits) byte += wrap_bytes_;
    } else {
      byte += ahead_bytes_;
    }
    PrefetchAt(base, byte);
  }

 private:
  uint64_t wrap_bytes_;
  uint64_t ahead_bytes_;
};

#if HWY_TARGET == HWY_AVX3_DL
// VBMI helpers of the AVX3_DL fp16 decompression paths (LUT, sparse + LUT): 64 indices of 1 to 4
// bits to byte lanes, and two byte planes of binary16 entries back to words, both in column order.

// Per n: for qword q of a step (fields 8q .. 8q + 7), the n + 1 bytes from byte q n (a field may
// end one byte further when the step starts past a byte), and each field's bit within the qword.
struct FieldSteps {
  uint8_t sources[64];
  uint8_t shifts[64];

  static constexpr FieldSteps Make(uint32_t n) {
    FieldSteps t{};
    for (uint32_t i = 0; i < 64 && n != 0; ++i) {
      t.sources[i] = static_cast<uint8_t>(i % 8 <= n ? i / 8 * n + i % 8 : 0);
      t.shifts[i] = static_cast<uint8_t>(n * (i % 8));
    }
    return t;
  }
};
alignas(64) constexpr FieldSteps kFieldSteps[5] = {FieldSteps::Make(0), FieldSteps::Make(1),
                                                    FieldSteps::Make(2), FieldSteps::Make(3),
                                                    FieldSteps::Make(4)};

// The first `count` <= 64 bytes at p (the others 0); reads those bytes only.
HWY_INLINE __m512i LoadBytes64(const uint8_t* p, uint32_t count) {
  return _mm512_maskz_loadu_epi8(_bzhi_u64(~uint64_t{0}, count), p);
}

// Fields 0-63 of n = 1..4 bits starting `offset` (0-7) bits into p, field i in the low n bits of
// byte lane i (the bits above are field i + 1's). Reads the first `bytes` (<= 33) bytes of p only,
// so a step may end at its buffer's end; lanes whose bits lie past them read zeros. One byte
// permute and one vpmultishiftqb.
HWY_INLINE __m512i Fields64(const uint8_t* p, uint32_t n, uint32_t offset, uint32_t bytes) {
  const FieldSteps& steps = kFieldSteps[n];
  const __m512i packed = LoadBytes64(p, bytes);
  const __m512i shifts = _mm512_add_epi8(_mm512_load_si512(steps.shifts),
                                         _mm512_set1_epi8(static_cast<char>(offset)));
  return _mm512_multishift_epi64_epi8(shifts,
                                      _mm512_permutexvar_epi8(_mm512_load_si512(steps.sources), packed));
}

// A 16-byte plane of a table (16 entries of one byte of the weights) in every 128-bit block, for
// vpermb look-ups by indices whose bits 4-5 are not cleared.
HWY_INLINE __m512i BroadcastPlane(const uint8_t* plane) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(plane)));
}

// vpermt2b selectors interleaving two byte planes (low bytes, high bytes) into binary16 words 0-31
// (lo) and 32-63 (hi).
struct WordInterleave {
  uint8_t lo[64];
  uint8_t hi[64];
  static constexpr WordInterleave Make() {
    WordInterleave t{};
    for (size_t i = 0; i < 64; ++i) {
      t.lo[i] = static_cast<uint8_t>(i / 2 + (i % 2) * 64);
      t.hi[i] = static_cast<uint8_t>(32 + i / 2 + (i % 2) * 64);
    }
    return t;
  }
};
alignas(64) constexpr WordInterleave kWordInterleave = WordInterleave::Make();

// The 64 binary16 words whose low bytes are `low` and high bytes `high`, in lane order: words
// 0-31 in a, 32-63 in b.
HWY_INLINE void Words64(__m512i low, __m512i high, __m512i& a, __m512i& b) {
  a = _mm512_permutex2var_epi8(low, _mm512_load_si512(kWordInterleave.lo), high);
  b = _mm512_permutex2var_epi8(low, _mm512_load_si512(kWordInterleave.hi), high);
}

// 64 bytes at p in a register for vpexpandb/w. Left to itself the compiler folds an unmasked
// load into the expand as its memory operand, a form Zen 5 runs at a fraction of the register
// form's rate: sparse50's GEMV 384 x 1024 hot 27.0 -> 15.9 us, sparse + int8 decompression
// 4096 x 4096 1954 -> 935 us, with the load kept apart (an empty asm that takes the register).
HWY_INLINE __m512i LoadForExpand(const void* p) {
  __m512i v = _mm512_loadu_si512(p);
  __asm__("" : "+v"(v));
  return v;
}

// Those words stored at out.
HWY_INLINE void StoreWords64(__m512i low, __m512i high, void* out) {
  uint8_t* bytes = static_cast<uint8_t*>(out);
  __m512i a, b;
  Words64(low, high, a, b);
  _mm512_storeu_si512(bytes, a);
  _mm512_storeu_si512(bytes + 64, b);
}

// Those words widened to four fp32 vectors, columns in lane order.
HWY_INLINE void WidenWords64(__m512i low, __m512i high, VecSpan<DF> w) {
  __m512i a, b;
  Words64(low, high, a, b);
  w[0] = WidenF16(hn::Vec<DU16>{_mm512_castsi512_si256(a)});
  w[1] = WidenF16(hn::Vec<DU16>{_mm512_extracti64x4_epi64(a, 1)});
  w[2] = WidenF16(hn::Vec<DU16>{_mm512_castsi512_si256(b)});
  w[3] = WidenF16(hn::Vec<DU16>{_mm512_extracti64x4_epi64(b, 1)});
}
#endif

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#endif  // WK_COMMON_SIMD_INL_H_
