// Dense matrix products (fp16 / fp32 weights) and constexpr_cast, compiled for every target.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "dense/dense_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cstring>
#include <type_traits>

#include "common/matmul-inl.h"
#include "common/simd-inl.h"
#include "dense/dense_kernels.h"
#include "hwy/highway.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// Reads fp16 or fp32 rows of a dense matrix as the GEMV's weights.
template <bool kF16>
struct DenseDecoder {
  using T = std::conditional_t<kF16, uint16_t, float>;
  static constexpr size_t kStepChunks = 1;
  static constexpr bool kMultiRow = true;
  static constexpr size_t kBlockRows = kLatencyBlockRows;
  // Batches of 2-4 read each weight once for all batch rows (GemvRows).
  static constexpr bool kDirectBatches = true;

  // How far ahead each row is prefetched: 1 KiB on AVX-512 targets, measured on a Zen 5 reading
  // 36-44 GB/s (4096 x 4096 fp16, one thread: 1212 -> 1098 us at batch 1, 1707 -> 1518 at batch
  // 4, against 512 B); 512 B elsewhere, measured on Zen 3 (14-21 GB/s). Intel's AVX-512 Xeon
  // (16 GB/s) was not measured with 1 KiB.
  static constexpr uint64_t kAheadBytes = HWY_ARCH_X86 && HWY_TARGET <= HWY_AVX3 ? 1024 : 512;

  const T* w;
  size_t rows;
  size_t cols;
  RowPrefetch<kAheadBytes> prefetch;

  DenseDecoder(const T* weights, size_t rows_, size_t cols_)
      : w(weights),
        rows(rows_),
        cols(cols_),
        prefetch(uint64_t{cols_} * sizeof(T) * 8, kBlockRows) {}

  using Cursor = size_t;
  Cursor Begin(size_t r) const { return r; }

  size_t FastRows() const { return rows; }

  template <bool kSafe>
  HWY_INLINE void DecodeStep(size_t r, size_t c, VecSpan<DF> out) const {
    Decode<kSafe>(r, c, out);
  }

  template <bool kSafe>
  HWY_INLINE void Decode(size_t r, size_t c, VecSpan<DF> out) const {
    const T* p = w + r * cols + c * kChunk;
    for (size_t j = 0; j < kVecs; ++j) out[j] = Load(p + j * kLanes);
  }

  HWY_INLINE void DecodeTail(size_t r, size_t c, VecSpan<DF> out) const {
    HWY_ALIGN T t[kChunk] = {};
    std::memcpy(t, w + r * cols + c * kChunk, sizeof(T) * (cols - c * kChunk));
    for (size_t j = 0; j < kVecs; ++j) out[j] = Load(t + j * kLanes);
  }

  // One row's stream runs ahead of the hardware prefetcher once several rows interleave
  // (kAheadBytes ahead, wrapping to the next block past the row's end: RowPrefetch).
  HWY_INLINE void Prefetch(size_t r, size_t c) const {
    prefetch.At(reinterpret_cast<const uint8_t*>(w), uint64_t{cols} * sizeof(T) * 8, r,
                uint64_t{c} * kChunk * sizeof(T) * 8);
  }

  // The batch product's: a panel row's lines.
  template <bool kL2>
  HWY_INLINE void PrefetchPanel(size_t r, size_t c, size_t n) const {
    const size_t m = std::min(n * kChunk, cols - c * kChunk);
    PrefetchLines<kL2>(reinterpret_cast<const uint8_t*>(w + r * cols + c * kChunk), 0,
                       m * sizeof(T));
  }

 private:
  HWY_INLINE VF Load(const T* p) const {
    if constexpr (kF16) {
      return WidenF16(hn::LoadU(DU16(), p));
    } else {
      return hn::LoadU(DF(), p);
    }
  }
};

void DenseGemv(const DensePlan& plan, const GemvOperands& io) {
  if (plan.w_f16) {
    const DenseDecoder<true> dec(reinterpret_cast<const uint16_t*>(plan.w), plan.rows, plan.cols);
    MatrixProduct(dec, plan.cols, io);
  } else {
    const DenseDecoder<false> dec(reinterpret_cast<const float*>(plan.w), plan.rows, plan.cols);
    MatrixProduct(dec, plan.cols, io);
  }
}

void WidenF16Rows(const uint16_t* src, size_t count, float* dst) { WidenF16Row(src, count, dst); }

// Exact widening that keeps a NaN's quiet bit as it is (F16C would set it).
void CastF16ToF32(const uint16_t* src, size_t count, uint32_t* dst) {
  const DU du;
  const DU16 d16;
  size_t i = 0;
  for (; i + kLanes <= count; i += kLanes) {
    const hn::Vec<DU16> h = hn::LoadU(d16, src + i);
    const VF v = WidenF16(h);
    const VU hu = hn::PromoteTo(du, h);
    const VU nan_bits = hn::Or(
        hn::Or(hn::ShiftLeft<16>(hn::And(hu, hn::Set(du, 0x8000u))), hn::Set(du, 0x7F800000u)),
        hn::ShiftLeft<13>(hn::And(hu, hn::Set(du, 0x3FFu))));
    hn::StoreU(hn::IfThenElse(hn::RebindMask(du, hn::IsNaN(v)), nan_bits, hn::BitCast(du, v)), du,
               dst + i);
  }
  for (; i < count; ++i) dst[i] = WidenF16Bits(src[i]);
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(DenseGemv);
HWY_EXPORT(CastF16ToF32);
HWY_EXPORT(WidenF16Rows);

void RunDenseGemv(uint64_t target, const DensePlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(DenseGemv), target)(plan, io);
}

void RunWidenF16(uint64_t target, const uint16_t* src, size_t count, float* dst) {
  KernelFor(HWY_DISPATCH_TABLE(WidenF16Rows), target)(src, count, dst);
}

void RunCastF16ToF32(uint64_t target, const uint16_t* src, size_t count, uint32_t* dst) {
  KernelFor(HWY_DISPATCH_TABLE(CastF16ToF32), target)(src, count, dst);
}

}  // namespace wk
#endif  // HWY_ONCE
