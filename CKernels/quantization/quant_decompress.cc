// Decompression of prepared quantized matrices through the GEMV's decoders (quant_matrix-inl.h),
// compiled for every target.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quantization/quant_decompress.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "quantization/quant_matrix-inl.h"
#include "quantization/quant_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

void QuantMatrixDecompress(const QuantMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  switch (plan.data_dtype) {
    case WK_DTYPE_INT4: return DecompressFor<WK_DTYPE_INT4>(plan, out, r0, r1);
    case WK_DTYPE_UINT4: return DecompressFor<WK_DTYPE_UINT4>(plan, out, r0, r1);
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
