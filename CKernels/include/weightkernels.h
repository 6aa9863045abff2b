/*
 * weightkernels.h — the C ABI of WeightKernels.
 *
 * Decompression of Core ML compressed weights (palettization, sparsity, blockwise quantization,
 * casts) and GEMV fused with that decompression, on every SIMD target Highway compiles, bit-exact
 * with the Swift reference (module WeightKernelsReference) on every target. The arithmetic contract (one
 * accumulation order for every target, NaN rules, fp16 rounding points) is in docs/ARITHMETIC.md
 * and summarised at wk_matrix_gemv.
 *
 * Conventions for every function below
 * - Symbols start with wk_ / WK_. Every function returns a wk_status; WK_OK is 0.
 * - Every argument is validated before anything is written. On failure nothing is written to the
 *   output (except ctx->message) and a status says why.
 * - Tensors are described by wk_tensor: data, byte count, dtype, rank and shape. Elements are
 *   stored row-major (last axis fastest), little-endian; sub-byte dtypes are packed LSB-first into
 *   one continuous bit stream (FORMATS.md §2.1) and occupy exactly ceil(bits * count / 8) bytes.
 *   nbytes must equal that size exactly (WK_ERROR_SIZE_MISMATCH otherwise).
 * - No alignment is required of any pointer. Kernels never read outside [data, data + nbytes) of
 *   an input nor write outside [data, data + nbytes) of an output: no over-read, no padding needed.
 * - Outputs must not overlap any input (WK_ERROR_ALIASING).
 * - Padding bits of the last byte of a packed input are ignored, as Core ML ignores them.
 * - A wk_context (may be NULL) selects the SIMD target and the thread count and receives an error
 *   message. The library's only global state is its thread pool, which is thread-safe: all
 *   functions are safe to call concurrently from several threads as long as outputs do not
 *   overlap; matrices are immutable once created and may be shared.
 * - x86: kernels run with the default floating-point environment (round to nearest even, no
 *   flush-to-zero, no denormals-are-zero) whatever the caller's MXCSR holds, and restore it.
 */
#ifndef WEIGHTKERNELS_H_
#define WEIGHTKERNELS_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The shared library is compiled with -fvisibility=hidden: the declarations of this header are
 * what it exports (a linker version script then keeps everything else, e.g. the C++ runtime's
 * template instances, local too). */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

/** Version of this header and of the ABI; before 1.0 a minor version may change the ABI. */
#define WK_VERSION_MAJOR 0
#define WK_VERSION_MINOR 2

/** The library's version, WK_VERSION_MAJOR * 1000 + WK_VERSION_MINOR: lets a program check that
 *  the library it loaded matches the header it was compiled with. */
uint32_t wk_version(void);

/** Maximum tensor rank accepted anywhere. */
#define WK_MAX_RANK 8
/** Capacity of wk_context.message, including the terminating NUL. */
#define WK_MESSAGE_CAPACITY 256

/** Result of every call. */
typedef enum wk_status {
  WK_OK = 0,
  /** A required pointer is NULL (or data is NULL with nbytes > 0). */
  WK_ERROR_NULL_ARGUMENT = 1,
  /** A dtype is not allowed for this operand. */
  WK_ERROR_INVALID_DTYPE = 2,
  /** A rank, extent or divisibility rule is violated, or a product of extents overflows. */
  WK_ERROR_INVALID_SHAPE = 3,
  /** nbytes of an input differs from what its dtype and shape imply, or an output is too small. */
  WK_ERROR_SIZE_MISMATCH = 4,
  /** A scalar argument is out of range (axis, vector_axis, output dtype, thread count...). */
  WK_ERROR_INVALID_ARGUMENT = 5,
  /** An output overlaps an input. */
  WK_ERROR_ALIASING = 6,
  /** The requested target is not compiled in or not supported by this CPU. */
  WK_ERROR_UNSUPPORTED_TARGET = 7,
  /** A valid input that this version does not implement (the message names it). */
  WK_ERROR_UNSUPPORTED = 8,
  /** Memory allocation failed. */
  WK_ERROR_OUT_OF_MEMORY = 9,
  /** A file cannot be opened, read or mapped (the message names the file). */
  WK_ERROR_IO = 10,
  /** A malformed model package, manifest, program or weight blob (the message names the weight
   *  or the file part at fault). */
  WK_ERROR_INVALID_MODEL = 11
} wk_status;

/** Element types; the values are Core ML's blob dtype codes (FORMATS.md §2). */
typedef enum wk_dtype {
  WK_DTYPE_FP16 = 1,
  WK_DTYPE_FP32 = 2,
  WK_DTYPE_UINT8 = 3,
  WK_DTYPE_INT8 = 4,
  WK_DTYPE_INT16 = 6,
  WK_DTYPE_UINT16 = 7,
  WK_DTYPE_INT4 = 8,
  WK_DTYPE_UINT1 = 9,
  WK_DTYPE_UINT2 = 10,
  WK_DTYPE_UINT4 = 11,
  WK_DTYPE_UINT3 = 12,
  WK_DTYPE_UINT6 = 13,
  WK_DTYPE_INT32 = 14,
  WK_DTYPE_UINT32 = 15
} wk_dtype;

/** Bits per element of a dtype, or 0 if the code is unknown. */
uint32_t wk_dtype_bits(int32_t dtype);

/** Short lowercase name of a dtype ("fp16", "uint4"...), or "unknown". Static storage. */
const char* wk_dtype_name(int32_t dtype);

/** Short description of a status. Static storage. */
const char* wk_status_name(wk_status status);

/**
 * A unit of parallel work: runs task `index` of a call. Every index in [0, count) is run exactly
 * once; tasks are independent and may run on any thread in any order.
 */
typedef void (*wk_task_fn)(void* task_data, size_t index);

/**
 * A caller-supplied parallel-for (an engine lending its own thread pool, as XNNPACK's pthreadpool
 * or ggml's threadpool do): must run task(task_data, i) for every i in [0, count), on any of its
 * threads including the calling one, and return only when all have returned. Called at most once
 * per library call, never re-entrantly.
 */
typedef void (*wk_parallel_for_fn)(void* pool, wk_task_fn task, void* task_data, size_t count);

/** Largest accepted wk_context.threads. */
#define WK_MAX_THREADS 256

/**
 * Per-call options and diagnostics. Initialise with wk_context_init; passing NULL instead of a
 * context means: best target, one thread, no message. A context is owned by the caller and is
 * not shared between concurrent calls.
 */
typedef struct wk_context {
  /** In: the SIMD target to run (a single bit from wk_compiled_targets), or 0 for the best one
   *  this CPU supports. */
  uint64_t target;
  /** In: threads for wk_matrix_gemv, wk_matrix_gemv_w8a8 and wk_matrix_decompress: 1 (default)
   *  runs on the calling thread; n > 1 uses the calling thread and n - 1 workers of the library's
   *  pool (created on first use, parked between calls; once warm no thread is created and no
   *  memory allocated per call); 0 means every CPU this process may run on (sched_getaffinity).
   *  At most WK_MAX_THREADS. Results are bit-identical for every value (docs/ARITHMETIC.md §2).
   *  Concurrent calls that each ask for the pool share it: one call's tasks run at a time, the
   *  others wait. Other functions only check that it is at most WK_MAX_THREADS. */
  uint32_t threads;
  uint32_t reserved;
  /** In: NULL for the library's pool, or a caller-supplied parallel-for that runs the tasks
   *  instead (no library thread is used; `threads` then only sets how finely work is split,
   *  0 meaning as finely as for every CPU of the process). */
  wk_parallel_for_fn parallel_for;
  /** In: passed as the first argument of parallel_for. */
  void* parallel_for_pool;
  /** Out: the target that ran (set on success). */
  uint64_t used_target;
  /** Out: on failure, a NUL-terminated description naming the operand at fault. */
  char message[WK_MESSAGE_CAPACITY];
} wk_context;

/** Sets target 0, threads 1, no parallel_for, and clears the outputs. */
void wk_context_init(wk_context* ctx);

/* ---------------------------------------------------------------------------------------------
 * SIMD targets
 * ------------------------------------------------------------------------------------------- */

/**
 * Writes up to capacity compiled targets, best first, and returns how many are compiled (call
 * with capacity 0 to size the array). Each is a single bit; the portable fallback (EMU128) last.
 */
size_t wk_compiled_targets(uint64_t* targets, size_t capacity);

/**
 * Bitwise OR of the compiled targets this CPU can run. Computed once, then cached. SVE and SVE2
 * count only with vectors of 512 bits or more (SVE_256 and SVE2_128 cover 256 and 128 bits).
 */
uint64_t wk_supported_targets(void);

/**
 * The target used when wk_context.target is 0: the best supported one, except that on Arm NEON is
 * preferred to the SVE targets (exact and tested like every target, but not yet tuned on SVE
 * hardware); set wk_context.target to use one.
 */
uint64_t wk_best_target(void);

/** Highway's name of a target ("AVX2", "AVX3_DL", "EMU128"...), or "unknown". Static storage. */
const char* wk_target_name(uint64_t target);

/* ---------------------------------------------------------------------------------------------
 * Tensors
 * ------------------------------------------------------------------------------------------- */

/** A read-only tensor. rank 0 is a scalar (one element); extents may be 0 where an op allows. */
typedef struct wk_tensor {
  const void* data;
  size_t nbytes;
  int32_t dtype;
  uint32_t rank;
  int64_t shape[WK_MAX_RANK];
} wk_tensor;

/** Where an op writes its result. */
typedef struct wk_buffer {
  void* data;
  size_t nbytes;
} wk_buffer;

/** What an op will produce: dtype, shape and exact byte size. */
typedef struct wk_tensor_info {
  int32_t dtype;
  uint32_t rank;
  int64_t shape[WK_MAX_RANK];
  size_t nbytes;
} wk_tensor_info;

/* ---------------------------------------------------------------------------------------------
 * Decompression ops (Core ML constexpr ops; FORMATS.md §3, §6, §7)
 *
 * Each takes its operands, an optional output buffer and an optional wk_tensor_info. With
 * out == NULL the call only validates and fills *info (shape inference). With out != NULL,
 * out->nbytes must be at least info.nbytes; exactly info.nbytes bytes are written.
 * Complexity: O(output bytes) time, no allocation unless stated.
 * ------------------------------------------------------------------------------------------- */

/**
 * iOS16 constexpr_lut_to_dense. indices: uint8 [M] (packed n-bit stream), lut: fp16/fp32/int8/
 * uint8 [P] with P in {2,4,16,64,256} (n = log2 P), shape: uint32 [K] (the output shape; K = 0
 * is a scalar). M must equal ceil(n * prod(shape) / 8). Output: lut dtype, `shape`; values are
 * copied bit for bit.
 */
wk_status wk_lut_to_dense_ios16(const wk_tensor* indices, const wk_tensor* lut,
                                const wk_tensor* shape, const wk_buffer* out,
                                wk_tensor_info* info, wk_context* ctx);

/**
 * iOS18 constexpr_lut_to_dense. indices: uint1/2/3/4/6/8, shape I (rank K >= 1); lut: fp16/fp32/
 * int8/uint8, shape [G0..G(K-1), 2^n, V] with G[d] >= 1 dividing I[d]; vector_axis: NULL when the
 * op has none (then V must be 1), else a scalar in [-K, K). Groups are counted on the indices
 * shape; with V > 1 the V values of an entry land on consecutive positions along vector_axis.
 */
wk_status wk_lut_to_dense_ios18(const wk_tensor* indices, const wk_tensor* lut,
                                const int32_t* vector_axis, const wk_buffer* out,
                                wk_tensor_info* info, wk_context* ctx);

/** constexpr_cast: fp16 source (any shape) to output_dtype, which must be WK_DTYPE_FP32. Exact
 *  widening; NaNs keep their payload and their quiet bit (as numpy widens). */
wk_status wk_cast(const wk_tensor* source, int32_t output_dtype, const wk_buffer* out,
                  wk_tensor_info* info, wk_context* ctx);

/**
 * iOS18 constexpr_blockwise_shift_scale. data: int4/uint4/int8/uint8/fp16/fp32, rank >= 1;
 * scale: fp16/fp32 (the output dtype), same rank, scale.shape[d] >= 1 dividing data.shape[d];
 * offset: NULL or scale's shape with data's dtype (integer data) or fp16/fp32.
 * out = RN_T(scale * (T(data) - offset)) with the rounding steps of FORMATS.md §7.3, never
 * re-associated (details and NaN rule in docs/ARITHMETIC.md). An fp32 offset with an fp16 scale
 * is rejected (WK_ERROR_UNSUPPORTED): coremltools' own result type is ill-defined there.
 */
wk_status wk_blockwise_shift_scale(const wk_tensor* data, const wk_tensor* scale,
                                   const wk_tensor* offset, const wk_buffer* out,
                                   wk_tensor_info* info, wk_context* ctx);

/**
 * iOS16 constexpr_sparse_to_dense. nonzero_data: fp16/fp32/int8/uint8 [D]; mask: uint8 [M], a
 * 1-bit stream (bit i of the stream = element i); shape: uint32 [K] (the output shape; K = 0 is a
 * scalar). Checked in Core ML's order: popcount of all M bytes == D, M == ceil(N / 8) (both
 * WK_ERROR_INVALID_SHAPE), padding bits zero (WK_ERROR_INVALID_ARGUMENT). Output: data dtype,
 * `shape`; the j-th set bit receives nonzero_data[j] bit for bit, every other element is 0.
 */
wk_status wk_sparse_to_dense_ios16(const wk_tensor* nonzero_data, const wk_tensor* mask,
                                   const wk_tensor* shape, const wk_buffer* out,
                                   wk_tensor_info* info, wk_context* ctx);

/**
 * iOS18 constexpr_sparse_to_dense. nonzero_data: fp16/fp32/int8/uint8/int4/uint4 [D]; mask:
 * uint1 of any shape S with exactly D ones (WK_ERROR_INVALID_SHAPE otherwise; padding bits are
 * ignored). Output: data dtype, shape S. D = 0 and D = prod(S) are legal.
 */
wk_status wk_sparse_to_dense_ios18(const wk_tensor* nonzero_data, const wk_tensor* mask,
                                   const wk_buffer* out, wk_tensor_info* info, wk_context* ctx);

/**
 * constexpr_lut_to_sparse (two outputs). indices_mask: uint1, shape S (rank K >= 1);
 * indices_nonzero_data: uint1/2/3/4/6/8 [D], D = ones of the mask; lut: as for
 * wk_lut_to_dense_ios18 with S as the indices shape; vector_axis as there.
 * Outputs: out_mask, uint1 of S with S[vector_axis] * V (each mask element repeated V times along
 * the axis; padding bits written as 0), and out_values, lut dtype [D * V], the LUT values at the
 * ones of out_mask in row-major order of the expanded shape (FORMATS.md §7.4).
 * out_mask and out_values are both NULL (shape inference only) or both non-NULL.
 * Complexity: O(prod(S) * V * K) time, O(prod(S) / 64) extra memory when V > 1.
 */
wk_status wk_lut_to_sparse(const wk_tensor* indices_mask, const wk_tensor* indices_nonzero_data,
                           const wk_tensor* lut, const int32_t* vector_axis,
                           const wk_buffer* out_mask, const wk_buffer* out_values,
                           wk_tensor_info* mask_info, wk_tensor_info* values_info,
                           wk_context* ctx);

/**
 * iOS16 constexpr_affine_dequantize. quantized_data: int8/uint8, any rank >= 1; zero_point:
 * int8/uint8/fp32 and scale: fp16/fp32 (the output dtype), each a scalar (rank 0, or one element
 * of rank 1 only when the axis extent is 1) or a vector of length shape[axis]; axis in
 * [-rank, rank). out = RN32(RN32(q - zp) * s), then RN16 for an fp16 scale (FORMATS.md §5).
 */
wk_status wk_affine_dequantize(const wk_tensor* quantized_data, const wk_tensor* zero_point,
                               const wk_tensor* scale, int32_t axis, const wk_buffer* out,
                               wk_tensor_info* info, wk_context* ctx);

/**
 * constexpr_sparse_blockwise_shift_scale (two outputs). data_mask: uint1, shape S; nonzero_data:
 * int4/uint4/int8/uint8/fp16/fp32 [D], D = ones of the mask; scale/offset as for
 * wk_blockwise_shift_scale with S as the data shape. Outputs: out_mask = data_mask byte for byte;
 * out_values = scale dtype [D], value j dequantized with the block of the j-th one's coordinate.
 * out_mask and out_values are both NULL (shape inference) or both non-NULL.
 */
wk_status wk_sparse_blockwise_shift_scale(const wk_tensor* data_mask, const wk_tensor* nonzero_data,
                                          const wk_tensor* scale, const wk_tensor* offset,
                                          const wk_buffer* out_mask, const wk_buffer* out_values,
                                          wk_tensor_info* mask_info, wk_tensor_info* values_info,
                                          wk_context* ctx);

/* ---------------------------------------------------------------------------------------------
 * Matrices: one prepared, immutable 2-D weight type for every format
 *
 * A wk_matrix is made by one create function per format (their descriptors hold different
 * operands) and used through one set of functions: wk_matrix_get_info, wk_matrix_decompress,
 * wk_matrix_gemv (and wk_matrix_gemv_w8a8), wk_matrix_destroy. A matrix is immutable once
 * created: any number of threads may call decompress and gemv on one matrix concurrently.
 * A matrix keeps pointers to its large operands (the weights, indices, masks, values: documented
 * per create function); that memory must stay valid and unchanged until wk_matrix_destroy.
 * Small operands (LUTs, scales, offsets) are copied.
 *
 * GEMV: y = W · x, batched. W is [rows, cols] (a Core ML linear weight [out, in]); x is
 * [batch, cols] (or [cols], batch 1), fp16 or fp32; y is [batch, rows] of y_dtype (fp16 or
 * fp32). Every y[b, r] is computed in fp32 with the canonical order of docs/ARITHMETIC.md §2,
 * identical on every target, for every batch size and every thread count:
 *   p[0..15] = +0;  for k = 0..cols-1: p[k % 16] = fma(w[r,k], x[b,k], p[k % 16])  (one rounding)
 *   s = tree(p): q[i] = p[i] + p[i+8] (i<8); then i<4: q[i] + q[i+4]; i<2: q[i] + q[i+2]; q0 + q1
 *   y = s, with any NaN replaced by the canonical quiet NaN 0x7FC00000; fp16 y = RN16(y).
 * w[r,k] is the weight exactly as wk_matrix_decompress writes it (widened exactly from fp16), and
 * fp16 activations are widened exactly. A fused GEMV is therefore bit-identical to the GEMV of a
 * dense matrix made from the decompressed weights (zero weights of sparse matrices take part:
 * 0 * inf is NaN there too).
 * Complexity: rows * cols * batch multiply-adds. For batch 1 the compressed weights are read
 * once and decoded in registers; for batch >= 2 each weight is decoded once per 32 batch rows
 * into a small per-thread panel and applied to every batch row from there. Scratch: per call
 * O(batch * cols) floats of activations (fp16 widened once; for batch 1 of matrices whose weights
 * are staged as fp16, a column-permuted copy too), kept per calling thread and reused.
 * ------------------------------------------------------------------------------------------- */

/** A prepared matrix. Opaque. */
typedef struct wk_matrix wk_matrix;

/** How a matrix's weights are stored. */
typedef enum wk_matrix_format {
  /** fp16 or fp32 weights as they are (wk_dense_matrix_create). */
  WK_FORMAT_DENSE = 1,
  /** Palettized: n-bit indices into LUTs (wk_lut_matrix_create). */
  WK_FORMAT_PALETTIZED = 2,
  /** Pruned: a bit mask and the non-zeros, stored, palettized or quantized
   *  (wk_sparse_matrix_create). */
  WK_FORMAT_SPARSE = 3,
  /** Linearly quantized integers with scales and offsets (wk_quant_matrix_create). */
  WK_FORMAT_QUANTIZED = 4
} wk_matrix_format;

/** Properties of a matrix. */
typedef struct wk_matrix_info {
  /** A wk_matrix_format. */
  int32_t format;
  /** dtype of the decompressed weights (WK_DTYPE_FP16 or WK_DTYPE_FP32). */
  int32_t weight_dtype;
  int64_t rows;
  int64_t cols;
  /** Bytes of the stored form as Core ML keeps it: weights, indices, masks, values, LUTs,
   *  scales and offsets. */
  uint64_t compressed_bytes;
  /** dtype of the stored elements: dense: the weight dtype; palettized: the index dtype
   *  (uint1 ... uint8); sparse: the non-zeros' dtype (fp16/fp32, uint1 ... uint8 LUT indices, or
   *  int4/uint4/int8/uint8); quantized: the data dtype. */
  int32_t value_dtype;
  /** Index width n of palettized and sparse + palettized matrices, 0 otherwise. */
  uint32_t nbits;
  /** Stored weights: ones of the mask for sparse matrices, rows * cols otherwise. */
  int64_t nonzeros;
  /** 1 when the weights pass through a LUT, 0 otherwise. */
  uint32_t has_lut;
  /** 1 when a scale (blockwise_shift_scale) is applied, 0 otherwise. */
  uint32_t has_scale;
  /** 1 when an offset is applied, 0 otherwise. */
  uint32_t has_offset;
  /** 1 when wk_matrix_gemv_w8a8 accepts this matrix, 0 otherwise. */
  uint32_t w8a8;
} wk_matrix_info;

/**
 * A dense matrix. w: fp16 or fp32 [rows, cols] with rows, cols >= 1. The matrix keeps a pointer
 * to w->data. O(1) time and memory.
 */
wk_status wk_dense_matrix_create(const wk_tensor* w, wk_matrix** matrix, wk_context* ctx);

/**
 * A palettized linear weight, the Core ML chain it is stored as. Required: indices and lut, as for
 * wk_lut_to_dense_ios18 with K = 2 (indices [rows, cols], lut [Gr, Gc, 2^n, 1]; vector
 * palettization is not fused: decompress it instead). Optional (NULL when absent):
 * - lut_scale / lut_offset: a blockwise_shift_scale applied to the LUT first (the canonicalised
 *   per-channel-scale form and int8/uint8-quantized LUTs: scale shape [a, b, c, 1] dividing the
 *   lut shape);
 * - scale: a blockwise_shift_scale without offset applied to the dense [rows, cols] result
 *   (the per-channel-scale chain lut_to_dense -> blockwise_shift_scale): shape [Sr, Sc].
 * After these steps the weights must be fp16 or fp32 (an integer LUT needs lut_scale).
 * The matrix keeps a pointer to indices->data.
 */
typedef struct wk_lut_matrix_desc {
  const wk_tensor* indices;
  const wk_tensor* lut;
  const wk_tensor* lut_scale;
  const wk_tensor* lut_offset;
  const wk_tensor* scale;
} wk_lut_matrix_desc;

/** Validates desc and prepares tables (O(LUT + scale + cols) time and memory; indices untouched).
 *  *matrix receives a new matrix on success, NULL on failure. */
wk_status wk_lut_matrix_create(const wk_lut_matrix_desc* desc, wk_matrix** matrix,
                               wk_context* ctx);

/**
 * A pruned linear weight, the Core ML chain it is stored as. mask: uint1 [rows, cols],
 * rows, cols >= 1; values: rank 1 [D], D = ones of the mask, in row-major order of their positions.
 * - Sparse: constexpr_sparse_to_dense(nonzero_data = values, mask). values: fp16 or fp32;
 *   lut, scale and offset: NULL.
 * - Sparse + palettized: constexpr_lut_to_sparse(mask, values, lut) -> sparse_to_dense.
 *   values: the uint1/2/3/4/6/8 LUT indices of the non-zeros; lut: fp16 or fp32
 *   [Gr, Gc, 2^n, 1], Gr dividing rows and Gc dividing cols (vector palettization is not fused:
 *   WK_ERROR_UNSUPPORTED; an integer LUT: WK_ERROR_INVALID_DTYPE). scale, offset: NULL.
 * - Sparse + quantized: constexpr_sparse_blockwise_shift_scale(mask, values, scale, offset) ->
 *   sparse_to_dense. values: int4/uint4/int8/uint8; scale: fp16/fp32 [Sr, Sc] dividing
 *   [rows, cols], each non-zero taking the block of its position; offset: NULL, or [Sr, Sc] of
 *   the values' dtype or fp16/fp32 (fp32 with an fp16 scale: WK_ERROR_UNSUPPORTED). lut: NULL
 *   (a LUT and a scale together: WK_ERROR_UNSUPPORTED).
 * The matrix keeps pointers to mask->data and values->data.
 */
typedef struct wk_sparse_matrix_desc {
  const wk_tensor* mask;
  const wk_tensor* values;
  const wk_tensor* lut;
  const wk_tensor* scale;
  const wk_tensor* offset;
} wk_sparse_matrix_desc;

/** Validates desc and prepares the per-row value offsets (O(rows * cols / 8) time, O(rows)
 *  memory; plus O(LUT) or O(Sr * Sc + cols)). *matrix receives a new matrix on success, NULL on
 *  failure. */
wk_status wk_sparse_matrix_create(const wk_sparse_matrix_desc* desc, wk_matrix** matrix,
                                  wk_context* ctx);

/**
 * constexpr_blockwise_shift_scale over a linear weight: data int4/uint4/int8/uint8
 * [rows, cols] (rows, cols >= 1); scale fp16/fp32 [Sr, Sc] dividing it (per-tensor [1, 1],
 * per-channel [rows, 1], per-block [rows, cols / block]...); offset NULL, or [Sr, Sc] of the data
 * dtype or fp16/fp32 (fp32 with an fp16 scale: WK_ERROR_UNSUPPORTED). The matrix keeps a pointer
 * to data->data.
 */
typedef struct wk_quant_matrix_desc {
  const wk_tensor* data;
  const wk_tensor* scale;
  const wk_tensor* offset;
} wk_quant_matrix_desc;

/** Validates desc and prepares the scales (O(Sr * Sc + cols)). */
wk_status wk_quant_matrix_create(const wk_quant_matrix_desc* desc, wk_matrix** matrix,
                                 wk_context* ctx);

/** Frees a matrix; NULL is ignored. Not concurrently with other calls on the same matrix. */
void wk_matrix_destroy(wk_matrix* matrix);

/** Fills *info. WK_ERROR_NULL_ARGUMENT if either pointer is NULL. O(1). */
wk_status wk_matrix_get_info(const wk_matrix* matrix, wk_matrix_info* info);

/** Writes the dense [rows, cols] weights (weight_dtype): exactly what the Core ML chain yields.
 *  out->nbytes must be at least rows * cols * sizeof(weight); out may not overlap the matrix's
 *  operands. Runs on ctx->threads threads. Complexity: O(rows * cols). */
wk_status wk_matrix_decompress(const wk_matrix* matrix, const wk_buffer* out, wk_context* ctx);

/** y = W · x (see above). x: fp16/fp32 [cols] or [batch, cols] (batch may be 0); y: at least
 *  batch * rows elements of y_dtype, not overlapping x or the matrix's operands. Runs on
 *  ctx->threads threads; the bits do not depend on it. */
wk_status wk_matrix_gemv(const wk_matrix* matrix, const wk_tensor* x, const wk_buffer* y,
                         int32_t y_dtype, wk_context* ctx);

/**
 * W8A8: y = W · x with the activations quantized to int8 too. Needs a quantized matrix with int8
 * data without offset, a per-row or per-tensor scale ([rows, 1] or [1, 1]) and cols <= 131072
 * (wk_matrix_info.w8a8; WK_ERROR_UNSUPPORTED otherwise). For each batch row b, exactly
 * (docs/ARITHMETIC.md §3):
 *   a = max_k |x[b,k]|;  if a is Inf or NaN, every y[b,·] is the canonical NaN;
 *   s_x = RN32(a / 127);  q[k] = clamp(rint(RN32(x[b,k] / s_x)), -127, 127)  (0 when s_x = 0);
 *   d[r] = sum_k w[r,k] q[k]  (exact int32);  y[b,r] = RN32(RN32(float(d[r]) * s_x) * s_w[r]),
 * a NaN replaced by the canonical NaN, RN16 for fp16 y. Batch rows are independent; the
 * activations are quantized once per call and each weight row is read once per 8 batch rows.
 * Complexity: rows * cols * batch integer multiply-adds (VNNI on AVX3_DL) plus O(cols) per batch
 * row.
 */
wk_status wk_matrix_gemv_w8a8(const wk_matrix* matrix, const wk_tensor* x, const wk_buffer* y,
                              int32_t y_dtype, wk_context* ctx);

/* ---------------------------------------------------------------------------------------------
 * Core ML models: reading the weights of an ML program (.mlpackage; FORMATS.md §8)
 *
 * wk_model_open reads Manifest.json, parses the program (model.mlmodel, protobuf) and
 * memory-maps weight.bin read-only. It walks every function and block (nested blocks too) and
 * lists the model's weights: each floating-point tensor of rank >= 1 that is the value of a
 * `const` op, or the end of a chain of constexpr ops (iOS16 and iOS18 forms, FORMATS.md §3-§7,
 * every chain of §7.6 in either order, operands inline or bound by name), consumed by a
 * non-constexpr op (linear, matmul, conv...). Weights are listed in the order of their first
 * consumer, a consumer's parameters by name. Every blob operand is checked when the model is opened: metadata offset, sentinel,
 * dtype code, size, data offset and bounds against the operand's tensor type in the program.
 * Each op's output type is inferred from its operands' types and must match the program's
 * declaration, which bounds every weight's size by the input's; the ops' remaining rules (mask
 * counts, LUT and scale grids...) are checked when a weight is decompressed or made a matrix.
 *
 * Errors: WK_ERROR_IO when a file cannot be opened, read or mapped; WK_ERROR_INVALID_MODEL for a
 * malformed manifest, program or blob, a dangling or cyclic name binding, an unknown op or
 * operand in a chain; the message names the file part or weight at fault, e.g.
 * "weight 'w1': blob at offset 4160: sentinel 0x0, expected 0xdeadbeef". WK_ERROR_UNSUPPORTED for
 * valid inputs this version does not read (e.g. a bf16 weight). Every count and allocation is
 * bounded by the input's size; hostile input never reads out of bounds, recurses without bound or
 * hangs.
 * Complexity: open is O(program bytes + blob metadata); of the weight data it reads only the
 * iOS16 shape operands and, for a sparse chain whose two ops each hold a mask, both masks (to
 * decide whether one fused matrix covers them). Decompression errors of hostile operands are
 * WK_ERROR_INVALID_MODEL naming the weight and op.
 * Thread-safety: a model is immutable once opened; every function below may be called
 * concurrently on one model. wk_model_close must not run concurrently with other calls on it.
 * ------------------------------------------------------------------------------------------- */

/** An opened model. Opaque. */
typedef struct wk_model wk_model;

/**
 * Opens the .mlpackage directory mlpackage_dir: Manifest.json -> its itemInfoEntries: the model
 * item (name "model.mlmodel" or the rootModelIdentifier entry) and the weights directory item
 * (path ending in "weights"; weight.bin inside it may be absent or empty when the program has no
 * blob operand). *model receives a new model on success, NULL on failure.
 */
wk_status wk_model_open(const char* mlpackage_dir, wk_model** model, wk_context* ctx);

/**
 * Opens a model from memory: program = the bytes of model.mlmodel (protobuf), weights = the
 * bytes of weight.bin (may be NULL with weights_bytes 0 when the program has no blob operand).
 * Both are borrowed: they must stay valid and unchanged until wk_model_close.
 */
wk_status wk_model_open_memory(const void* program, size_t program_bytes, const void* weights,
                               size_t weights_bytes, wk_model** model, wk_context* ctx);

/** Frees a model and unmaps its files; NULL is ignored. Matrices made from it must be destroyed
 *  first. */
void wk_model_close(wk_model* model);

/** Number of weights (0 for NULL). O(1). */
size_t wk_model_weight_count(const wk_model* model);

/** Payload bytes of the distinct weight.bin blobs that the model's weights read: a blob several
 *  weights share (e.g. the functions of a multifunction model) counts once, so this can be less
 *  than the sum of the weights' blob_bytes (0 for NULL). O(1). */
uint64_t wk_model_blob_bytes(const wk_model* model);

/** One weight of a model. Strings are NUL-terminated and owned by the model. */
typedef struct wk_model_weight_info {
  /** The chain's final output name (the name its consumer binds). */
  const char* name;
  /** Name of the MIL function that holds it ("main"). */
  const char* function;
  /** Op type of the first consumer ("linear", "matmul", "conv"...). */
  const char* consumer_op;
  /** The consumer's parameter name ("weight", "bias", "y"...). */
  const char* consumer_input;
  /** Op types from storage to output joined by "->", each once, e.g. "const",
   *  "constexpr_lut_to_sparse->constexpr_sparse_to_dense",
   *  "constexpr_blockwise_shift_scale->constexpr_lut_to_dense". */
  const char* op_chain;
  /** Human-readable scheme: "dense", "lut n=4 per-tensor", "lut n=4 group 16 axis 0",
   *  "lut n=2 per-tensor vector 2 axis 0", "lut n=3 per-channel axis 1 + scale",
   *  "int8 per-channel", "int4 block 16 axis 1 per-channel", "uint8 per-channel axis 0 affine",
   *  "sparse 50.0% + lut n=4 per-tensor", "sparse 50.0% + int8 per-channel"... */
  const char* scheme;
  /** wk_dtype of the dense weight (WK_DTYPE_FP16 or WK_DTYPE_FP32). */
  int32_t dtype;
  int32_t rank;
  int64_t shape[WK_MAX_RANK];
  /** Index bits (palettized) or quantized bits (int4/uint4/int8/uint8); 0 if none. */
  int32_t nbits;
  /** LUT vector size (1 for scalar palettization and when there is no LUT). */
  int32_t vector_size;
  /** 1 if a sparse mask is part of the chain, 0 otherwise. */
  int32_t sparse;
  /** Ones of the mask when sparse, else the element count. */
  uint64_t nonzeros;
  /** Payload bytes of the distinct weight.bin blobs the chain reads (two operands sharing one
   *  blob count it once; metadata and alignment padding are not counted). */
  uint64_t blob_bytes;
  /** Bytes of the chain's inline (immediate) tensor operands in their packed encoding. */
  uint64_t immediate_bytes;
  /** Element count * 2. */
  uint64_t dense_fp16_bytes;
  /** 1 if wk_model_weight_matrix makes a fused wk_matrix of it (rank >= 2, viewed as
   *  [shape[0], prod(shape[1..])]), 0 otherwise (e.g. vector palettization, rank 1: decompress
   *  instead). */
  int32_t matrix;
} wk_model_weight_info;

/** Fills *info for weight index (< wk_model_weight_count). WK_ERROR_NULL_ARGUMENT for NULL
 *  pointers, WK_ERROR_INVALID_ARGUMENT for an index out of range. O(1). */
wk_status wk_model_get_weight(const wk_model* model, size_t index, wk_model_weight_info* info);

/**
 * A matrix of weight index for fused GEMV, through wk_dense/lut/sparse/quant_matrix_create over
 * the operands where they are stored (the weight.bin mapping or the program bytes; no copy of
 * weight data). A rank-4 conv weight [Cout, Cin, kh, kw] becomes [Cout, Cin * kh * kw]; any
 * rank >= 2 [d0, d1...] becomes [d0, d1 * ...]. The model must outlive the matrix.
 * WK_ERROR_UNSUPPORTED when info.matrix is 0 (the message says why). *matrix receives a new
 * matrix on success, NULL on failure. Complexity: that of the create function.
 */
wk_status wk_model_weight_matrix(const wk_model* model, size_t index, wk_matrix** matrix,
                                 wk_context* ctx);

/**
 * Writes weight index dense, in its dtype, row-major, exactly as coremltools decompresses it:
 * the chain's ops run through the library's decompression ops (intermediate results in
 * temporary memory). out->nbytes must be at least element count * dtype size
 * (WK_ERROR_SIZE_MISMATCH otherwise). Complexity: O(elements) time and temporary memory.
 */
wk_status wk_model_weight_decompress(const wk_model* model, size_t index, const wk_buffer* out,
                                     wk_context* ctx);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* WEIGHTKERNELS_H_ */
