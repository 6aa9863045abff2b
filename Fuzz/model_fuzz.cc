// libFuzzer target over the Core ML model reader (wk_model_open_memory). Input: a 4-byte
// little-endian length L, then L bytes of program (model.mlmodel), then the bytes of weight.bin
// (a shorter input is all program). Both live in heap blocks of exactly their size, so a read
// past either faults under ASan. For every weight the reader lists: its info is consistent, it
// decompresses into a buffer of exactly its size (or fails with a message), and when it opens as
// a fused matrix the matrix decompresses to the same bytes and its GEMV runs.
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.h"
#include "include/weightkernels.h"

using wk_fuzz::Block;
using wk_fuzz::Fatal;

namespace {

// Decompressing a huge declared weight would only measure the allocator.
constexpr uint64_t kMaxDenseBytes = uint64_t{1} << 24;

void CheckWeight(const wk_model* model, size_t index) {
  wk_model_weight_info info;
  if (wk_model_get_weight(model, index, &info) != WK_OK) Fatal("model", "get_weight failed");
  if (info.name == nullptr || info.op_chain == nullptr || info.scheme == nullptr ||
      info.consumer_op == nullptr || info.consumer_input == nullptr || info.function == nullptr)
    Fatal("model", "NULL string in the info");
  if (info.dtype != WK_DTYPE_FP16 && info.dtype != WK_DTYPE_FP32) Fatal(info.name, "weight dtype");
  if (info.rank < 1 || info.rank > WK_MAX_RANK) Fatal(info.name, "rank");
  uint64_t count = 1;
  for (int d = 0; d < info.rank; ++d) {
    if (info.shape[d] < 0) Fatal(info.name, "negative extent");
    if (info.shape[d] != 0 && count > (uint64_t{1} << 56) / static_cast<uint64_t>(info.shape[d]))
      Fatal(info.name, "element count overflows");
    count *= static_cast<uint64_t>(info.shape[d]);
  }
  if (info.dense_fp16_bytes != 2 * count) Fatal(info.name, "dense_fp16_bytes");
  const size_t elem = info.dtype == WK_DTYPE_FP16 ? 2 : 4;
  if (count * elem > kMaxDenseBytes) return;

  wk_context ctx;
  wk_context_init(&ctx);
  Block dense(count * elem);
  const wk_buffer out = {dense.data(), dense.n};
  const bool decompressed = wk_model_weight_decompress(model, index, &out, &ctx) == WK_OK;
  if (!decompressed && ctx.message[0] == '\0') Fatal(info.name, "decompress failed without a message");
  if (decompressed && count > 0) {
    // One byte short must be refused.
    Block small(count * elem - 1);
    const wk_buffer short_out = {small.data(), small.n};
    if (wk_model_weight_decompress(model, index, &short_out, &ctx) != WK_ERROR_SIZE_MISMATCH)
      Fatal(info.name, "a short buffer was accepted");
  }

  wk_matrix* matrix = nullptr;
  const wk_status made = wk_model_weight_matrix(model, index, &matrix, &ctx);
  if (info.matrix == 0) {
    if (made != WK_ERROR_UNSUPPORTED || matrix != nullptr) Fatal(info.name, "matrix made although info.matrix is 0");
    return;
  }
  if (made != WK_OK) return;  // operands the create function rejects
  wk_matrix_info mi;
  if (wk_matrix_get_info(matrix, &mi) != WK_OK) Fatal(info.name, "matrix info");
  if (static_cast<uint64_t>(mi.rows) * static_cast<uint64_t>(mi.cols) != count || mi.rows != info.shape[0] ||
      mi.weight_dtype != info.dtype)
    Fatal(info.name, "matrix shape or dtype differs from the weight");
  Block from_matrix(count * elem);
  const wk_buffer mout = {from_matrix.data(), from_matrix.n};
  if (wk_matrix_decompress(matrix, &mout, &ctx) != WK_OK) Fatal(info.name, "matrix decompress failed");
  if (decompressed && count > 0 && std::memcmp(dense.data(), from_matrix.data(), dense.n) != 0)
    Fatal(info.name, "the matrix decompresses to other bytes than the model");
  if (static_cast<uint64_t>(mi.cols) <= 4096 && mi.rows <= 4096) {
    Block x(static_cast<size_t>(mi.cols) * 4);
    for (int64_t k = 0; k < mi.cols; ++k) {
      const float v = static_cast<float>((k % 7) - 3) * 0.25f;
      std::memcpy(x.data() + 4 * k, &v, 4);
    }
    wk_tensor xt = {};
    xt.data = x.data();
    xt.nbytes = x.n;
    xt.dtype = WK_DTYPE_FP32;
    xt.rank = 1;
    xt.shape[0] = mi.cols;
    Block y(static_cast<size_t>(mi.rows) * 4);
    const wk_buffer yb = {y.data(), y.n};
    if (wk_matrix_gemv(matrix, &xt, &yb, WK_DTYPE_FP32, &ctx) != WK_OK) Fatal(info.name, "gemv failed");
  }
  wk_matrix_destroy(matrix);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t program_bytes = size;
  size_t offset = 0;
  if (size >= 4) {
    const uint32_t l = uint32_t{data[0]} | uint32_t{data[1]} << 8 | uint32_t{data[2]} << 16 |
                       uint32_t{data[3]} << 24;
    offset = 4;
    program_bytes = l < size - 4 ? l : size - 4;
  }
  Block program(program_bytes);
  if (program_bytes) std::memcpy(program.data(), data + offset, program_bytes);
  Block weights(size - offset - program_bytes);
  if (weights.n) std::memcpy(weights.data(), data + offset + program_bytes, weights.n);

  wk_context ctx;
  wk_context_init(&ctx);
  wk_model* model = nullptr;
  const wk_status st =
      wk_model_open_memory(program.data(), program.n, weights.data(), weights.n, &model, &ctx);
  if (st != WK_OK) {
    if (model != nullptr) Fatal("model", "failed open wrote a model");
    if (ctx.message[0] == '\0') Fatal("model", "failed open without a message");
    return 0;
  }
  for (size_t i = 0; i < wk_model_weight_count(model); ++i) CheckWeight(model, i);
  wk_model_close(model);
  return 0;
}
