// Decompression of prepared quantized matrices through the GEMV's decoders (quant_matrix-inl.h),
// compiled for every target.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quantization/quant_decompress.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "palettization/lut_matrix-inl.h"
#include "quantization/quant_matrix-inl.h"
#include "quantization/quant_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// Byte planes (16 low bytes, then 16 high bytes) of 16 binary16 values.
HWY_INLINE void F16Planes(const uint16_t* values, uint8_t* planes) {
  const hn::Full128<uint8_t> d8;
  const hn::Full128<uint64_t> d64;
  alignas(16) static constexpr uint8_t kSplit[16] = {0, 2, 4, 6, 8, 10, 12, 14,
                                                     1, 3, 5, 7, 9, 11, 13, 15};
  const auto split = hn::Load(d8, kSplit);
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(values);
  const auto a = hn::BitCast(d64, hn::TableLookupBytes(hn::Load(d8, bytes), split));
  const auto b = hn::BitCast(d64, hn::TableLookupBytes(hn::Load(d8, bytes + 16), split));
  hn::Store(hn::BitCast(d8, hn::InterleaveLower(d64, a, b)), d8, planes);
  hn::Store(hn::BitCast(d8, hn::InterleaveUpper(d64, a, b)), d8, planes + 16);
}

// int4/uint4 weights to fp16 where each pair of chunks lies in one scale block: the block's 16
// weights computed once (the decoder's table: DequantizeChunk on the integers the nibbles stand
// for, then RN16, the bits every weight of theirs gets), then the 32 nibbles looked up in byte
// planes of those fp16 bits as lut4 indices are (Lookup4Planes16), instead of a 32-bit look-up
// and an RN16 per weight. Rows starting mid-byte, chunks past the last full pair or within 16
// bytes of the data's end go through the decoder as before.
template <int32_t kDType, ScaleLayout kLayout>
void DecompressNibblesF16(const QuantMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  using T = typename QuantDataType<kDType>::T;
  const QuantMatrixDecoder<kDType, false, kLayout, true, true> dec{plan};
  constexpr size_t kStep = 2 * kChunk;
  // Weights per Lookup4Planes16; its last call in a step reads 16 bytes from its first index.
  constexpr size_t kCall = 4 * kLanes;
  constexpr size_t kReadBytes = (kStep - kCall) / 2 + 16;
  const size_t steps = plan.cols / kStep;
  for (size_t r = r0; r < r1; ++r) {
    uint16_t* row_out = reinterpret_cast<uint16_t*>(out) + r * plan.cols;
    const uint64_t element0 = uint64_t{r} * plan.cols;
    size_t s = 0;
    for (; element0 % 2 == 0 && s < steps; ++s) {
      const uint64_t byte = (element0 + s * kStep) / 2;
      if (byte + kReadBytes > plan.data_bytes) break;
      VecArray<DI, kVecs> qi;
      for (size_t j = 0; j < kVecs; ++j) qi[j] = hn::LoadU(DI(), kNibbleValues<T>.q + j * kLanes);
      VecArray<DF, kVecs> values;
      DequantizeChunk<kLayout, true>(plan.grid, false, r, 2 * s, qi, values);
      HWY_ALIGN uint16_t f16[kChunk];
      for (size_t j = 0; j < kVecs; ++j) {
        hn::Store(RoundToF16(VF(values[j])), DU16(), f16 + j * kLanes);
      }
      HWY_ALIGN uint8_t planes[32];
      F16Planes(f16, planes);
      for (size_t k = 0; k < kStep; k += kCall) {
        Lookup4Planes16(plan.data + byte + k / 2, planes, row_out + s * kStep + k);
      }
    }
    DecompressRow<true, true, false>(dec, r, plan.cols, reinterpret_cast<uint8_t*>(row_out), 2 * s);
  }
}

template <int32_t kDType>
void DecompressNibbles(const QuantMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  if constexpr (kPlanes4) {
    if (plan.grid.round_f16) {
      bool done = false;
      WithScaleLayout(plan.grid, [&](auto layout) {
        constexpr ScaleLayout kLayout = decltype(layout)::value;
        if constexpr (kLayout != ScaleLayout::kGeneral) {
          if (ChunkPairsShareBlock<kLayout>(plan.grid, plan.cols)) {
            DecompressNibblesF16<kDType, kLayout>(plan, out, r0, r1);
            done = true;
          }
        }
      });
      if (done) return;
    }
  }
  DecompressFor<kDType>(plan, out, r0, r1);
}

void QuantMatrixDecompress(const QuantMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  switch (plan.data_dtype) {
    case WK_DTYPE_INT4: return DecompressNibbles<WK_DTYPE_INT4>(plan, out, r0, r1);
    case WK_DTYPE_UINT4: return DecompressNibbles<WK_DTYPE_UINT4>(plan, out, r0, r1);
    case WK_DTYPE_INT8: return DecompressFor<WK_DTYPE_INT8>(plan, out, r0, r1);
    case WK_DTYPE_UINT8: return DecompressFor<WK_DTYPE_UINT8>(plan, out, r0, r1);
    default: return;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(QuantMatrixDecompress);

void RunQuantMatrixDecompress(uint64_t target, const QuantMatrixPlan& plan, uint8_t* out, size_t r0,
                              size_t r1) {
  KernelFor(HWY_DISPATCH_TABLE(QuantMatrixDecompress), target)(plan, out, r0, r1);
}

}  // namespace wk
#endif  // HWY_ONCE
