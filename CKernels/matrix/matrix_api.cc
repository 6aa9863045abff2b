// C ABI of wk_matrix: the one driver of every format's product and decompression. It validates
// the operands, prepares the activations once per call (fp16 widened, padded to whole chunks for
// batches), splits the rows into tasks and runs them on the calling thread, the library's pool
// or the caller's parallel-for. Each output is computed by one task alone, in the canonical order,
// so neither the thread count nor the split can change a bit.
#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "common/cache_line.h"
#include "common/targets.h"
#include "common/tensor.h"
#include "common/thread_pool.h"
#include "dense/dense_kernels.h"
#include "matrix/matrix.h"
#include "quantization/quant_plan.h"

using namespace wk;

namespace wk {
namespace {

// Rows per task: about four tasks per thread (cores of unequal speed, or shared with other work,
// take more of them), whole multiples of 16 rows (every decoder's row block and the decompression
// alignment), and at least ~64 K multiply-adds, below which a task costs more than it saves.
size_t RowsPerTask(const wk_context* ctx, size_t threads, size_t rows, size_t work_per_row) {
  if (threads <= 1 && (ctx == nullptr || ctx->parallel_for == nullptr)) return rows;
  const size_t tasks = 4 * threads;
  size_t block = (rows + tasks - 1) / tasks;
  const size_t min_rows = (size_t{1} << 16) / std::max<size_t>(work_per_row, 1) + 1;
  block = std::max(block, min_rows);
  return std::min(rows, (block + 15) / 16 * 16);
}

size_t TaskCount(size_t rows, size_t block) { return (rows + block - 1) / block; }

wk_status CheckMatrix(const wk_matrix* m, wk_context* ctx) {
  if (m == nullptr) return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "matrix is NULL");
  return WK_OK;
}

wk_status CheckDisjointFromOperands(const wk_matrix* m, const wk_buffer* out, const char* name,
                                    wk_context* ctx) {
  for (const wk_matrix::Region& region : m->regions) {
    if (Overlaps(out->data, out->nbytes, region.data, region.bytes)) {
      return Fail(ctx, WK_ERROR_ALIASING, "%s overlaps %s", name, region.name);
    }
  }
  return WK_OK;
}

// A per-thread scratch that only grows (may throw std::bad_alloc), on whole cache lines.
float* Reserve(CacheLineVector<float>& scratch, size_t n) {
  if (scratch.size() < n) scratch.resize(n);
  return scratch.data();
}

// fp32 activations for the kernels: the caller's own fp32 rows where they serve as they are (one
// row, or plain rows: `rows`, for W8A8 and the small batches of wk_matrix::ReadsSmallBatchRows),
// else a per-thread scratch reused across calls, with fp16 widened exactly, in the packed layout
// of GemvOperands or as plain rows. With `split` (not for `rows`), also each batch row in split
// order there (GemvOperands::x_split).
const float* PrepareActivations(uint64_t target, const GemvRequest& req, size_t cols, bool rows,
                                float* split, bool* packed) {
  *packed = false;
  const float* x32 = reinterpret_cast<const float*>(req.x);
  if (!req.x_f16 && (rows || req.batch == 1)) {
    if (split != nullptr) SplitActivations(x32, cols, split);
    return x32;
  }
  thread_local CacheLineVector<float> scratch_buffer;
  const size_t width = PanelCols(req.batch);
  const size_t blocks = (cols + width - 1) / width;
  float* scratch = Reserve(scratch_buffer, rows ? req.batch * cols : req.batch * blocks * width);
  if (rows) {
    RunWidenF16(target, reinterpret_cast<const uint16_t*>(req.x), req.batch * cols, scratch);
    return scratch;
  }
  thread_local std::vector<float> widened;  // one fp16 row at a time
  if (req.x_f16 && widened.size() < cols) widened.resize(cols);
  for (size_t b = 0; b < req.batch; ++b) {
    const float* src = x32 + b * cols;
    if (req.x_f16) {
      RunWidenF16(target, reinterpret_cast<const uint16_t*>(req.x) + b * cols, cols,
                  widened.data());
      src = widened.data();
    }
    if (split != nullptr) SplitActivations(src, cols, split + b * cols);
    for (size_t k = 0; k < blocks; ++k) {
      float* block = scratch + (k * req.batch + b) * width;
      const size_t n = std::min(width, cols - k * width);
      std::memcpy(block, src + k * width, 4 * n);
      std::fill(block + n, block + width, 0.0f);
    }
  }
  *packed = true;
  return scratch;
}

struct GemvJob {
  const wk_matrix* m;
  uint64_t target;
  GemvOperands io;  // row range filled per task
  size_t block;
  const W8A8Activations* w8a8;  // set for wk_matrix_gemv_w8a8
};

void RunGemvTask(void* data, size_t i) {
  const GemvJob& job = *static_cast<const GemvJob*>(data);
  GemvOperands io = job.io;
  io.row_begin = i * job.block;
  io.row_end = std::min(io.rows, io.row_begin + job.block);
  const DefaultFloatEnvironment env;  // per task: a lent pool's threads may run with FTZ/DAZ
  if (job.w8a8 != nullptr) {
    RunQuantMatrixGemvW8A8(job.target, *job.m->W8A8Plan(), *job.w8a8, io);
  } else {
    job.m->Gemv(job.target, io);
  }
}

wk_status Gemv(const wk_matrix* m, const wk_tensor* x, const wk_buffer* y, int32_t y_dtype,
               wk_context* ctx, bool w8a8) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  WK_TRY(CheckMatrix(m, ctx));
  if (w8a8 && (m->W8A8Plan() == nullptr || !m->info.w8a8)) {
    return Fail(ctx, WK_ERROR_UNSUPPORTED,
                "matrix: w8a8 needs a quantized matrix with int8 data without offset, one "
                "scale per row (or per tensor) and at most %llu columns",
                static_cast<unsigned long long>(kW8A8MaxCols));
  }
  const size_t rows = static_cast<size_t>(m->info.rows);
  const size_t cols = static_cast<size_t>(m->info.cols);
  GemvRequest req;
  WK_TRY(CheckGemvOperands(rows, cols, x, y, y_dtype, ctx, &req));
  WK_TRY(CheckDisjointFromOperands(m, y, "y", ctx));
  if (req.batch != 0) {
    try {
      const DefaultFloatEnvironment env;
      float* split = nullptr;
      if (req.batch <= kStagedBatchMax && !w8a8 && m->StagesHalfWeights()) {
        thread_local CacheLineVector<float> split_buffer;
        split = Reserve(split_buffer, req.batch * cols);
      }
      const bool plain_rows =
          w8a8 || (req.batch <= kStagedBatchMax && m->ReadsSmallBatchRows());
      bool packed = false;
      const float* x32 = PrepareActivations(target, req, cols, plain_rows, split, &packed);
      GemvJob job{m, target, GemvOperands{}, 0, nullptr};
      job.io = GemvOperands{x32, packed, req.batch, req.y, req.y_f16, rows, 0, rows, split};
      W8A8Activations quantized;
      if (w8a8) {
        QuantizeW8A8Activations(x32, cols, req.batch, &quantized);
        job.w8a8 = &quantized;
      }
      const size_t threads = RequestedThreads(ctx);
      job.block = RowsPerTask(ctx, threads, rows, cols * req.batch);
      RunTasks(ctx, threads, TaskCount(rows, job.block), RunGemvTask, &job);
    } catch (const std::bad_alloc&) {
      return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "x: activation scratch allocation failed");
    }
  }
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

struct DecompressJob {
  const wk_matrix* m;
  uint64_t target;
  uint8_t* out;
  size_t rows;
  size_t block;
};

void RunDecompressTask(void* data, size_t i) {
  const DecompressJob& job = *static_cast<const DecompressJob*>(data);
  const size_t begin = i * job.block;
  const DefaultFloatEnvironment env;
  job.m->Decompress(job.target, job.out, begin, std::min(job.rows, begin + job.block));
}

}  // namespace
}  // namespace wk

extern "C" {

void wk_matrix_destroy(wk_matrix* matrix) { delete matrix; }

wk_status wk_matrix_get_info(const wk_matrix* matrix, wk_matrix_info* info) {
  if (matrix == nullptr || info == nullptr) return WK_ERROR_NULL_ARGUMENT;
  *info = matrix->info;
  return WK_OK;
}

wk_status wk_matrix_decompress(const wk_matrix* matrix, const wk_buffer* out, wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  WK_TRY(CheckMatrix(matrix, ctx));
  const wk_matrix_info& info = matrix->info;
  const uint64_t count = static_cast<uint64_t>(info.rows) * static_cast<uint64_t>(info.cols);
  WK_TRY(CheckOutput(out, PackedBytes(info.weight_dtype, count), "output", ctx));
  WK_TRY(CheckDisjointFromOperands(matrix, out, "output", ctx));
  const size_t rows = static_cast<size_t>(info.rows);
  const size_t threads = RequestedThreads(ctx);
  DecompressJob job{matrix, target, static_cast<uint8_t*>(out->data), rows,
                    RowsPerTask(ctx, threads, rows, static_cast<size_t>(info.cols))};
  RunTasks(ctx, threads, TaskCount(rows, job.block), RunDecompressTask, &job);
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

wk_status wk_matrix_gemv(const wk_matrix* matrix, const wk_tensor* x, const wk_buffer* y,
                         int32_t y_dtype, wk_context* ctx) {
  return Gemv(matrix, x, y, y_dtype, ctx, false);
}

wk_status wk_matrix_gemv_w8a8(const wk_matrix* matrix, const wk_tensor* x, const wk_buffer* y,
                              int32_t y_dtype, wk_context* ctx) {
  return Gemv(matrix, x, y, y_dtype, ctx, true);
}

}  // extern "C"
