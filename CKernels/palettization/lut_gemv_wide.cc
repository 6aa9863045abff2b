// Fused palettized GEMV for 4-, 6- and 8-bit indices, compiled for every target: indices are decoded and
// looked up in registers, never expanded to a dense copy, and accumulated in the canonical order.
// The index widths are split over two translation units so that they compile in parallel.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "palettization/lut_gemv_wide.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "palettization/lut_matrix-inl.h"
#include "palettization/lut_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

void LutMatrixGemvWide(const LutMatrixPlan& plan, const GemvOperands& io) {
  switch (plan.nbits) {
    case 4: return LutMatrixGemvBits<4>(plan, io);
    case 6: return LutMatrixGemvBits<6>(plan, io);
    case 8: return LutMatrixGemvBits<8>(plan, io);
    default: return;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(LutMatrixGemvWide);

void RunLutMatrixGemvWide(uint64_t target, const LutMatrixPlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(LutMatrixGemvWide), target)(plan, io);
}

}  // namespace wk
#endif  // HWY_ONCE
