// W8A8, compiled for every target: int8 weights times int8-quantized activations in exact
// integer arithmetic (widening multiply-add; VNNI on AVX3_DL), rescaled in fp32 as
// wk_quant_matrix_gemv_w8a8 documents.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quantization/quant_w8a8.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cmath>
#include <type_traits>
#include <cstring>
#include <vector>

#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "quantization/quant_plan.h"

#pragma clang fp contract(off)

#if HWY_ARCH_X86 && !defined(WK_QUANT_W8A8_VNNI_)
#define WK_QUANT_W8A8_VNNI_
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
    // The biased sum may wrap; modulo 2^32 the difference is the dot, which fits int32.
    dots[i] = static_cast<int32_t>(static_cast<uint32_t>(_mm512_reduce_add_epi32(acc)) -
                                   128u * static_cast<uint32_t>(row_sums[i]));
  }
}

}  // namespace wk
#endif

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

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
  // At most 32 lanes: QuantizeW8A8Activations pads each row by 64, and VNNI aside no target
  // gains from wider vectors here.
  const hn::CappedTag<int16_t, 32> d16;
  using D32 = hn::Repartition<int32_t, decltype(d16)>;
  using V32 = hn::Vec<D32>;
  const D32 d32;
  const hn::Rebind<int8_t, decltype(d16)> d8;
  const size_t step = hn::Lanes(d16);
  VecArray<D32, kRows> sum0;
  VecArray<D32, kRows> sum1;
  for (size_t i = 0; i < kRows; ++i) sum0[i] = sum1[i] = hn::Zero(d32);
  size_t k = 0;
  for (; k + step <= cols; k += step) {
    const auto xv = hn::LoadU(d16, xq + k);
    for (size_t i = 0; i < kRows; ++i) {
      const auto wv = hn::PromoteTo(d16, hn::LoadU(d8, w + i * cols + k));
      V32 odd = sum1[i];
      sum0[i] = hn::ReorderWidenMulAccumulate(d32, wv, xv, V32(sum0[i]), odd);
      sum1[i] = odd;
    }
  }
  if (k < cols) {
    // xq is zero beyond cols; the weights' tail is copied so that nothing past the row is read.
    const auto xv = hn::LoadU(d16, xq + k);
    for (size_t i = 0; i < kRows; ++i) {
      HWY_ALIGN int8_t t[hn::MaxLanes(d16)] = {};
      std::memcpy(t, w + i * cols + k, cols - k);
      const auto wv = hn::PromoteTo(d16, hn::Load(d8, t));
      V32 odd = sum1[i];
      sum0[i] = hn::ReorderWidenMulAccumulate(d32, wv, xv, V32(sum0[i]), odd);
      sum1[i] = odd;
    }
  }
  for (size_t i = 0; i < kRows; ++i) {
    dots[i] = hn::GetLane(hn::SumOfLanes(d32, hn::RearrangeToOddPlusEven(V32(sum0[i]), V32(sum1[i]))));
  }
#endif
}

// Rows io.row_begin..row_end for every batch row: kRows weight rows are fetched from memory once
// and stay in L1 while every batch row's activations are applied to them.
void QuantMatrixGemvW8A8(const QuantMatrixPlan& plan, const W8A8Activations& a,
                         const GemvOperands& io) {
  constexpr size_t kRows = 4;
  const size_t y_row = io.rows * (io.y_f16 ? 2 : 4);
  const auto finish = [&](size_t b, size_t row, int32_t dot) {
    const float s = plan.grid.scale[row / plan.grid.rows_per_block];
    const float y = (static_cast<float>(dot) * a.sx[b]) * s;
    StoreResult(std::isnan(y) ? BitsFloat(kCanonicalNaNBits) : y, io.y + b * y_row, row, io.y_f16);
  };
  const auto rows = [&](size_t r, auto rows_tag) {
    constexpr size_t kN = decltype(rows_tag)::value;
    for (size_t b = 0; b < io.batch; ++b) {
      if (!a.finite[b]) {
        for (size_t i = 0; i < kN; ++i) {
          StoreResult(BitsFloat(kCanonicalNaNBits), io.y + b * y_row, r + i, io.y_f16);
        }
        continue;
      }
      int32_t dots[kN];
      DotRows<kN>(plan, r, a.xq + b * a.stride, a.xu + b * a.stride, dots);
      for (size_t i = 0; i < kN; ++i) finish(b, r + i, dots[i]);
    }
  };
  size_t r = io.row_begin;
  for (; r + kRows <= io.row_end; r += kRows) rows(r, std::integral_constant<size_t, kRows>());
  for (; r < io.row_end; ++r) rows(r, std::integral_constant<size_t, 1>());
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(QuantMatrixGemvW8A8);

void RunQuantMatrixGemvW8A8(uint64_t target, const QuantMatrixPlan& plan, const W8A8Activations& a,
                            const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(QuantMatrixGemvW8A8), target)(plan, a, io);
}

void QuantizeW8A8Activations(const float* x, size_t cols, size_t batch, W8A8Activations* out) {
  // Room for the portable path's whole-vector loads past cols (at most 64 int16 lanes).
  const size_t stride = (cols + 64 + 63) / 64 * 64;
  thread_local std::vector<int16_t> xq;
  thread_local std::vector<uint8_t> xu;
  thread_local std::vector<float> sx;
  thread_local std::vector<uint8_t> finite;
  if (xq.size() < batch * stride) {
    xq.resize(batch * stride);
    xu.resize(batch * stride);
  }
  if (sx.size() < batch) {
    sx.resize(batch);
    finite.resize(batch);
  }
  for (size_t b = 0; b < batch; ++b) {
    const float* xb = x + b * cols;
    int16_t* q16 = xq.data() + b * stride;
    uint8_t* q8 = xu.data() + b * stride;
    float amax = 0.0f;
    bool is_finite = true;
    for (size_t k = 0; k < cols; ++k) {
      const float m = std::fabs(xb[k]);
      is_finite = is_finite && std::isfinite(m);
      amax = m > amax ? m : amax;
    }
    const float s = amax / 127.0f;
    for (size_t k = 0; k < cols; ++k) {
      const float q = s == 0.0f || !is_finite ? 0.0f : std::nearbyint(xb[k] / s);
      const int32_t qi = static_cast<int32_t>(q < -127.0f ? -127.0f : (q > 127.0f ? 127.0f : q));
      q16[k] = static_cast<int16_t>(qi);
      q8[k] = static_cast<uint8_t>(qi + 128);
    }
    std::fill(q16 + cols, q16 + stride, int16_t{0});
    std::fill(q8 + cols, q8 + stride, uint8_t{128});
    sx[b] = s;
    finite[b] = is_finite ? 1 : 0;
  }
  *out = W8A8Activations{xq.data(), xu.data(), stride, sx.data(), finite.data()};
}

}  // namespace wk
#endif  // HWY_ONCE
