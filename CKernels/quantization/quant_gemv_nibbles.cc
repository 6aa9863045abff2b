// Fused dequantize-GEMV for int4/uint4 weights, compiled for every target (decoder in
// quant_matrix-inl.h).
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "quantization/quant_gemv_nibbles.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "quantization/quant_matrix-inl.h"
#include "quantization/quant_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

void QuantMatrixGemvNibbles(const QuantMatrixPlan& plan, const GemvOperands& io) {
  switch (plan.data_dtype) {
    case WK_DTYPE_INT4: return GemvFor<WK_DTYPE_INT4>(plan, io);
    case WK_DTYPE_UINT4: return GemvFor<WK_DTYPE_UINT4>(plan, io);
    default: return;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(QuantMatrixGemvNibbles);

void RunQuantMatrixGemvNibbles(uint64_t target, const QuantMatrixPlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(QuantMatrixGemvNibbles), target)(plan, io);
}

}  // namespace wk
#endif  // HWY_ONCE
