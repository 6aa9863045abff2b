/*
 * A 4-bit palettized weight through the installed C library: create the matrix, run the fused
 * GEMV, decompress it, check that the GEMV of the dense weights gives the same bits, and show
 * how a bad operand is reported. Exits non-zero if anything is not as expected.
 *
 *   cc palettized.c $(pkg-config --cflags --libs weightkernels) -o palettized
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <weightkernels.h>

enum { ROWS = 64, COLS = 96, ENTRIES = 16 };

/* Prints the failing call's status and the library's message, and exits. */
static void check(wk_status status, const char* what, const wk_context* ctx) {
  if (status != WK_OK) {
    fprintf(stderr, "%s: %s: %s\n", what, wk_status_name(status), ctx->message);
    exit(1);
  }
}

static wk_tensor tensor2(const void* data, size_t nbytes, wk_dtype dtype, int64_t d0, int64_t d1) {
  wk_tensor t = {data, nbytes, dtype, 2, {d0, d1}};
  return t;
}

int main(void) {
  if (wk_version() != WK_VERSION_MAJOR * 1000 + WK_VERSION_MINOR) {
    fprintf(stderr, "library version %u does not match the header\n", (unsigned)wk_version());
    return 1;
  }
  wk_context ctx;
  wk_context_init(&ctx);

  /* uint4 indices, two per byte, low nibble first; one fp32 LUT [1, 1, 16, 1]. */
  static uint8_t indices[ROWS * COLS / 2];
  uint32_t state = 12;
  for (size_t i = 0; i < sizeof indices; ++i) {
    state = state * 1664525u + 1013904223u;
    indices[i] = (uint8_t)(state >> 24);
  }
  float lut_values[ENTRIES];
  for (int e = 0; e < ENTRIES; ++e) lut_values[e] = (float)e * 0.125f - 1.0f;
  float x[COLS];
  for (int k = 0; k < COLS; ++k) x[k] = (float)((k * 37) % 101 - 50) / 64.0f;

  wk_tensor index_tensor = tensor2(indices, sizeof indices, WK_DTYPE_UINT4, ROWS, COLS);
  wk_tensor lut = {lut_values, sizeof lut_values, WK_DTYPE_FP32, 4, {1, 1, ENTRIES, 1}};
  wk_lut_matrix_desc desc = {&index_tensor, &lut, NULL, NULL, NULL};
  wk_matrix* matrix = NULL;
  check(wk_lut_matrix_create(&desc, &matrix, &ctx), "wk_lut_matrix_create", &ctx);

  wk_matrix_info info;
  check(wk_matrix_get_info(matrix, &info), "wk_matrix_get_info", &ctx);
  printf("palettized %lld x %lld, %u-bit, %llu bytes stored, running on %s\n", (long long)info.rows,
         (long long)info.cols, info.nbits, (unsigned long long)info.compressed_bytes,
         wk_target_name(wk_best_target()));

  /* Fused decompress-GEMV. */
  float y[ROWS];
  wk_tensor x_tensor = {x, sizeof x, WK_DTYPE_FP32, 1, {COLS}};
  wk_buffer y_buffer = {y, sizeof y};
  check(wk_matrix_gemv(matrix, &x_tensor, &y_buffer, WK_DTYPE_FP32, &ctx), "wk_matrix_gemv", &ctx);

  /* The dense weights, and their GEMV: the same bits by contract. */
  static float weights[ROWS * COLS];
  wk_buffer weights_buffer = {weights, sizeof weights};
  check(wk_matrix_decompress(matrix, &weights_buffer, &ctx), "wk_matrix_decompress", &ctx);
  wk_tensor weights_tensor = tensor2(weights, sizeof weights, WK_DTYPE_FP32, ROWS, COLS);
  wk_matrix* dense = NULL;
  check(wk_dense_matrix_create(&weights_tensor, &dense, &ctx), "wk_dense_matrix_create", &ctx);
  float y_dense[ROWS];
  wk_buffer y_dense_buffer = {y_dense, sizeof y_dense};
  check(wk_matrix_gemv(dense, &x_tensor, &y_dense_buffer, WK_DTYPE_FP32, &ctx), "wk_matrix_gemv", &ctx);
  int same = memcmp(y, y_dense, sizeof y) == 0;
  printf("fused GEMV %s dense GEMV of the decompressed weights (y[0] = %g)\n",
         same ? "==" : "!=", (double)y[0]);

  wk_matrix_destroy(dense);
  wk_matrix_destroy(matrix);
  if (!same) return 1;

  /* An error path: 8 LUT entries for 4-bit indices. Nothing is created; status and message say why. */
  wk_tensor short_lut = {lut_values, 8 * sizeof(float), WK_DTYPE_FP32, 4, {1, 1, 8, 1}};
  desc.lut = &short_lut;
  wk_matrix* rejected = NULL;
  wk_status status = wk_lut_matrix_create(&desc, &rejected, &ctx);
  printf("8-entry LUT: %s: %s\n", wk_status_name(status), ctx.message);
  if (status != WK_ERROR_INVALID_SHAPE || rejected != NULL) return 1;
  return 0;
}
