// Fused GEMV over sparse + quantized weights, compiled for every target (decoder in
// sparse_quant_matrix-inl.h; decompression in sparse_quant_decompress.cc, which compiles in
// parallel).
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sparsity/sparse_quant_gemv.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "sparsity/sparse_plan.h"
#include "sparsity/sparse_quant_matrix-inl.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

void SparseQuantMatrixGemv(const SparseMatrixPlan& plan, const GemvOperands& io) {
  WithSparseQuantDecoder<false>(plan, [&](const auto& dec) { MatrixProduct(dec, plan.cols, io); });
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(SparseQuantMatrixGemv);

void RunSparseQuantMatrixGemv(uint64_t target, const SparseMatrixPlan& plan,
                              const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(SparseQuantMatrixGemv), target)(plan, io);
}

}  // namespace wk
#endif  // HWY_ONCE
