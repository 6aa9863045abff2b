// Fused palettized GEMV (wk_lut_matrix_gemv), compiled for every target: indices are decoded and
// looked up in registers, never expanded to a dense copy, and accumulated in the canonical order.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "palettization/lut_gemv.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "palettization/lut_matrix-inl.h"
#include "palettization/lut_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

template <int kBits>
void LutMatrixGemvBits(const LutMatrixPlan& plan, const GemvOperands& io) {
  if (plan.scale_mode == LutScaleMode::kNone) {
    const LutMatrixDecoder<kBits, false> dec(plan);
    GemvAllRows(dec, plan.rows, plan.cols, io.x, io.x_f16, io.batch, io.y, io.y_f16);
  } else {
    const LutMatrixDecoder<kBits, true> dec(plan);
    GemvAllRows(dec, plan.rows, plan.cols, io.x, io.x_f16, io.batch, io.y, io.y_f16);
  }
}

void LutMatrixGemv(const LutMatrixPlan& plan, const GemvOperands& io) {
  switch (plan.nbits) {
    case 1: return LutMatrixGemvBits<1>(plan, io);
    case 2: return LutMatrixGemvBits<2>(plan, io);
    case 3: return LutMatrixGemvBits<3>(plan, io);
    case 4: return LutMatrixGemvBits<4>(plan, io);
    case 6: return LutMatrixGemvBits<6>(plan, io);
    default: return LutMatrixGemvBits<8>(plan, io);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(LutMatrixGemv);

void RunLutMatrixGemv(uint64_t target, const LutMatrixPlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(LutMatrixGemv), target)(plan, io);
}

}  // namespace wk
#endif  // HWY_ONCE
