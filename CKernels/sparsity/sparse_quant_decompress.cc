// Decompression of sparse + quantized matrices through the GEMV's decoders
// (sparse_quant_matrix-inl.h), compiled for every target.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sparsity/sparse_quant_decompress.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "hwy/highway.h"
#include "sparsity/sparse_plan.h"
#include "sparsity/sparse_quant_matrix-inl.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// Rows [r0, r1) of the dense weights: each non-zero dequantized with its position's block,
// exactly as constexpr_sparse_blockwise_shift_scale; pruned weights +0.
void SparseQuantMatrixDecompress(const SparseMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  const bool f16 = plan.quant.round_f16;
  WithSparseQuantDecoder<true>(plan, [&](const auto& dec) {
    DecompressRows(dec, plan.cols, f16, out, r0, r1);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(SparseQuantMatrixDecompress);

void RunSparseQuantMatrixDecompress(uint64_t target, const SparseMatrixPlan& plan, uint8_t* out,
                                    size_t r0, size_t r1) {
  KernelFor(HWY_DISPATCH_TABLE(SparseQuantMatrixDecompress), target)(plan, out, r0, r1);
}

}  // namespace wk
#endif  // HWY_ONCE
