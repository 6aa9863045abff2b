/*
 * weightkernels.h — the C ABI of WeightKernels.
 *
 * Decompression of Core ML compressed weights (palettization, blockwise quantization, casts) and
 * GEMV fused with that decompression, on every SIMD target Highway compiles, bit-exact with the
 * Swift reference (module WeightKernelsReference) on every target. The arithmetic contract (one
 * accumulation order for every target, NaN rules, fp16 rounding points) is in docs/ARITHMETIC.md
 * and summarised at wk_dense_gemv.
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
 * - A wk_context (may be NULL) selects the SIMD target and receives an error message. The library
 *   has no global mutable state: all functions are safe to call concurrently from several threads
 *   as long as outputs do not overlap; matrices are immutable once created and may be shared.
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
  WK_ERROR_OUT_OF_MEMORY = 9
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
 * Per-call options and diagnostics. Initialise with wk_context_init; passing NULL instead of a
 * context means: best target, no message. A context is owned by the caller and is not shared
 * between concurrent calls.
 */
typedef struct wk_context {
  /** In: the SIMD target to run (a single bit from wk_compiled_targets), or 0 for the best one
   *  this CPU supports. */
  uint64_t target;
  /** In: worker threads; 0 and 1 mean the calling thread only (the only mode so far). */
  uint32_t threads;
  uint32_t reserved;
  /** Out: the target that ran (set on success). */
  uint64_t used_target;
  /** Out: on failure, a NUL-terminated description naming the operand at fault. */
  char message[WK_MESSAGE_CAPACITY];
} wk_context;

/** Sets target 0, threads 1 and clears the outputs. */
void wk_context_init(wk_context* ctx);

/* ---------------------------------------------------------------------------------------------
 * SIMD targets
 * ------------------------------------------------------------------------------------------- */

/**
 * Writes up to capacity compiled targets, best first, and returns how many are compiled (call
 * with capacity 0 to size the array). Each is a single bit; the portable fallback (EMU128) last.
 */
size_t wk_compiled_targets(uint64_t* targets, size_t capacity);

/** Bitwise OR of the compiled targets this CPU can run. Computed once, then cached. */
uint64_t wk_supported_targets(void);

/** The target used when wk_context.target is 0. */
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

/* ---------------------------------------------------------------------------------------------
 * GEMV: y = W · x, batched
 *
 * W is [rows, cols] (a Core ML linear weight [out, in]); x is [batch, cols] (or [cols], batch 1),
 * fp16 or fp32; y is [batch, rows] of y_dtype (fp16 or fp32). Every y[b, r] is computed in fp32
 * with the canonical order of docs/ARITHMETIC.md, identical on every target:
 *   p[0..15] = +0;  for k = 0..cols-1: p[k % 16] = fma(w[r,k], x[b,k], p[k % 16])  (one rounding)
 *   s = tree(p): q[i] = p[i] + p[i+8] (i<8); then i<4: q[i] + q[i+4]; i<2: q[i] + q[i+2]; q0 + q1
 *   y = s, with any NaN replaced by the canonical quiet NaN 0x7FC00000; fp16 y = RN16(y).
 * fp16 weights and inputs are widened exactly. Batch rows are independent: the bits of y[b] do not
 * depend on batch size. x and y may not overlap each other or the weights.
 * Complexity: rows * cols * batch multiply-adds; W is read once per call (batch 1) and never
 * expanded to a dense copy.
 * ------------------------------------------------------------------------------------------- */

/** Dense GEMV. w: fp16 or fp32 [rows, cols] with rows, cols >= 1. */
wk_status wk_dense_gemv(const wk_tensor* w, const wk_tensor* x, const wk_buffer* y,
                        int32_t y_dtype, wk_context* ctx);

/* ---------------------------------------------------------------------------------------------
 * Palettized matrices (fused decompress-GEMV)
 * ------------------------------------------------------------------------------------------- */

/** An immutable, validated palettized 2-D weight prepared for GEMV. Opaque. */
typedef struct wk_lut_matrix wk_lut_matrix;

/**
 * The Core ML chain a palettized linear weight is stored as. Required: indices and lut, as for
 * wk_lut_to_dense_ios18 with K = 2 (indices [rows, cols], lut [Gr, Gc, 2^n, 1]; vector
 * palettization is not fused: decompress it instead). Optional (NULL when absent):
 * - lut_scale / lut_offset: a blockwise_shift_scale applied to the LUT first (the canonicalised
 *   per-channel-scale form and int8/uint8-quantized LUTs: scale shape [a, b, c, 1] dividing the
 *   lut shape);
 * - scale: a blockwise_shift_scale without offset applied to the dense [rows, cols] result
 *   (the per-channel-scale chain lut_to_dense -> blockwise_shift_scale): shape [Sr, Sc].
 * After these steps the weights must be fp16 or fp32 (an integer LUT needs lut_scale).
 * The matrix keeps pointers to indices->data (not to the tensor structs): that memory must stay
 * valid and unchanged until wk_lut_matrix_destroy. LUT and scales are copied.
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
wk_status wk_lut_matrix_create(const wk_lut_matrix_desc* desc, wk_lut_matrix** matrix,
                               wk_context* ctx);

/** Frees a matrix; NULL is ignored. */
void wk_lut_matrix_destroy(wk_lut_matrix* matrix);

/** Properties of a matrix. */
typedef struct wk_lut_matrix_info {
  int64_t rows;
  int64_t cols;
  uint32_t nbits;
  /** dtype of the decompressed weights (WK_DTYPE_FP16 or WK_DTYPE_FP32). */
  int32_t weight_dtype;
  /** Bytes of the compressed form as stored by Core ML: indices + LUT + scales/offsets. */
  uint64_t compressed_bytes;
} wk_lut_matrix_info;

wk_status wk_lut_matrix_get_info(const wk_lut_matrix* matrix, wk_lut_matrix_info* info);

/** Writes the dense [rows, cols] weights (weight_dtype): exactly what the Core ML chain yields. */
wk_status wk_lut_matrix_decompress(const wk_lut_matrix* matrix, const wk_buffer* out,
                                   wk_context* ctx);

/** Fused GEMV, bit-identical to wk_dense_gemv over wk_lut_matrix_decompress's output. */
wk_status wk_lut_matrix_gemv(const wk_lut_matrix* matrix, const wk_tensor* x,
                             const wk_buffer* y, int32_t y_dtype, wk_context* ctx);

#ifdef __cplusplus
}  /* extern "C" */
#endif

#endif /* WEIGHTKERNELS_H_ */
