// Internal: wk_matrix, the one prepared-matrix type of the C ABI. Each format derives from it with
// its plan and supplies three things — Build (its descriptor validated into the plan, info and
// regions), rows of the product, rows of the decompression — and CreateMatrix and the driver
// (matrix_api.cc) do the rest once for all: allocation, validation of calls, activations prepared
// once per call, the split into row tasks, threads, the floating-point environment.
#ifndef WK_MATRIX_MATRIX_H_
#define WK_MATRIX_MATRIX_H_

#include <cstddef>
#include <cstdint>
#include <new>

#include "common/status.h"
#include "gemv/gemv_operands.h"

namespace wk {
struct QuantMatrixPlan;
}  // namespace wk

struct wk_matrix {
  virtual ~wk_matrix() = default;

  // Computes io's rows (io.row_begin..row_end) for all of io's batch rows.
  virtual void Gemv(uint64_t target, const wk::GemvOperands& io) const = 0;

  // Writes rows [row_begin, row_end) of the dense weights (info.weight_dtype) into out, which
  // holds the whole [rows, cols] matrix. row_begin is a multiple of kDecompressRowAlign.
  virtual void Decompress(uint64_t target, uint8_t* out, size_t row_begin, size_t row_end) const = 0;

  // Whether Gemv may stage binary16 weights (common/matmul-inl.h), which read batch-1
  // activations in split order: the driver then prepares GemvOperands::x_split.
  virtual bool StagesHalfWeights() const { return false; }

  // Whether Gemv reads small batches (2 to kStagedBatchMax rows) as plain rows (GemvOperands::
  // packed false), each weight decoded once for all of them (common/matmul-inl.h, GemvRows):
  // the dense matrices.
  virtual bool ReadsSmallBatchRows() const { return false; }

  // The plan wk_matrix_gemv_w8a8 runs on, for the matrices that info.w8a8 admits.
  virtual const wk::QuantMatrixPlan* W8A8Plan() const { return nullptr; }

  // Sets the fields every format has (nonzeros = rows * cols until a format says otherwise).
  void SetInfo(int32_t format, size_t rows, size_t cols, int32_t weight_dtype,
               int32_t value_dtype, uint64_t compressed_bytes) {
    info.format = format;
    info.weight_dtype = weight_dtype;
    info.rows = static_cast<int64_t>(rows);
    info.cols = static_cast<int64_t>(cols);
    info.compressed_bytes = compressed_bytes;
    info.value_dtype = value_dtype;
    info.nonzeros = info.rows * info.cols;
  }

  wk_matrix_info info{};
  // The borrowed operands (outputs may not overlap them), with the names errors give them.
  struct Region {
    const void* data = nullptr;
    size_t bytes = 0;
    const char* name = "";
  };
  Region regions[2];
};

namespace wk {

// Rows of a decompression task start on multiples of 8, so that a task's first element starts on
// a byte of every packed stream (sub-byte data, masks).
constexpr size_t kDecompressRowAlign = 8;

// Allocates a Matrix, lets its Build(desc, ctx) validate the descriptor and fill the plan, info
// and regions, and hands the matrix out only on success.
template <class Matrix, class Desc>
wk_status CreateMatrix(const Desc* desc, wk_matrix** out, wk_context* ctx) {
  if (out == nullptr) return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "matrix is NULL");
  *out = nullptr;
  Matrix* m = new (std::nothrow) Matrix();
  if (m == nullptr) return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "matrix: allocation failed");
  wk_status status;
  try {
    // Preparing tables may be arithmetic (scales folded into LUTs): not under the caller's FTZ.
    const DefaultFloatEnvironment env;
    status = m->Build(desc, ctx);
  } catch (const std::bad_alloc&) {
    status = Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "matrix tables: allocation failed");
  }
  if (status != WK_OK) {
    delete m;
    return status;
  }
  *out = m;
  return WK_OK;
}

}  // namespace wk

#endif  // WK_MATRIX_MATRIX_H_
