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

// Columns of a weight panel in the product of batches (matmul-inl.h), and of a block of the
// packed activations it reads.
constexpr size_t kPanelCols = 256;

// What a kernel computes: y[b, r] for every batch row b and r in [row_begin, row_end).
struct GemvOperands {
  // fp32 activations. Not packed (batch 1 only): the row at x. Packed: column block k (columns
  // 256 k ... 256 k + 255, +0 past cols) of batch row b at x + (k * batch + b) * kPanelCols, so
  // that the tile a product reads is contiguous (rows a power-of-two apart would share L1 sets).
  // Batch 1 packed is simply the row padded with +0 to whole blocks.
  const float* x;
  bool packed;
  size_t batch;
  uint8_t* y;  // [batch, rows]
  bool y_f16;
  size_t rows;  // the matrix's rows: y's row stride
  size_t row_begin;
  size_t row_end;
};

// x: fp16/fp32 [cols] or [batch, cols]; y: at least batch * rows elements of y_dtype (fp16/fp32),
// disjoint from x.
wk_status CheckGemvOperands(uint64_t rows, uint64_t cols, const wk_tensor* x, const wk_buffer* y,
                            int32_t y_dtype, wk_context* ctx, GemvRequest* out);

}  // namespace wk

#endif  // WK_GEMV_GEMV_OPERANDS_H_
