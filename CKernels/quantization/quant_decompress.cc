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

// int4/uint4 weights to fp16 where each pair of chunks lies in one scale block: the block's 16
// weights computed once (the decoder's BlockPlanesF16, which the staged GEMV uses too), then the
// 32 nibbles looked up in those byte planes as lut4 indices are (Lookup4Planes16), instead of a 32-bit look-up
// and an RN16 per weight. Rows starting mid-byte, chunks past the last full pair or within 16
// bytes of the data's end go through the decoder as before.
template <int32_t kDType, ScaleLayout kLayout>
void DecompressNibblesF16(const QuantMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  const QuantMatrixDecoder<kDType, false, kLayout, true, true> dec{plan};
  constexpr size_t kStep = 2 * kChunk;
  // Weights per Lookup4Planes16; its last call in a step reads 16 bytes from its first index.
  constexpr size_t kCall = 4 * kLanes;
  constexpr size_t kReadBytes = (kStep - kCall) / 2 + 16;
  const size_t steps = plan.cols / kStep;
  for (size_t r = r0; r < r1; ++r) {
    uint16_t* row_out = reinterpret_cast<uint16_t*>(out) + r * plan.cols;
    const uint64_t element0 = uint64_t{r} * plan.cols;
    const auto cur = dec.Begin(r);
    size_t s = 0;
    for (; element0 % 2 == 0 && s < steps; ++s) {
      const uint64_t byte = (element0 + s * kStep) / 2;
      if (byte + kReadBytes > plan.data_bytes) break;
      HWY_ALIGN uint8_t planes[32];
      dec.BlockPlanesF16(cur, 2 * s, planes);
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
