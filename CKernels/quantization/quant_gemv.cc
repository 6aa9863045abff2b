// Fused dequantize-GEMV for int4/uint4/int8/uint8 weights with per-block scales and offsets,
// compiled for every target: each chunk's 16 integers are widened, shifted, scaled and (fp16
// weights) rounded to binary16 in registers, then accumulated in the canonical order. And W8A8:
// int8 weights times int8-quantized activations, in exact integer arithmetic (VNNI on AVX3_DL).
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quantization/quant_gemv.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "common/simd-inl.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"
#include "quantization/quant_plan.h"

#pragma clang fp contract(off)

#if HWY_ARCH_X86 && !defined(WK_QUANT_GEMV_VNNI_)
#define WK_QUANT_GEMV_VNNI_
#include <immintrin.h>

namespace wk {

// VNNI dot products for AVX3_DL: sum (x + 128) w over u8 x s8 with vpdpbusd, minus 128 sum(w).
// Highway 1.0.3's AVX3_DL attributes omit avx512vnni (its runtime check requires it), so this
// lives outside the per-target code with its own attributes and is called, not inlined.
__attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) inline void DotRowsVnni(
    const int8_t* w, size_t cols, size_t rows, const uint8_t* xu, const int32_t* row_sums,
    int32_t* dots) {
  for (size_t i = 0; i < rows; ++i) {
    __m512i acc = _mm512_setzero_si512();
    size_t k = 0;
    for (; k + 64 <= cols; k += 64) {
      acc = _mm512_dpbusd_epi32(acc, _mm512_loadu_si512(xu + k), _mm512_loadu_si512(w + i * cols + k));
    }
    if (k < cols) {
      const __mmask64 tail = _cvtu64_mask64(~uint64_t{0} >> (64 - (cols - k)));
      acc = _mm512_dpbusd_epi32(acc, _mm512_maskz_loadu_epi8(tail, xu + k),
                                _mm512_maskz_loadu_epi8(tail, w + i * cols + k));
    }
    dots[i] = _mm512_reduce_add_epi32(acc) - 128 * row_sums[i];
  }
}

}  // namespace wk
#endif

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

using VI = hn::Vec<DI>;

// 16 lanes of T (int8_t or uint8_t) widened to kVecs int32 vectors.
template <typename T>
HWY_INLINE void WidenChunkInts(hn::Vec<hn::Full128<T>> q, VI* out) {
  const auto widen = [](auto d_narrow, auto v) -> VI {
    (void)d_narrow;
    if constexpr (std::is_signed_v<T>) {
      return hn::PromoteTo(DI(), v);
    } else {
      return hn::BitCast(DI(), hn::PromoteTo(DU(), v));
    }
  };
#if HWY_MAX_BYTES >= 64
  out[0] = widen(0, q);
#elif HWY_MAX_BYTES == 32
  const hn::Full64<T> dh;
  out[0] = widen(0, hn::LowerHalf(dh, q));
  out[1] = widen(0, hn::UpperHalf(dh, q));
#else
  const hn::Full64<T> dh;
  const hn::Half<hn::Full64<T>> dq;
  const auto lo = hn::LowerHalf(dh, q);
  const auto hi = hn::UpperHalf(dh, q);
  out[0] = widen(0, hn::LowerHalf(dq, lo));
  out[1] = widen(0, hn::UpperHalf(dq, lo));
  out[2] = widen(0, hn::LowerHalf(dq, hi));
  out[3] = widen(0, hn::UpperHalf(dq, hi));
#endif
}

// kGeneral: per-lane scale blocks or a float offset rounded to fp16 first (layouts coremltools
// does not emit); otherwise one scale and integer offset per chunk.
template <int32_t kDType, bool kF16, bool kGeneral>
struct QuantMatrixDecoder {
  static constexpr bool kNibbles = kDType == WK_DTYPE_INT4 || kDType == WK_DTYPE_UINT4;
  static constexpr bool kSigned = kDType == WK_DTYPE_INT4 || kDType == WK_DTYPE_INT8;
  using T = std::conditional_t<kSigned, int8_t, uint8_t>;
  using D16 = hn::Full128<T>;

  static constexpr size_t kStepChunks = 1;
  static constexpr bool kMultiRow = !kGeneral;
  // Scale and offset vectors per row: more rows would spill the accumulators.
  static constexpr size_t kBlockRows = kVecs >= 4 ? 2 : kLatencyBlockRows / 2;

  const QuantMatrixPlan& plan;

  using Cursor = size_t;
  Cursor Begin(size_t r) const { return r; }
  // A full chunk never reads outside its own bytes: no over-read, no safe rows needed.
  size_t FastRows() const { return plan.rows; }

  HWY_INLINE void Prefetch(size_t r, size_t c) const {
    const uint64_t element = uint64_t{r} * plan.cols + c * kChunk;
    hwy::Prefetch(reinterpret_cast<const uint8_t*>(reinterpret_cast<uintptr_t>(plan.data) +
                                                   (kNibbles ? element / 2 : element) + 1024));
  }

  template <bool kSafe>
  HWY_INLINE void DecodeStep(size_t r, size_t c, VF* w) const {
    Decode<kSafe>(r, c, w);
  }

  template <bool kSafe>
  HWY_INLINE void Decode(size_t r, size_t c, VF* w) const {
    const uint64_t element = uint64_t{r} * plan.cols + c * kChunk;
    hn::Vec<D16> q;
    if constexpr (kNibbles) {
      // 16 nibbles: 8 bytes, or 9 when the chunk starts mid-byte (all inside the chunk).
      const uint8_t* p = plan.data + element / 2;
      uint64_t bits;
      std::memcpy(&bits, p, 8);
      if (element & 1) bits = (bits >> 4) | (static_cast<uint64_t>(p[8]) << 60);
      q = Nibbles(bits);
    } else {
      q = hn::LoadU(D16(), reinterpret_cast<const T*>(plan.data + element));
    }
    Dequantize(r, c, q, w);
  }

  HWY_INLINE void DecodeTail(size_t r, size_t c, VF* w) const {
    const uint64_t element = uint64_t{r} * plan.cols + c * kChunk;
    const size_t valid = plan.cols - c * kChunk;
    HWY_ALIGN T t[kChunk] = {};
    for (size_t i = 0; i < valid; ++i) {
      const uint32_t raw = ReadRawElement(plan.data, plan.data_dtype, element + i);
      t[i] = static_cast<T>(raw);
    }
    Dequantize(r, c, hn::Load(D16(), t), w);
  }

 private:
  // Element 2i is the low nibble of byte i; int4 is sign-extended.
  HWY_INLINE hn::Vec<D16> Nibbles(uint64_t bits) const {
    const hn::Full128<uint8_t> d8;
    const hn::Full128<uint64_t> d64;
    const auto mask = hn::Set(d8, 0x0F);
    const auto lo = hn::And(hn::BitCast(d8, hn::Set(d64, bits)), mask);
    const auto hi = hn::And(hn::BitCast(d8, hn::Set(d64, bits >> 4)), mask);
    auto v = hn::InterleaveLower(d8, lo, hi);
    if constexpr (kSigned) {
      const auto eight = hn::Set(d8, 8);
      v = hn::Sub(hn::Xor(v, eight), eight);
    }
    return hn::BitCast(D16(), v);
  }

  HWY_INLINE void Dequantize(size_t r, size_t c, hn::Vec<D16> q, VF* w) const {
    const DF df;
    VI qi[kVecs];
    WidenChunkInts<T>(q, qi);
    const size_t row = r / plan.rows_per_block * plan.scale_cols;
    const float* scale = plan.scale.data() + row;
    const float* offset = plan.offset.data() + row;
    VF s[kVecs];
    VF o[kVecs];
    if (!kGeneral || plan.chunk_uniform) {
      const size_t b = plan.chunk_block[c];
      for (size_t j = 0; j < kVecs; ++j) {
        s[j] = hn::Set(df, scale[b]);
        o[j] = hn::Set(df, offset[b]);
      }
    } else {
      for (size_t j = 0; j < kVecs; ++j) {
        const VI idx = hn::LoadU(DI(), plan.lane_block.data() + c * kChunk + j * kLanes);
        s[j] = hn::GatherIndex(df, scale, idx);
        o[j] = hn::GatherIndex(df, offset, idx);
      }
    }
    for (size_t j = 0; j < kVecs; ++j) {
      // Exact: |q| <= 255, and an integer offset leaves |y| <= 510.
      VF y = hn::Sub(hn::ConvertTo(df, qi[j]), o[j]);
      if (kGeneral && plan.round_difference) y = RoundThroughF16(y);
      const VF p = hn::Mul(s[j], y);
      w[j] = kF16 ? RoundThroughF16(p) : p;
    }
  }
};

template <int32_t kDType, bool kGeneral>
HWY_INLINE void GemvFor(const QuantMatrixPlan& plan, const GemvOperands& io) {
  if (plan.round_f16) {
    const QuantMatrixDecoder<kDType, true, kGeneral> dec{plan};
    GemvAllRows(dec, plan.rows, plan.cols, io.x, io.x_f16, io.batch, io.y, io.y_f16);
  } else {
    const QuantMatrixDecoder<kDType, false, kGeneral> dec{plan};
    GemvAllRows(dec, plan.rows, plan.cols, io.x, io.x_f16, io.batch, io.y, io.y_f16);
  }
}

template <int32_t kDType>
HWY_INLINE void GemvFor(const QuantMatrixPlan& plan, const GemvOperands& io) {
  if (plan.chunk_uniform && !plan.round_difference) return GemvFor<kDType, false>(plan, io);
  GemvFor<kDType, true>(plan, io);
}

void QuantMatrixGemv(const QuantMatrixPlan& plan, const GemvOperands& io) {
  switch (plan.data_dtype) {
    case WK_DTYPE_INT4: return GemvFor<WK_DTYPE_INT4>(plan, io);
    case WK_DTYPE_UINT4: return GemvFor<WK_DTYPE_UINT4>(plan, io);
    case WK_DTYPE_INT8: return GemvFor<WK_DTYPE_INT8>(plan, io);
    default: return GemvFor<WK_DTYPE_UINT8>(plan, io);
  }
}

// ---------------------------------------------------------------------------------------------
// W8A8

// Integer dot products of kRows int8 weight rows with the quantized activations; exact, so the
// summation order is free.
template <size_t kRows>
HWY_INLINE void DotRows(const QuantMatrixPlan& plan, size_t r0, const int16_t* xq,
                        const uint8_t* xu, int32_t* dots) {
  const size_t cols = plan.cols;
  const int8_t* w = reinterpret_cast<const int8_t*>(plan.data) + r0 * cols;
#if HWY_TARGET == HWY_AVX3_DL
  (void)xq;
  DotRowsVnni(w, cols, kRows, xu, plan.row_sums.data() + r0, dots);
#else
  (void)xu;
  const hn::ScalableTag<int16_t> d16;
  const hn::Repartition<int32_t, decltype(d16)> d32;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  constexpr size_t kStep = hn::MaxLanes(d16);
  hn::Vec<decltype(d32)> sum0[kRows];
  hn::Vec<decltype(d32)> sum1[kRows];
  for (size_t i = 0; i < kRows; ++i) sum0[i] = sum1[i] = hn::Zero(d32);
  size_t k = 0;
  for (; k + kStep <= cols; k += kStep) {
    const auto xv = hn::LoadU(d16, xq + k);
    for (size_t i = 0; i < kRows; ++i) {
      const auto wv = hn::PromoteTo(d16, hn::LoadU(d8, w + i * cols + k));
      sum0[i] = hn::ReorderWidenMulAccumulate(d32, wv, xv, sum0[i], sum1[i]);
    }
  }
  if (k < cols) {
    // xq is zero beyond cols; the weights' tail is copied so that nothing past the row is read.
    const auto xv = hn::LoadU(d16, xq + k);
    for (size_t i = 0; i < kRows; ++i) {
      HWY_ALIGN int8_t t[kStep] = {};
      std::memcpy(t, w + i * cols + k, cols - k);
      const auto wv = hn::PromoteTo(d16, hn::Load(d8, t));
      sum0[i] = hn::ReorderWidenMulAccumulate(d32, wv, xv, sum0[i], sum1[i]);
    }
  }
  for (size_t i = 0; i < kRows; ++i) {
    dots[i] = hn::GetLane(hn::SumOfLanes(d32, hn::RearrangeToOddPlusEven(sum0[i], sum1[i])));
  }
#endif
}

void QuantMatrixGemvW8A8(const QuantMatrixPlan& plan, const GemvOperands& io) {
  const size_t rows = plan.rows;
  const size_t cols = plan.cols;
  // Activations: int16 for the portable widening multiply-add (zero-padded to a whole vector),
  // biased to uint8 for VNNI.
  std::vector<float> x32(cols);
  std::vector<int16_t> xq(cols + 64, 0);
  std::vector<uint8_t> xu(cols);
  constexpr size_t kRows = 4;
  for (size_t b = 0; b < io.batch; ++b) {
    if (io.x_f16) {
      WidenF16Row(reinterpret_cast<const uint16_t*>(io.x) + b * cols, cols, x32.data());
    } else {
      std::memcpy(x32.data(), io.x + 4 * b * cols, 4 * cols);
    }
    float amax = 0.0f;
    bool finite = true;
    for (size_t k = 0; k < cols; ++k) {
      const float a = std::fabs(x32[k]);
      finite = finite && std::isfinite(a);
      amax = a > amax ? a : amax;
    }
    uint8_t* yb = io.y + b * rows * (io.y_f16 ? 2 : 4);
    if (!finite) {
      for (size_t r = 0; r < rows; ++r) StoreResult(BitsFloat(kCanonicalNaNBits), yb, r, io.y_f16);
      continue;
    }
    const float sx = amax / 127.0f;
    for (size_t k = 0; k < cols; ++k) {
      const float q = sx == 0.0f ? 0.0f : std::nearbyint(x32[k] / sx);
      const int32_t qi = static_cast<int32_t>(q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q));
      xq[k] = static_cast<int16_t>(qi);
      xu[k] = static_cast<uint8_t>(qi + 128);
    }
    int32_t dots[kRows];
    size_t r = 0;
    const auto finish = [&](size_t row, int32_t dot) {
      const float s = plan.scale[row / plan.rows_per_block];
      const float y = (static_cast<float>(dot) * sx) * s;
      StoreResult(std::isnan(y) ? BitsFloat(kCanonicalNaNBits) : y, yb, row, io.y_f16);
    };
    for (; r + kRows <= rows; r += kRows) {
      DotRows<kRows>(plan, r, xq.data(), xu.data(), dots);
      for (size_t i = 0; i < kRows; ++i) finish(r + i, dots[i]);
    }
    for (; r < rows; ++r) {
      DotRows<1>(plan, r, xq.data(), xu.data(), dots);
      finish(r, dots[0]);
    }
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(QuantMatrixGemv);
HWY_EXPORT(QuantMatrixGemvW8A8);

void RunQuantMatrixGemv(uint64_t target, const QuantMatrixPlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(QuantMatrixGemv), target)(plan, io);
}

void RunQuantMatrixGemvW8A8(uint64_t target, const QuantMatrixPlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(QuantMatrixGemvW8A8), target)(plan, io);
}

}  // namespace wk
#endif  // HWY_ONCE
