// The C example's palettized matrix through the thin C++ layer an engine would put over the C
// ABI: matrices owned by std::unique_ptr with wk_matrix_destroy as deleter, and a failed status
// turned into an exception that carries it and the library's message naming the operand.
//
//   c++ -std=c++17 palettized.cpp $(pkg-config --cflags --libs weightkernels) -o palettized
#include <weightkernels.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace wk {

class Error : public std::runtime_error {
 public:
  Error(wk_status status, const std::string& what) : std::runtime_error(what), status_(status) {}
  wk_status status() const noexcept { return status_; }

 private:
  wk_status status_;
};

/// Per-call options and the error message; one per thread, as the header requires.
struct Context {
  explicit Context(uint32_t threads = 1) {
    wk_context_init(&raw);
    raw.threads = threads;
  }
  wk_context raw;
};

/// The one place a status becomes an exception.
inline void Check(wk_status status, const Context& ctx, const char* call) {
  if (status != WK_OK) {
    throw Error(status, std::string(call) + ": " + wk_status_name(status) + ": " + ctx.raw.message);
  }
}

inline wk_tensor Tensor(const void* data, size_t nbytes, wk_dtype dtype,
                        std::initializer_list<int64_t> shape) {
  wk_tensor t{};
  t.data = data;
  t.nbytes = nbytes;
  t.dtype = dtype;
  t.rank = static_cast<uint32_t>(shape.size());
  std::copy(shape.begin(), shape.end(), t.shape);
  return t;
}

struct MatrixDeleter {
  void operator()(wk_matrix* matrix) const noexcept { wk_matrix_destroy(matrix); }
};

/// Owns a wk_matrix; the operands it points to must outlive it (as the header says).
class Matrix {
 public:
  static Matrix Palettized(const wk_tensor& indices, const wk_tensor& lut, Context& ctx) {
    wk_lut_matrix_desc desc{&indices, &lut, nullptr, nullptr, nullptr};
    wk_matrix* raw = nullptr;
    Check(wk_lut_matrix_create(&desc, &raw, &ctx.raw), ctx, "wk_lut_matrix_create");
    return Matrix(raw);
  }

  static Matrix Dense(const wk_tensor& weights, Context& ctx) {
    wk_matrix* raw = nullptr;
    Check(wk_dense_matrix_create(&weights, &raw, &ctx.raw), ctx, "wk_dense_matrix_create");
    return Matrix(raw);
  }

  wk_matrix_info Info() const {
    wk_matrix_info info{};
    Context ctx;
    Check(wk_matrix_get_info(matrix_.get(), &info), ctx, "wk_matrix_get_info");
    return info;
  }

  /// y = W x for one fp32 activation vector.
  std::vector<float> Gemv(const std::vector<float>& x, Context& ctx) const {
    std::vector<float> y(static_cast<size_t>(Info().rows));
    wk_tensor xt = Tensor(x.data(), x.size() * sizeof(float), WK_DTYPE_FP32, {int64_t(x.size())});
    wk_buffer yb{y.data(), y.size() * sizeof(float)};
    Check(wk_matrix_gemv(matrix_.get(), &xt, &yb, WK_DTYPE_FP32, &ctx.raw), ctx, "wk_matrix_gemv");
    return y;
  }

  /// The dense weights as bytes of Info().weight_dtype.
  std::vector<unsigned char> Decompress(Context& ctx) const {
    wk_matrix_info info = Info();
    std::vector<unsigned char> out(size_t(info.rows * info.cols) * wk_dtype_bits(info.weight_dtype) / 8);
    wk_buffer ob{out.data(), out.size()};
    Check(wk_matrix_decompress(matrix_.get(), &ob, &ctx.raw), ctx, "wk_matrix_decompress");
    return out;
  }

 private:
  explicit Matrix(wk_matrix* raw) : matrix_(raw) {}
  std::unique_ptr<wk_matrix, MatrixDeleter> matrix_;
};

}  // namespace wk

int main() {
  constexpr int64_t kRows = 64, kCols = 96, kEntries = 16;
  try {
    std::vector<uint8_t> indices(kRows * kCols / 2);  // uint4, two per byte, low nibble first
    uint32_t state = 12;
    for (uint8_t& byte : indices) {
      state = state * 1664525u + 1013904223u;
      byte = uint8_t(state >> 24);
    }
    std::vector<float> lut_values(kEntries);
    for (int64_t e = 0; e < kEntries; ++e) lut_values[e] = float(e) * 0.125f - 1.0f;
    std::vector<float> x(kCols);
    for (int64_t k = 0; k < kCols; ++k) x[k] = float((k * 37) % 101 - 50) / 64.0f;

    wk::Context ctx;
    wk_tensor index_tensor = wk::Tensor(indices.data(), indices.size(), WK_DTYPE_UINT4, {kRows, kCols});
    wk_tensor lut = wk::Tensor(lut_values.data(), lut_values.size() * sizeof(float), WK_DTYPE_FP32,
                               {1, 1, kEntries, 1});
    wk::Matrix matrix = wk::Matrix::Palettized(index_tensor, lut, ctx);

    std::vector<float> y = matrix.Gemv(x, ctx);
    wk::Context two_threads(2);
    bool same_threads = matrix.Gemv(x, two_threads) == y;  // bit-identical by contract; no NaN here

    std::vector<unsigned char> weights = matrix.Decompress(ctx);
    wk_tensor weights_tensor = wk::Tensor(weights.data(), weights.size(),
                                          wk_dtype(matrix.Info().weight_dtype), {kRows, kCols});
    std::vector<float> y_dense = wk::Matrix::Dense(weights_tensor, ctx).Gemv(x, ctx);
    bool same = std::memcmp(y.data(), y_dense.data(), y.size() * sizeof(float)) == 0;
    std::cout << "fused GEMV " << (same ? "==" : "!=") << " dense GEMV of the decompressed weights, "
              << "2 threads " << (same_threads ? "==" : "!=") << " 1 thread (y[0] = " << y[0] << ")\n";
    if (!same || !same_threads) return 1;

    // An error path: 8 LUT entries for 4-bit indices throws, naming the operand.
    wk_tensor short_lut = wk::Tensor(lut_values.data(), 8 * sizeof(float), WK_DTYPE_FP32, {1, 1, 8, 1});
    try {
      wk::Matrix::Palettized(index_tensor, short_lut, ctx);
      std::cerr << "an 8-entry LUT for uint4 indices was accepted\n";
      return 1;
    } catch (const wk::Error& e) {
      std::cout << "8-entry LUT: " << e.what() << "\n";
      if (e.status() != WK_ERROR_INVALID_SHAPE) return 1;
    }
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
