// What every libFuzzer target of Fuzz/ shares: the input read as a stream of choices, operands
// in heap blocks of exactly their size (so any out-of-bounds access faults under ASan), the two
// checks — a valid call gives the portable EMU128 bytes on every supported target, and a
// malformed call fails with its documented status without writing — and the checks every
// wk_matrix gets whatever its format: the same bytes for every thread count (the library's pool
// or a parallel-for lent by the caller), batch rows independent of each other, the fused GEMV
// equal to the GEMV of a dense matrix made from the decompressed weights, and its error paths.
#ifndef WK_FUZZ_FUZZ_SUPPORT_H_
#define WK_FUZZ_FUZZ_SUPPORT_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

#include "include/weightkernels.h"

namespace wk_fuzz {

// Reads fuzzer bytes as a stream of choices; past the end it yields zeros. Operand bytes are
// filled from the same stream (wrapping around the input), so that after a large operand every
// later choice reads 0. Choices added after the seeds were written come from a second stream read
// backwards from the end of the input (Tail*), so that the forward stream — and the seeds —
// decode as before. Large matrices (a mode no seed uses) detach the fills from the forward
// stream: their operands would otherwise exhaust it.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t Below(uint32_t n) { return n == 0 ? 0 : (Byte() | (uint32_t{Byte()} << 8)) % n; }
  bool Flip(uint32_t one_in) { return Below(one_in) == 0; }

  uint8_t TailByte() { return tail_ < size_ ? data_[size_ - 1 - tail_++] : 0; }
  uint32_t TailBelow(uint32_t n) { return n == 0 ? 0 : (TailByte() | (uint32_t{TailByte()} << 8)) % n; }

  // Fills n bytes from the input, wrapping around it (zeros for an empty input).
  void Fill(uint8_t* out, size_t n) {
    size_t& pos = detached_ ? fill_pos_ : pos_;
    for (size_t i = 0; i < n; ++i) out[i] = size_ == 0 ? 0 : data_[(pos++) % size_];
  }

  // From now on Fill reads its own cursor and leaves the forward stream of choices alone.
  void DetachFills() {
    detached_ = true;
    fill_pos_ = pos_;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  size_t tail_ = 0;
  size_t fill_pos_ = 0;
  bool detached_ = false;
};

// A heap block of exactly n bytes (n = 0 gives a null pointer, as a caller might pass).
struct Block {
  std::unique_ptr<uint8_t[]> bytes;
  size_t n = 0;

  explicit Block(size_t size) : bytes(size ? new uint8_t[size] : nullptr), n(size) {}
  uint8_t* data() const { return bytes.get(); }
};

[[noreturn]] inline void Fatal(const char* what, const char* detail) {
  std::fprintf(stderr, "MISMATCH: %s: %s\n", what, detail);
  std::abort();
}

[[noreturn]] inline void Mismatch(const char* what, uint64_t target) {
  std::fprintf(stderr, "MISMATCH: %s on %s differs from EMU128\n", what, wk_target_name(target));
  std::abort();
}

inline std::vector<uint64_t> SupportedTargets() {
  uint64_t all[64];
  const size_t n = wk_compiled_targets(all, 64);
  std::vector<uint64_t> out;
  for (size_t i = 0; i < n && i < 64; ++i) {
    if (wk_supported_targets() & all[i]) out.push_back(all[i]);
  }
  return out;
}

inline uint64_t Portable() {
  uint64_t all[64];
  const size_t n = wk_compiled_targets(all, 64);
  return all[n - 1];  // the portable fallback is listed last
}

inline uint64_t PackedBytes(int32_t dtype, uint64_t count) {
  return (uint64_t{wk_dtype_bits(dtype)} * count + 7) / 8;
}

inline uint64_t Count(uint32_t rank, const int64_t* shape) {
  uint64_t count = 1;
  for (uint32_t d = 0; d < rank; ++d) count *= static_cast<uint64_t>(shape[d]);
  return count;
}

// Raw field i of a packed 4-, 8-, 16- or 32-bit stream.
inline uint32_t GetField(const uint8_t* p, uint32_t bits, uint64_t i) {
  if (bits == 4) return (p[i / 2] >> (4 * (i % 2))) & 0xFu;
  uint32_t v = 0;
  std::memcpy(&v, p + i * (bits / 8), bits / 8);
  return v;
}

// A tensor of exactly its dtype and shape's size (or `nbytes` when given), filled from the input.
struct OwnedTensor {
  Block block;
  wk_tensor t;

  OwnedTensor(Input& in, int32_t dtype, uint32_t rank, const int64_t* shape, int64_t nbytes = -1)
      : block(nbytes >= 0 ? static_cast<size_t>(nbytes)
                          : static_cast<size_t>(PackedBytes(dtype, Count(rank, shape)))),
        t{} {
    in.Fill(block.data(), block.n);
    t.data = block.data();
    t.nbytes = block.n;
    t.dtype = dtype;
    t.rank = rank;
    for (uint32_t d = 0; d < rank; ++d) t.shape[d] = shape[d];
  }

  uint32_t Raw(uint64_t i) const { return GetField(block.data(), wk_dtype_bits(t.dtype), i); }
};

// A copy of a tensor for an operand a matrix copies at create (LUTs, scales, offsets): freed
// right after the create call, so that a matrix still reading it faults under ASan.
struct CopiedTensor {
  Block block;
  wk_tensor t;

  explicit CopiedTensor(const wk_tensor* src) : block(src ? src->nbytes : 0), t{} {
    if (src == nullptr) return;
    t = *src;
    if (block.n) std::memcpy(block.data(), src->data, block.n);
    t.data = block.data();
  }

  const wk_tensor* get(const wk_tensor* src) const { return src ? &t : nullptr; }
};

// Runs `op(ctx, outs)` on every supported target and compares every output with the portable
// result. Returns the portable outputs.
template <class Op>
std::vector<Block> Differential(const char* what, std::initializer_list<size_t> sizes, const Op& op) {
  std::vector<Block> expected;
  for (size_t n : sizes) expected.emplace_back(n);
  wk_context ctx;
  wk_context_init(&ctx);
  ctx.target = Portable();
  if (op(&ctx, expected.data()) != WK_OK) {
    std::fprintf(stderr, "%s: portable target rejected a call that validated: %s\n", what, ctx.message);
    std::abort();
  }
  for (uint64_t target : SupportedTargets()) {
    std::vector<Block> got;
    for (size_t n : sizes) got.emplace_back(n);
    wk_context_init(&ctx);
    ctx.target = target;
    if (op(&ctx, got.data()) != WK_OK) Mismatch(what, target);
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].n && std::memcmp(got[i].data(), expected[i].data(), got[i].n) != 0) Mismatch(what, target);
    }
  }
  return expected;
}

// A malformed call: `op(outs)` must return `want` and leave every output byte untouched.
template <class Op>
void ExpectFailure(const char* what, wk_status want, std::initializer_list<size_t> sizes, const Op& op) {
  std::vector<Block> outs;
  for (size_t n : sizes) {
    outs.emplace_back(n);
    if (n) std::memset(outs.back().data(), 0xA5, n);
  }
  const wk_status got = op(outs.data());
  if (got != want) {
    std::fprintf(stderr, "MISMATCH: %s: status %s, expected %s\n", what, wk_status_name(got),
                 wk_status_name(want));
    std::abort();
  }
  for (const Block& out : outs) {
    for (size_t i = 0; i < out.n; ++i) {
      if (out.data()[i] != 0xA5) Fatal(what, "a failing call wrote to its output");
    }
  }
}


inline size_t FloatBytes(int32_t dtype) { return dtype == WK_DTYPE_FP16 ? 2 : 4; }

// ---------------------------------------------------------------------------------------------
// Matrix sizes

// A product or decompression is split into row tasks of whole 16-row blocks and at least ~64 K
// multiply-adds (matrix_api.cc): with cols * batch >= kSplitWork and rows > 16 a call with
// threads > 1 (or a lent parallel-for) really runs several tasks.
constexpr int64_t kSplitWork = 4400;

// The first choice of every input: which of `cases` entry points to fuzz, read as
// Below(kLargeOneIn * cases) so that the case is the value modulo `cases`, as when it was read
// as Below(cases) (the seeds keep their meaning). The top kLargeOneIn-th of the values, when they
// pick a matrix case (>= first_matrix_case), ask for a large matrix: `*large` is set and the
// fills are detached from the choices.
constexpr uint32_t kLargeOneIn = 6;
inline uint32_t PickCase(Input& in, uint32_t cases, uint32_t first_matrix_case, bool* large) {
  const uint32_t pick = in.Below(kLargeOneIn * cases);
  *large = pick >= (kLargeOneIn - 1) * cases && pick % cases >= first_matrix_case;
  if (*large) in.DetachFills();
  return pick % cases;
}

// Extents of a large matrix: 17..48 rows (two or three 16-row tasks), and either enough columns
// that one batch row splits (the decompression too) or a few hundred columns for large batches.
inline int64_t LargeRows(Input& in) { return 17 + in.Below(32); }
inline int64_t LargeCols(Input& in) { return in.Flip(2) ? kSplitWork + in.Below(300) : 64 + in.Below(400); }

// Batch rows of a product, from the tail stream: `forward` (the 1..3 rows the seeds encode)
// about a third of the time, 2..9 (the register tiles of 3, 6 or 12 rows and their remainders)
// mostly, 33..48 (more than one 32-row batch group) sometimes. For a large matrix: enough rows
// that the product splits into tasks.
inline int64_t PickBatch(Input& in, bool large, int64_t cols, int64_t forward) {
  if (large) {
    if (cols >= kSplitWork) return 1 + in.TailBelow(2);
    return (kSplitWork + cols - 1) / cols + in.TailBelow(8);
  }
  switch (in.TailBelow(8)) {
    case 0: case 1: case 2: return forward;
    case 7: return 33 + in.TailBelow(16);
    default: return 2 + in.TailBelow(8);
  }
}

// The activations and output of a product: x and y dtypes, batch rows, and whether x is [cols]
// rather than [1, cols]. Read in the order the seeds encode (forward stream), then the tail.
struct ProductChoice {
  int32_t x_type;
  int32_t y_type;
  int64_t batch;
  bool rank1;
};

inline ProductChoice PickProduct(Input& in, bool large, int64_t cols, int64_t forward_batches) {
  ProductChoice p;
  const int64_t forward = 1 + in.Below(forward_batches);
  p.x_type = in.Flip(2) ? WK_DTYPE_FP16 : WK_DTYPE_FP32;
  p.y_type = in.Flip(2) ? WK_DTYPE_FP16 : WK_DTYPE_FP32;
  const bool forward_rank1 = forward == 1 && in.Flip(2);
  p.batch = PickBatch(in, large, cols, forward);
  p.rank1 = forward_rank1 && p.batch == 1;
  return p;
}

// ---------------------------------------------------------------------------------------------
// Threads

// How the threaded variant of an input runs (from the tail stream): on which target, with which wk_context.threads
// (2, 3 and 7 mostly, 0 = every CPU and 1 sometimes), and on the library's pool (mode 0) or a
// parallel-for lent by the caller: tasks in reverse order on the calling thread (mode 1), or the
// odd tasks on a second thread (mode 2) — both threads with FTZ, DAZ and round-toward-zero in
// their MXCSR, which the kernels must not see and must restore.
struct Threading {
  uint64_t target;
  uint32_t threads;
  uint32_t mode;
};

inline Threading PickThreading(Input& in) {
  static const std::vector<uint64_t> targets = SupportedTargets();
  static const uint32_t kThreads[] = {2, 3, 7, 2, 3, 7, 0, 1};
  Threading t;
  t.target = targets[in.TailBelow(static_cast<uint32_t>(targets.size()))];
  t.threads = kThreads[in.TailBelow(8)];
  t.mode = in.TailBelow(3);
  if (t.threads == 1 && t.mode == 0) t.mode = 1;  // the library's pool with one thread is the baseline
  return t;
}

// How often the threaded variants really ran several tasks (printed at exit when the
// environment has WK_FUZZ_STATS, to see that the split is exercised).
struct ThreadStats {
  size_t variants = 0;
  size_t lent_calls = 0;
  size_t lent_split = 0;  // lent parallel-for calls with count >= 2
  size_t lent_tasks = 0;

  static ThreadStats& Get() {
    static ThreadStats* stats = [] {
      ThreadStats* s = new ThreadStats();
      if (std::getenv("WK_FUZZ_STATS") != nullptr) {
        std::atexit([] {
          const ThreadStats& t = Get();
          std::fprintf(stderr, "threaded variants: %zu; lent parallel_for calls: %zu, %zu of them split, %zu tasks\n",
                        t.variants, t.lent_calls, t.lent_split, t.lent_tasks);
        });
      }
      return s;
    }();
    return *stats;
  }
};

#if defined(__x86_64__) || defined(__i386__)
// FTZ | DAZ | round toward zero, all exceptions masked.
constexpr uint32_t kDirtyMxcsr = 0x8000u | 0x0040u | 0x6000u | 0x1F80u;
inline uint32_t GetMxcsr() { return _mm_getcsr(); }
inline void SetMxcsr(uint32_t v) { _mm_setcsr(v); }
#else
constexpr uint32_t kDirtyMxcsr = 0;
inline uint32_t GetMxcsr() { return 0; }
inline void SetMxcsr(uint32_t) {}
#endif

// The parallel-for a caller lends through wk_context: checks what the library promises it (at
// most one call per library call, never re-entrant) and runs the tasks in an order the
// library's own pool does not use.
struct LentPool {
  uint32_t mode = 1;
  size_t calls = 0;
  bool inside = false;
};

inline void LentParallelFor(void* pool, wk_task_fn task, void* task_data, size_t count) {
  LentPool& p = *static_cast<LentPool*>(pool);
  if (p.inside) Fatal("parallel_for", "called re-entrantly");
  p.inside = true;
  ++p.calls;
  ThreadStats& stats = ThreadStats::Get();
  ++stats.lent_calls;
  stats.lent_split += count >= 2;
  stats.lent_tasks += count;
  if (p.mode == 2) {
    std::thread other([&] {
      const uint32_t saved = GetMxcsr();
      SetMxcsr(kDirtyMxcsr);
      for (size_t i = 1; i < count; i += 2) task(task_data, i);
      if (GetMxcsr() != kDirtyMxcsr) Fatal("parallel_for", "a task did not restore its thread's MXCSR");
      SetMxcsr(saved);
    });
    for (size_t i = count; i-- > 0;) {
      if (i % 2 == 0) task(task_data, i);
    }
    other.join();
  } else {
    for (size_t i = count; i-- > 0;) task(task_data, i);
  }
  p.inside = false;
}

[[noreturn]] inline void ThreadMismatch(const char* what, const Threading& th, const char* detail) {
  static const char* const kModes[] = {"library pool", "lent parallel_for, reverse order",
                                       "lent parallel_for, two threads, dirty MXCSR"};
  std::fprintf(stderr, "MISMATCH: %s with threads %u (%s) on %s: %s\n", what, th.threads, kModes[th.mode],
               wk_target_name(th.target), detail);
  std::abort();
}

// `op(ctx, out)` run as `th` says must give `expected` (the one-thread result), byte for byte.
template <class Op>
void ExpectSameThreaded(const char* what, const Threading& th, const Block& expected, const Op& op) {
  Block got(expected.n);
  if (got.n) std::memset(got.data(), 0xA5, got.n);
  LentPool pool;
  pool.mode = th.mode;
  wk_context ctx;
  wk_context_init(&ctx);
  ctx.target = th.target;
  ctx.threads = th.threads;
  if (th.mode != 0) {
    ctx.parallel_for = LentParallelFor;
    ctx.parallel_for_pool = &pool;
  }
  ++ThreadStats::Get().variants;
  const uint32_t saved = GetMxcsr();
  if (th.mode == 2) SetMxcsr(kDirtyMxcsr);
  const wk_status status = op(&ctx, &got);
  const uint32_t after = GetMxcsr();
  SetMxcsr(saved);
  if (th.mode == 2 && after != kDirtyMxcsr) ThreadMismatch(what, th, "the caller's MXCSR was not restored");
  if (status != WK_OK) ThreadMismatch(what, th, ctx.message);
  if (pool.calls > 1) ThreadMismatch(what, th, "parallel_for was called more than once in one call");
  if (ctx.used_target != th.target) ThreadMismatch(what, th, "used_target is not the requested target");
  if (got.n && std::memcmp(got.data(), expected.data(), got.n) != 0) {
    ThreadMismatch(what, th, "differs from threads 1");
  }
}

// ---------------------------------------------------------------------------------------------
// Matrices

// Decompression on every target (each equal to the portable bytes) and with `th`'s threads.
inline std::vector<Block> CheckDecompress(const char* what, const wk_matrix* m, const wk_matrix_info& info,
                                          const Threading& th) {
  const size_t bytes = static_cast<size_t>(
      PackedBytes(info.weight_dtype, static_cast<uint64_t>(info.rows) * static_cast<uint64_t>(info.cols)));
  const auto op = [&](wk_context* c, Block* o) {
    wk_buffer b{o[0].data(), o[0].n};
    return wk_matrix_decompress(m, &b, c);
  };
  std::vector<Block> out = Differential(what, {bytes}, op);
  ExpectSameThreaded(what, th, out[0], op);
  return out;
}

// Row b of the batch product `y` must be the batch-1 product of x[b] (rank 1 and [1, cols] in
// turn, each row in its own block), on `target`.
inline void CheckBatchRows(const char* what, const wk_matrix* m, const wk_tensor& x, int32_t y_type,
                           const Block& y, uint64_t target, bool w8a8) {
  const int64_t batch = x.rank == 2 ? x.shape[0] : 1;
  if (batch < 2) return;
  const int64_t cols = x.shape[x.rank - 1];
  const size_t x_row = static_cast<size_t>(cols) * FloatBytes(x.dtype);
  const size_t y_row = y.n / static_cast<size_t>(batch);
  for (int64_t b = 0; b < batch; ++b) {
    Block xb(x_row);
    std::memcpy(xb.data(), static_cast<const uint8_t*>(x.data) + static_cast<size_t>(b) * x_row, x_row);
    wk_tensor t{xb.data(), x_row, x.dtype, b % 2 ? 1u : 2u, {}};
    if (t.rank == 1) {
      t.shape[0] = cols;
    } else {
      t.shape[0] = 1;
      t.shape[1] = cols;
    }
    Block yb(y_row);
    wk_buffer out{yb.data(), yb.n};
    wk_context ctx;
    wk_context_init(&ctx);
    ctx.target = target;
    const wk_status s = w8a8 ? wk_matrix_gemv_w8a8(m, &t, &out, y_type, &ctx) : wk_matrix_gemv(m, &t, &out, y_type, &ctx);
    if (s != WK_OK) Fatal(what, ctx.message);
    if (std::memcmp(yb.data(), y.data() + static_cast<size_t>(b) * y_row, y_row) != 0) {
      std::fprintf(stderr, "MISMATCH: %s: batch row %lld of %lld on %s differs from the batch-1 product\n", what,
                   static_cast<long long>(b), static_cast<long long>(batch), wk_target_name(target));
      std::abort();
    }
  }
}

// The product (W8A8 when `w8a8`) on every target (each equal to the portable bytes), with
// `th`'s threads, and (when `rows`) batch row by batch row on `th`'s target. Returns the
// portable bytes.
inline Block CheckProduct(const char* what, const wk_matrix* m, const wk_matrix_info& info, const wk_tensor& x,
                          int32_t y_type, const Threading& th, bool w8a8, bool rows = true) {
  const uint64_t batch = x.rank == 2 ? static_cast<uint64_t>(x.shape[0]) : 1;
  const size_t bytes = static_cast<size_t>(PackedBytes(y_type, batch * static_cast<uint64_t>(info.rows)));
  const auto op = [&](wk_context* c, Block* o) {
    wk_buffer b{o[0].data(), o[0].n};
    return w8a8 ? wk_matrix_gemv_w8a8(m, &x, &b, y_type, c) : wk_matrix_gemv(m, &x, &b, y_type, c);
  };
  std::vector<Block> out = Differential(what, {bytes}, op);
  ExpectSameThreaded(what, th, out[0], op);
  if (rows) CheckBatchRows(what, m, x, y_type, out[0], th.target, w8a8);
  return std::move(out[0]);
}

// The baseline of a fused product: wk_dense_matrix_create over the decompressed weights, whose
// wk_matrix_gemv must give the fused bytes on every target and with `th`'s threads; the dense
// matrix's info, decompression (the weights themselves) and W8A8 refusal are checked on the way.
inline void CheckDenseBaseline(const char* what, const Block& weights, const wk_matrix_info& fused_info,
                               const wk_tensor& x, int32_t y_type, const Block& fused, const Threading& th) {
  const wk_tensor w{weights.data(), weights.n, fused_info.weight_dtype, 2, {fused_info.rows, fused_info.cols}};
  wk_matrix* dense = nullptr;
  wk_context ctx;
  wk_context_init(&ctx);
  if (wk_dense_matrix_create(&w, &dense, &ctx) != WK_OK || dense == nullptr) Fatal("dense_matrix_create", ctx.message);
  wk_matrix_info info;
  if (wk_matrix_get_info(dense, &info) != WK_OK || info.format != WK_FORMAT_DENSE ||
      info.weight_dtype != w.dtype || info.rows != fused_info.rows || info.cols != fused_info.cols ||
      info.compressed_bytes != weights.n || info.value_dtype != w.dtype || info.nbits != 0 ||
      info.nonzeros != info.rows * info.cols || info.has_lut || info.has_scale || info.has_offset || info.w8a8) {
    Fatal("dense matrix get_info", "wrong properties");
  }
  // Batch rows are not repeated here: this batch product equals the fused one, whose rows are
  // checked against its batch-1 products.
  const Block y = CheckProduct("dense matrix gemv over the decompressed weights", dense, info, x, y_type, th, false,
                               /*rows=*/false);
  if (y.n != fused.n || (y.n && std::memcmp(y.data(), fused.data(), y.n) != 0)) {
    std::fprintf(stderr, "MISMATCH: %s: fused GEMV differs from dense GEMV over the decompressed weights\n", what);
    std::abort();
  }
  ExpectSameThreaded("dense matrix decompress", th, weights, [&](wk_context* c, Block* o) {
    wk_buffer b{o[0].data(), o[0].n};
    return wk_matrix_decompress(dense, &b, c);
  });
  ExpectFailure("dense matrix gemv_w8a8", WK_ERROR_UNSUPPORTED, {y.n}, [&](Block* o) {
    wk_buffer b{o[0].data(), o[0].n};
    return wk_matrix_gemv_w8a8(dense, &x, &b, y_type, nullptr);
  });
  wk_matrix_destroy(dense);
}

// Error paths every matrix shares: W8A8 refused unless info.w8a8, too many threads, a NULL
// matrix or info, batch 0 (succeeds, writes nothing), y overlapping x by one byte, and y or the
// decompression output on top of `operand` (a borrowed operand of the matrix) when it is large
// enough — the operand must be left as it was.
inline void CheckMatrixErrors(const char* what, const wk_matrix* m, const wk_matrix_info& info, const wk_tensor& x,
                              int32_t y_type, const Block& operand) {
  const uint64_t batch = x.rank == 2 ? static_cast<uint64_t>(x.shape[0]) : 1;
  const size_t y_bytes = static_cast<size_t>(PackedBytes(y_type, batch * static_cast<uint64_t>(info.rows)));
  const size_t w_bytes = static_cast<size_t>(
      PackedBytes(info.weight_dtype, static_cast<uint64_t>(info.rows) * static_cast<uint64_t>(info.cols)));
  const auto gemv = [&](const wk_tensor* xx, Block* o, wk_context* c, bool w8a8) {
    wk_buffer b{o[0].data(), o[0].n};
    return w8a8 ? wk_matrix_gemv_w8a8(m, xx, &b, y_type, c) : wk_matrix_gemv(m, xx, &b, y_type, c);
  };
  if (!info.w8a8) {
    ExpectFailure("gemv_w8a8 of a matrix without w8a8", WK_ERROR_UNSUPPORTED, {y_bytes},
                  [&](Block* o) { return gemv(&x, o, nullptr, true); });
  }
  wk_context ctx;
  wk_context_init(&ctx);
  ctx.threads = WK_MAX_THREADS + 1;
  ExpectFailure("gemv with threads > WK_MAX_THREADS", WK_ERROR_INVALID_ARGUMENT, {y_bytes},
                [&](Block* o) { return gemv(&x, o, &ctx, false); });
  ExpectFailure("decompress with threads > WK_MAX_THREADS", WK_ERROR_INVALID_ARGUMENT, {w_bytes}, [&](Block* o) {
    wk_buffer b{o[0].data(), o[0].n};
    return wk_matrix_decompress(m, &b, &ctx);
  });
  ExpectFailure("gemv of a NULL matrix", WK_ERROR_NULL_ARGUMENT, {y_bytes}, [&](Block* o) {
    wk_buffer b{o[0].data(), o[0].n};
    return wk_matrix_gemv(nullptr, &x, &b, y_type, nullptr);
  });
  wk_matrix_info unused;
  if (wk_matrix_get_info(nullptr, &unused) != WK_ERROR_NULL_ARGUMENT ||
      wk_matrix_get_info(m, nullptr) != WK_ERROR_NULL_ARGUMENT) {
    Fatal(what, "get_info accepted a NULL pointer");
  }
  // Batch 0: valid, nothing written.
  const wk_tensor empty{nullptr, 0, x.dtype, 2, {0, info.cols}};
  ExpectFailure("gemv of batch 0 (must succeed)", WK_OK, {y_bytes}, [&](Block* o) { return gemv(&empty, o, nullptr, false); });
  // y starting on x's last byte.
  if (x.nbytes > 0) {
    Block both(x.nbytes - 1 + y_bytes);
    std::memset(both.data(), 0xA5, both.n);
    std::memcpy(both.data(), x.data, x.nbytes);
    Block copy(both.n);
    std::memcpy(copy.data(), both.data(), both.n);
    wk_tensor xx = x;
    xx.data = both.data();
    wk_buffer b{both.data() + x.nbytes - 1, y_bytes};
    const wk_status s = wk_matrix_gemv(m, &xx, &b, y_type, nullptr);
    if (s != WK_ERROR_ALIASING) {
      std::fprintf(stderr, "MISMATCH: %s: y overlapping x: status %s\n", what, wk_status_name(s));
      std::abort();
    }
    if (std::memcmp(both.data(), copy.data(), both.n) != 0) Fatal(what, "a gemv with y overlapping x wrote");
  }
  // Outputs on top of a borrowed operand.
  if (operand.n > 0) {
    Block copy(operand.n);
    std::memcpy(copy.data(), operand.data(), operand.n);
    if (operand.n >= y_bytes) {
      wk_buffer b{operand.data(), operand.n};
      const wk_status s = wk_matrix_gemv(m, &x, &b, y_type, nullptr);
      if (s != WK_ERROR_ALIASING) {
        std::fprintf(stderr, "MISMATCH: %s: y on a matrix operand: status %s\n", what, wk_status_name(s));
        std::abort();
      }
    }
    if (operand.n >= w_bytes) {
      wk_buffer b{operand.data(), operand.n};
      const wk_status s = wk_matrix_decompress(m, &b, nullptr);
      if (s != WK_ERROR_ALIASING) {
        std::fprintf(stderr, "MISMATCH: %s: decompression output on a matrix operand: status %s\n", what,
                     wk_status_name(s));
        std::abort();
      }
    }
    if (std::memcmp(copy.data(), operand.data(), operand.n) != 0) Fatal(what, "a call that overlapped an operand wrote it");
  }
}

}  // namespace wk_fuzz

#endif  // WK_FUZZ_FUZZ_SUPPORT_H_
