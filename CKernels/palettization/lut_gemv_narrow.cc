// Fused palettized GEMV for 1-, 2- and 3-bit indices, compiled for every target: indices are decoded and
// looked up in registers, never expanded to a dense copy, and accumulated in the canonical order.
// The index widths are split over two translation units so that they compile in parallel.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "palettization/lut_gemv_narrow.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "palettization/lut_matrix-inl.h"
#include "palettization/lut_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

void LutMatrixGemvNarrow(const LutMatrixPlan& plan, const GemvOperands& io) {
  switch (plan.nbits) {
    case 1: return LutMatrixGemvBits<1>(plan, io);
    case 2: return LutMatrixGemvBits<2>(plan, io);
    case 3: return LutMatrixGemvBits<3>(plan, io);
    default: return;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(LutMatrixGemvNarrow);

void RunLutMatrixGemvNarrow(uint64_t target, const LutMatrixPlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(LutMatrixGemvNarrow), target)(plan, io);
}

}  // namespace wk
#endif  // HWY_ONCE
