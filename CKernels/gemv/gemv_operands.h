// Internal: validation of the activation and output operands every GEMV shares, and the operands
// a kernel receives for one task (a range of rows).
#ifndef WK_GEMV_GEMV_OPERANDS_H_
#define WK_GEMV_GEMV_OPERANDS_H_

#include <cstddef>
#include <cstdint>

#include "common/status.h"

namespace wk {

// A validated call: the caller's activations and output.
struct GemvRequest {
  const uint8_t* x;  // [batch, cols], fp16 or fp32
  bool x_f16;
  size_t batch;
  uint8_t* y;  // [batch, rows], fp16 or fp32
  bool y_f16;
};

// Split order of a 16-column chunk (docs/ARITHMETIC.md §2): its even columns, then its odd ones;
// position p holds column SplitColumn(p). Staged binary16 weights come out in it (matmul-inl.h).
constexpr size_t SplitColumn(size_t p) { return p < 8 ? 2 * p : 2 * (p - 8) + 1; }

// Paired order, split order's inverse: position 2k holds column k, 2k + 1 column k + 8. 16-lane
// steps of 4-bit indices come out in it (lut_decode-inl.h, PairedNibbles).
constexpr size_t PairedColumn(size_t p) { return p / 2 + 8 * (p % 2); }

// Columns of a weight panel in the product of batches (matmul-inl.h), and of a block of the
// packed activations it reads: at most kPanelCols, PanelCols(batch).
constexpr size_t kPanelCols = 512;
// Batches from which panels (and blocks of packed activations) have kPanelCols columns; smaller
// ones have half as many (matmul-inl.h, GemmRows).
constexpr size_t kWidePanelBatch = 16;
constexpr size_t PanelCols(size_t batch) {
  return batch >= kWidePanelBatch ? kPanelCols : kPanelCols / 2;
}

// What a kernel computes: y[b, r] for every batch row b and r in [row_begin, row_end).
struct GemvOperands {
  // fp32 activations. Not packed: batch row b at x + b * cols (batch 1, and the small batches of
  // wk_matrix::ReadsSmallBatchRows). Packed: column block k (columns n k ... n k + n - 1, +0 past
  // cols; n = PanelCols(batch)) of batch row b at x + (k * batch + b) * n, so that the tile a
  // product reads is contiguous (rows a power-of-two apart would share L1 sets). Batch 1 packed is
  // simply the row padded with +0 to whole blocks.
  const float* x;
  bool packed;
  size_t batch;
  uint8_t* y;  // [batch, rows]
  bool y_f16;
  size_t rows;  // the matrix's rows: y's row stride
  size_t row_begin;
  size_t row_end;
  // Batches up to kStagedBatchMax: each batch row (cols floats apart) with its full chunks in
  // split order (SplitActivations), for matrices whose GEMV stages binary16 weights
  // (wk_matrix::StagesHalfWeights); nullptr: they do not stage, or a larger batch.
  const float* x_split = nullptr;
};

// Largest batch that GemvRows (matmul-inl.h) runs, each weight decoded once for all batch rows,
// rather than the panel product: through the staged GEMV for staging matrices, from plain rows
// for dense ones.
constexpr size_t kStagedBatchMax = 4;

// out[0, cols) = x with each full 16-column chunk in split order, the rest as is.
void SplitActivations(const float* x, size_t cols, float* out);

// x: fp16/fp32 [cols] or [batch, cols]; y: at least batch * rows elements of y_dtype (fp16/fp32),
// disjoint from x.
wk_status CheckGemvOperands(uint64_t rows, uint64_t cols, const wk_tensor* x, const wk_buffer* y,
                            int32_t y_dtype, wk_context* ctx, GemvRequest* out);

}  // namespace wk

#endif  // WK_GEMV_GEMV_OPERANDS_H_
