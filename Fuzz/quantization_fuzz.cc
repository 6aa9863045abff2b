// libFuzzer target for the linear-quantization entry points of the C ABI (run under ASan + UBSan
// by `make fuzz`): constexpr_affine_dequantize, constexpr_blockwise_shift_scale, its sparse
// variant and quantized matrices (fused dequantize-GEMV and W8A8). Every input is decoded into
// operands of fuzzer-chosen shapes, dtypes, scale grids and bytes, held in allocations of exactly
// their size, so that the kernels' 8- and 16-byte chunk loads (int4 rows starting mid-byte, row
// tails) are caught if they read out of bounds. Valid calls are differential: each supported SIMD
// target must produce the same bytes as the portable EMU128 path; affine_dequantize and W8A8 are
// also checked against a scalar transcription of their documented formulas here; the sparse op
// must agree with the dense op at the mask's ones; a matrix must decompress to what
// wk_blockwise_shift_scale yields, give the same decompression, GEMV and W8A8 bytes with 2, 3, 7
// or all threads (the library's pool or a lent parallel-for) as with one, give each batch row
// (batches up to 48 rows, ~80 for large matrices) as a batch-1 product would, and its fused GEMV
// must equal the GEMV of a dense matrix made from those weights (fuzz_support.h).
// Malformed operands must fail with their documented status and write nothing.
// A mismatch aborts, which libFuzzer records as a finding.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz_support.h"
#include "include/weightkernels.h"

namespace {

using namespace wk_fuzz;

bool IsFloat(int32_t dtype) { return dtype == WK_DTYPE_FP16 || dtype == WK_DTYPE_FP32; }

// Writes raw field i of a packed 4-, 8-, 16- or 32-bit stream.
void SetField(uint8_t* p, uint32_t bits, uint64_t i, uint32_t v) {
  if (bits == 4) {
    const uint32_t shift = 4 * (i % 2);
    p[i / 2] = static_cast<uint8_t>((p[i / 2] & ~(0xFu << shift)) | ((v & 0xFu) << shift));
  } else {
    std::memcpy(p + i * (bits / 8), &v, bits / 8);
  }
}

// The exact value of an element of any dtype the quantization ops take (int4 sign-extended).
float ValueOf(int32_t dtype, uint32_t raw) {
  switch (dtype) {
    case WK_DTYPE_FP16: {
      const uint32_t sign = (raw & 0x8000u) << 16;
      const uint32_t exponent = (raw >> 10) & 0x1Fu;
      const uint32_t mantissa = raw & 0x3FFu;
      if (exponent == 0) {
        const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
        return sign ? -magnitude : magnitude;
      }
      const uint32_t bits = sign | (exponent == 31 ? 0x7F800000u : (exponent + 112) << 23) | mantissa << 13;
      float f;
      std::memcpy(&f, &bits, 4);
      return f;
    }
    case WK_DTYPE_FP32: {
      float f;
      std::memcpy(&f, &raw, 4);
      return f;
    }
    case WK_DTYPE_INT4: return static_cast<float>(static_cast<int32_t>(raw << 28) >> 28);
    case WK_DTYPE_INT8: return static_cast<float>(static_cast<int8_t>(raw));
    default: return static_cast<float>(raw);  // uint4, uint8
  }
}

uint32_t Bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float Quiet(float nan) {
  const uint32_t u = Bits(nan) | 0x00400000u;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// RN16 (ties to even, overflow to Inf, subnormals kept); a NaN gives sign | 0x7E00 | payload >> 13.
uint16_t ToHalf(float f) {
  const uint32_t u = Bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  if (std::isnan(f)) return static_cast<uint16_t>(sign | 0x7E00u | ((u >> 13) & 0x1FFu));
  const float a = std::fabs(f);
  if (a >= 65520.0f) return sign | 0x7C00u;  // at or above the midpoint of 65504 and 2^16
  if (a < 0x1p-14f) return static_cast<uint16_t>(sign | static_cast<uint16_t>(std::nearbyint(a * 0x1p24f)));
  int e;
  std::frexp(a, &e);  // a = m 2^e, m in [0.5, 1)
  float s = std::nearbyint(std::ldexp(a, 11 - e));  // 11 significant bits, exact scaling
  if (s == 2048.0f) {
    s = 1024.0f;
    ++e;
  }
  return static_cast<uint16_t>(sign | (e + 14) << 10 | (static_cast<uint32_t>(s) - 1024u));
}

// Most of the time, moves the exponents of a float tensor into 2^-5 ... 2^2 (GEMV results that
// are neither all NaN nor all Inf); elements whose low bits are 0 keep their bytes, so zeros,
// infinities, NaNs and subnormals still occur.
void Tame(Input& in, OwnedTensor& x) {
  if (!IsFloat(x.t.dtype) || in.Flip(4)) return;
  const uint32_t bits = wk_dtype_bits(x.t.dtype);
  const uint64_t count = Count(x.t.rank, x.t.shape);
  for (uint64_t i = 0; i < count && i * bits / 8 < x.block.n; ++i) {
    uint32_t v = x.Raw(i);
    if ((v & 0xFu) == 0) continue;
    v = bits == 16 ? (v & 0x83FFu) | ((10u + ((v >> 10) & 7u)) << 10)
                   : (v & 0x807FFFFFu) | ((122u + ((v >> 23) & 7u)) << 23);
    SetField(x.block.data(), bits, i, v);
  }
}

const int32_t kShiftScaleDataTypes[] = {WK_DTYPE_INT4, WK_DTYPE_UINT4, WK_DTYPE_INT8,
                                        WK_DTYPE_UINT8, WK_DTYPE_FP16, WK_DTYPE_FP32};
const int32_t kNotShiftScaleDataTypes[] = {WK_DTYPE_UINT1, WK_DTYPE_UINT2, WK_DTYPE_UINT3,
                                           WK_DTYPE_UINT6, WK_DTYPE_INT16, WK_DTYPE_UINT32};

// 1 (most often), the extent, or a fuzzer-chosen divisor of it.
int64_t PickBlocks(Input& in, int64_t extent) {
  switch (in.Below(4)) {
    case 0: return extent;
    case 1: {
      int64_t g = 1 + in.Below(static_cast<uint32_t>(extent));
      while (extent % g != 0) --g;
      return g;
    }
    default: return 1;
  }
}

// ---------------------------------------------------------------------------------------------
// constexpr_affine_dequantize

void FuzzAffine(Input& in) {
  const uint32_t rank = 1 + in.Below(4);
  int64_t dims[WK_MAX_RANK];
  uint64_t count = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    dims[d] = in.Flip(40) ? 0 : 1 + in.Below(count > 256 ? 3 : 24);
    count *= static_cast<uint64_t>(dims[d]);
  }
  const int32_t axis = static_cast<int32_t>(in.Below(2 * rank)) - static_cast<int32_t>(rank);
  const uint32_t a = static_cast<uint32_t>(axis < 0 ? axis + static_cast<int32_t>(rank) : axis);
  const int64_t extent = dims[a];
  const int32_t q_type = in.Flip(2) ? WK_DTYPE_INT8 : WK_DTYPE_UINT8;
  const int32_t zp_types[] = {WK_DTYPE_INT8, WK_DTYPE_UINT8, WK_DTYPE_FP32};
  const int32_t zp_type = zp_types[in.Below(3)];
  const int32_t scale_type = in.Flip(2) ? WK_DTYPE_FP16 : WK_DTYPE_FP32;
  const bool zp_vector = in.Flip(2);
  const bool scale_vector = in.Flip(2);
  OwnedTensor q(in, q_type, rank, dims);
  OwnedTensor zp(in, zp_type, zp_vector ? 1 : 0, &extent);
  OwnedTensor scale(in, scale_type, scale_vector ? 1 : 0, &extent);
  Tame(in, zp);
  Tame(in, scale);

  wk_tensor_info info;
  wk_context ctx;
  wk_context_init(&ctx);
  if (wk_affine_dequantize(&q.t, &zp.t, &scale.t, axis, nullptr, &info, &ctx) != WK_OK) {
    Fatal("affine_dequantize", ctx.message);
  }
  const uint32_t out_width = scale_type == WK_DTYPE_FP16 ? 2 : 4;
  if (info.dtype != scale_type || info.rank != rank || info.nbytes != count * out_width) {
    Fatal("affine_dequantize", "wrong output info");
  }
  const std::vector<Block> out = Differential("affine_dequantize", {info.nbytes}, [&](wk_context* c, Block* o) {
    wk_buffer b{o[0].data(), o[0].n};
    return wk_affine_dequantize(&q.t, &zp.t, &scale.t, axis, &b, nullptr, c);
  });
  // FORMATS.md §5 with the NaN rule of docs/ARITHMETIC.md: d = RN32(q - zp), p = RN32(d * s).
  uint64_t inner = 1;
  for (uint32_t d = a + 1; d < rank; ++d) inner *= static_cast<uint64_t>(dims[d]);
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t channel = (i / inner) % static_cast<uint64_t>(extent);
    const float z = ValueOf(zp_type, zp.Raw(zp_vector ? channel : 0));
    const float s = ValueOf(scale_type, scale.Raw(scale_vector ? channel : 0));
    const float qv = ValueOf(q_type, q.Raw(i));
    const float diff = std::isnan(z) ? Quiet(z) : qv - z;
    const float p = std::isnan(diff) ? Quiet(diff) : (std::isnan(s) ? Quiet(s) : diff * s);
    const uint32_t want = scale_type == WK_DTYPE_FP16 ? ToHalf(p) : Bits(p);
    if (GetField(out[0].data(), 8 * out_width, i) != want) Fatal("affine_dequantize", "differs from the §5 formula");
  }

  // Malformed: the axis, a parameter vector's length, a zero point dtype, a byte count, a short
  // output buffer.
  const size_t n = info.nbytes;
  const auto call = [](const wk_tensor* qq, const wk_tensor* zz, const wk_tensor* ss, int32_t ax, size_t out_bytes) {
    return [=](Block* o) {
      wk_buffer b{o[0].data(), out_bytes};
      return wk_affine_dequantize(qq, zz, ss, ax, &b, nullptr, nullptr);
    };
  };
  const int32_t bad_axis = in.Flip(2) ? static_cast<int32_t>(rank) : -static_cast<int32_t>(rank) - 1;
  ExpectFailure("affine_dequantize axis", WK_ERROR_INVALID_ARGUMENT, {n}, call(&q.t, &zp.t, &scale.t, bad_axis, n));
  const int64_t longer = extent + 1;
  OwnedTensor long_scale(in, scale_type, 1, &longer);
  ExpectFailure("affine_dequantize scale length", WK_ERROR_INVALID_SHAPE, {n}, call(&q.t, &zp.t, &long_scale.t, axis, n));
  OwnedTensor half_zp(in, WK_DTYPE_FP16, zp.t.rank, &extent);
  ExpectFailure("affine_dequantize fp16 zero point", WK_ERROR_INVALID_DTYPE, {n}, call(&q.t, &half_zp.t, &scale.t, axis, n));
  OwnedTensor off_q(in, q_type, rank, dims, static_cast<int64_t>(q.block.n) + (q.block.n == 0 || in.Flip(2) ? 1 : -1));
  ExpectFailure("affine_dequantize nbytes", WK_ERROR_SIZE_MISMATCH, {n}, call(&off_q.t, &zp.t, &scale.t, axis, n));
  if (n > 0) ExpectFailure("affine_dequantize short output", WK_ERROR_SIZE_MISMATCH, {n}, call(&q.t, &zp.t, &scale.t, axis, n - 1));
}

// ---------------------------------------------------------------------------------------------
// constexpr_blockwise_shift_scale and constexpr_sparse_blockwise_shift_scale

// Scale (and offset) operands over data of shape dims: a grid of divisors, fp16 or fp32, and
// no offset, an integer offset of the data dtype, or an fp16 / fp32 one (fp32 only with an fp32
// scale).
struct ShiftScaleParams {
  int64_t grid[WK_MAX_RANK];
  int32_t scale_type;
  int32_t offset_type;  // 0: none
  std::unique_ptr<OwnedTensor> scale;
  std::unique_ptr<OwnedTensor> offset;

  ShiftScaleParams(Input& in, int32_t data_type, uint32_t rank, const int64_t* dims) {
    for (uint32_t d = 0; d < rank; ++d) grid[d] = dims[d] == 0 ? 1 + in.Below(3) : PickBlocks(in, dims[d]);
    scale_type = in.Flip(2) ? WK_DTYPE_FP16 : WK_DTYPE_FP32;
    switch (in.Below(4)) {
      case 0: offset_type = IsFloat(data_type) ? WK_DTYPE_FP16 : data_type; break;
      case 1: offset_type = scale_type == WK_DTYPE_FP32 && in.Flip(2) ? WK_DTYPE_FP32 : WK_DTYPE_FP16; break;
      default: offset_type = 0; break;
    }
    scale.reset(new OwnedTensor(in, scale_type, rank, grid));
    Tame(in, *scale);
    if (offset_type != 0) {
      offset.reset(new OwnedTensor(in, offset_type, rank, grid));
      Tame(in, *offset);
    }
  }

  const wk_tensor* Offset() const { return offset ? &offset->t : nullptr; }
};

void FuzzShiftScale(Input& in, bool sparse) {
  const uint32_t rank = 1 + in.Below(4);
  int64_t dims[WK_MAX_RANK];
  uint64_t count = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    dims[d] = in.Flip(40) ? 0 : 1 + in.Below(count > 256 ? 3 : (in.Flip(4) ? 100 : 24));
    count *= static_cast<uint64_t>(dims[d]);
  }
  const int32_t data_type = kShiftScaleDataTypes[in.Below(6)];
  const uint32_t data_bits = wk_dtype_bits(data_type);
  const ShiftScaleParams p(in, data_type, rank, dims);
  const uint32_t out_width = p.scale_type == WK_DTYPE_FP16 ? 2 : 4;

  if (!sparse) {
    OwnedTensor data(in, data_type, rank, dims);
    Tame(in, data);
    wk_tensor_info info;
    wk_context ctx;
    wk_context_init(&ctx);
    if (wk_blockwise_shift_scale(&data.t, &p.scale->t, p.Offset(), nullptr, &info, &ctx) != WK_OK) {
      Fatal("blockwise_shift_scale", ctx.message);
    }
    if (info.dtype != p.scale_type || info.nbytes != count * out_width) Fatal("blockwise_shift_scale", "wrong output info");
    Differential("blockwise_shift_scale", {info.nbytes}, [&](wk_context* c, Block* o) {
      wk_buffer b{o[0].data(), o[0].n};
      return wk_blockwise_shift_scale(&data.t, &p.scale->t, p.Offset(), &b, nullptr, c);
    });
    // Malformed: a scale extent that divides nothing (extent + 1), fp32 offset with fp16 scale.
    int64_t bad_grid[WK_MAX_RANK];
    std::memcpy(bad_grid, p.grid, sizeof(bad_grid));
    const uint32_t axis = in.Below(rank);
    bad_grid[axis] = dims[axis] == 0 ? 0 : dims[axis] + 1;
    OwnedTensor bad_scale(in, p.scale_type, rank, bad_grid);
    ExpectFailure("blockwise_shift_scale scale extent", WK_ERROR_INVALID_SHAPE, {info.nbytes}, [&](Block* o) {
      wk_buffer b{o[0].data(), o[0].n};
      return wk_blockwise_shift_scale(&data.t, &bad_scale.t, nullptr, &b, nullptr, nullptr);
    });
    OwnedTensor half_scale(in, WK_DTYPE_FP16, rank, p.grid);
    OwnedTensor fp32_offset(in, WK_DTYPE_FP32, rank, p.grid);
    ExpectFailure("blockwise_shift_scale fp32 offset, fp16 scale", WK_ERROR_UNSUPPORTED, {count * 2}, [&](Block* o) {
      wk_buffer b{o[0].data(), o[0].n};
      return wk_blockwise_shift_scale(&data.t, &half_scale.t, &fp32_offset.t, &b, nullptr, nullptr);
    });
    return;
  }

  // Sparse: a mask of fuzzer-chosen density (padding bits random) and its D values.
  OwnedTensor mask(in, WK_DTYPE_UINT1, rank, dims);
  const uint32_t density = in.Below(4);
  for (size_t i = 0; i < mask.block.n; ++i) {
    uint8_t& m = mask.block.data()[i];
    m = density == 0 ? 0 : (density == 1 ? 0xFF : m);
  }
  std::vector<uint64_t> ones;
  for (uint64_t i = 0; i < count; ++i) {
    if ((mask.block.data()[i >> 3] >> (i & 7)) & 1u) ones.push_back(i);
  }
  if (count % 8 != 0 && in.Flip(2)) mask.block.data()[mask.block.n - 1] |= static_cast<uint8_t>(0xFFu << (count % 8));
  const int64_t d_count = static_cast<int64_t>(ones.size());
  OwnedTensor data(in, data_type, 1, &d_count);
  Tame(in, data);
  wk_tensor_info mask_info;
  wk_tensor_info values_info;
  wk_context ctx;
  wk_context_init(&ctx);
  if (wk_sparse_blockwise_shift_scale(&mask.t, &data.t, &p.scale->t, p.Offset(), nullptr, nullptr, &mask_info,
                                      &values_info, &ctx) != WK_OK) {
    Fatal("sparse_blockwise_shift_scale", ctx.message);
  }
  if (mask_info.nbytes != mask.block.n || values_info.dtype != p.scale_type ||
      values_info.nbytes != ones.size() * out_width) {
    Fatal("sparse_blockwise_shift_scale", "wrong output info");
  }
  const std::vector<Block> outs = Differential(
      "sparse_blockwise_shift_scale", {mask_info.nbytes, values_info.nbytes}, [&](wk_context* c, Block* o) {
        wk_buffer m{o[0].data(), o[0].n};
        wk_buffer v{o[1].data(), o[1].n};
        return wk_sparse_blockwise_shift_scale(&mask.t, &data.t, &p.scale->t, p.Offset(), &m, &v, nullptr, nullptr, c);
      });
  if (mask.block.n && std::memcmp(outs[0].data(), mask.block.data(), mask.block.n) != 0) {
    Fatal("sparse_blockwise_shift_scale", "the output mask differs from the input mask");
  }
  // Each value is the dense op's result at its one: scatter the values into dense data.
  Block dense_data(static_cast<size_t>(PackedBytes(data_type, count)));
  if (dense_data.n) std::memset(dense_data.data(), 0, dense_data.n);
  for (size_t j = 0; j < ones.size(); ++j) SetField(dense_data.data(), data_bits, ones[j], data.Raw(j));
  wk_tensor dense_t{dense_data.data(), dense_data.n, data_type, rank, {}};
  for (uint32_t d = 0; d < rank; ++d) dense_t.shape[d] = dims[d];
  Block dense_out(static_cast<size_t>(count * out_width));
  wk_buffer dense_b{dense_out.data(), dense_out.n};
  if (wk_blockwise_shift_scale(&dense_t, &p.scale->t, p.Offset(), &dense_b, nullptr, nullptr) != WK_OK) {
    Fatal("blockwise_shift_scale", "rejected the densified sparse operands");
  }
  for (size_t j = 0; j < ones.size(); ++j) {
    if (GetField(outs[1].data(), 8 * out_width, j) != GetField(dense_out.data(), 8 * out_width, ones[j])) {
      Fatal("sparse_blockwise_shift_scale", "differs from blockwise_shift_scale at the mask's ones");
    }
  }

  // Malformed: one value more or fewer than the ones; a data dtype outside the op's; outputs of
  // which only one is given.
  const int64_t wrong = in.Flip(2) || d_count == 0 ? d_count + 1 : d_count - 1;
  OwnedTensor bad_data(in, data_type, 1, &wrong);
  OwnedTensor odd_data(in, kNotShiftScaleDataTypes[in.Below(6)], 1, &d_count);
  const std::initializer_list<size_t> sizes = {mask_info.nbytes, values_info.nbytes};
  for (const OwnedTensor* v : {&bad_data, &odd_data}) {
    ExpectFailure(v == &bad_data ? "sparse_blockwise_shift_scale popcount" : "sparse_blockwise_shift_scale data dtype",
                  v == &bad_data ? WK_ERROR_INVALID_SHAPE : WK_ERROR_INVALID_DTYPE, sizes, [&](Block* o) {
                    wk_buffer m{o[0].data(), o[0].n};
                    wk_buffer vb{o[1].data(), o[1].n};
                    return wk_sparse_blockwise_shift_scale(&mask.t, &v->t, &p.scale->t, p.Offset(), &m, &vb,
                                                           nullptr, nullptr, nullptr);
                  });
  }
  ExpectFailure("sparse_blockwise_shift_scale one output", WK_ERROR_NULL_ARGUMENT, sizes, [&](Block* o) {
    wk_buffer m{o[0].data(), o[0].n};
    return wk_sparse_blockwise_shift_scale(&mask.t, &data.t, &p.scale->t, p.Offset(), &m, nullptr, nullptr,
                                           nullptr, nullptr);
  });
}

// ---------------------------------------------------------------------------------------------
// Quantized matrices

const int32_t kMatrixDataTypes[] = {WK_DTYPE_INT4, WK_DTYPE_UINT4, WK_DTYPE_INT8, WK_DTYPE_UINT8};

// W8A8 as wk_matrix_gemv_w8a8 documents it, for int8 data w [rows, cols], scale index
// r / rows_per_scale, fp32 activations. Returns fp32 results [batch, rows].
std::vector<uint32_t> W8A8Formula(const int8_t* w, int64_t rows, int64_t cols, const float* scale,
                                  int64_t rows_per_scale, const std::vector<float>& x, int64_t batch) {
  std::vector<uint32_t> y;
  std::vector<int32_t> q(static_cast<size_t>(cols));
  for (int64_t b = 0; b < batch; ++b) {
    const float* xb = x.data() + b * cols;
    float amax = 0.0f;
    bool finite = true;
    for (int64_t k = 0; k < cols; ++k) {
      finite = finite && std::isfinite(xb[k]);
      amax = std::fmax(amax, std::fabs(xb[k]));
    }
    const float sx = amax / 127.0f;
    for (int64_t k = 0; k < cols && finite; ++k) {
      const float v = sx == 0.0f ? 0.0f : std::nearbyint(xb[k] / sx);
      q[static_cast<size_t>(k)] = static_cast<int32_t>(std::fmin(std::fmax(v, -127.0f), 127.0f));
    }
    for (int64_t r = 0; r < rows; ++r) {
      int64_t d = 0;
      for (int64_t k = 0; k < cols && finite; ++k) d += int64_t{w[r * cols + k]} * q[static_cast<size_t>(k)];
      const float v = (static_cast<float>(d) * sx) * scale[r / rows_per_scale];
      y.push_back(!finite || std::isnan(v) ? 0x7FC00000u : Bits(v));
    }
  }
  return y;
}

void FuzzMatrix(Input& in, bool large) {
  const int64_t rows = large ? LargeRows(in) : 1 + in.Below(in.Flip(8) ? 8 : 40);
  const int64_t cols = large ? LargeCols(in) : 1 + in.Below(in.Flip(4) ? 400 : 80);
  const int64_t dims[2] = {rows, cols};
  const int32_t data_type = in.Flip(3) ? WK_DTYPE_INT8 : kMatrixDataTypes[in.Below(4)];
  // Scale grid: per tensor, per row, per column, per block of rows and/or columns (blocks of
  // 16, 32, 48 columns take the chunk-uniform path, other blocks the per-lane one).
  int64_t sr = 1;
  int64_t sc = 1;
  switch (in.Below(6)) {
    case 0: break;
    case 1: sr = rows; break;
    case 2: sc = cols; break;
    case 3: {
      const int64_t block = 16 * (1 + in.Below(3));
      sr = in.Flip(2) ? rows : PickBlocks(in, rows);
      sc = cols % block == 0 ? cols / block : PickBlocks(in, cols);
      break;
    }
    default: sr = PickBlocks(in, rows); sc = PickBlocks(in, cols); break;
  }
  const int64_t grid[2] = {sr, sc};
  const int32_t scale_type = in.Flip(2) ? WK_DTYPE_FP16 : WK_DTYPE_FP32;
  int32_t offset_type = 0;
  switch (in.Below(5)) {
    case 0: offset_type = data_type; break;
    case 1: offset_type = WK_DTYPE_FP16; break;
    case 2: offset_type = scale_type == WK_DTYPE_FP32 ? WK_DTYPE_FP32 : 0; break;
    default: break;
  }
  OwnedTensor data(in, data_type, 2, dims);
  OwnedTensor scale(in, scale_type, 2, grid);
  OwnedTensor offset(in, offset_type ? offset_type : WK_DTYPE_FP16, 2, grid);
  Tame(in, scale);
  Tame(in, offset);
  const wk_tensor* offset_t = offset_type ? &offset.t : nullptr;
  wk_quant_matrix_desc desc{&data.t, &scale.t, offset_t};
  wk_matrix* matrix = nullptr;
  wk_context ctx;
  wk_context_init(&ctx);
  {
    // Scale and offset are copied at create: these copies are freed before the matrix is used.
    const CopiedTensor scale_copy(desc.scale), offset_copy(desc.offset);
    const wk_quant_matrix_desc copied{desc.data, scale_copy.get(desc.scale), offset_copy.get(desc.offset)};
    if (wk_quant_matrix_create(&copied, &matrix, &ctx) != WK_OK) Fatal("quant_matrix_create", ctx.message);
  }
  // W8A8: int8 data without offset and a [rows, 1] or [1, 1] scale, otherwise unsupported.
  const bool w8a8 = data_type == WK_DTYPE_INT8 && offset_type == 0 && sc == 1 && (sr == 1 || sr == rows);
  wk_matrix_info info;
  const uint64_t compressed = data.block.n + scale.block.n + (offset_type ? offset.block.n : 0);
  if (wk_matrix_get_info(matrix, &info) != WK_OK || info.format != WK_FORMAT_QUANTIZED || info.rows != rows ||
      info.cols != cols || info.value_dtype != data_type || info.weight_dtype != scale_type ||
      info.compressed_bytes != compressed || info.nbits != 0 || info.nonzeros != rows * cols || info.has_lut != 0 ||
      info.has_scale != 1 || info.has_offset != (offset_type ? 1u : 0u) || info.w8a8 != (w8a8 ? 1u : 0u)) {
    Fatal("quant matrix get_info", "wrong properties");
  }
  const size_t weight_bytes = static_cast<size_t>(PackedBytes(scale_type, static_cast<uint64_t>(rows * cols)));

  const ProductChoice product = PickProduct(in, large, cols, 3);
  const int32_t x_type = product.x_type;
  const int32_t y_type = product.y_type;
  const int64_t batch = product.batch;
  const bool rank1 = product.rank1;
  const int64_t x_shape[2] = {batch, cols};
  OwnedTensor x(in, x_type, rank1 ? 1 : 2, rank1 ? &cols : x_shape);
  Tame(in, x);
  const Threading th = PickThreading(in);

  const std::vector<Block> dense = CheckDecompress("quant matrix decompress", matrix, info, th);
  // The matrix decompresses to what constexpr_blockwise_shift_scale yields.
  Block op(weight_bytes);
  wk_buffer op_b{op.data(), op.n};
  if (wk_blockwise_shift_scale(&data.t, &scale.t, offset_t, &op_b, nullptr, nullptr) != WK_OK ||
      std::memcmp(op.data(), dense[0].data(), weight_bytes) != 0) {
    Fatal("quant matrix decompress", "differs from blockwise_shift_scale");
  }

  const size_t y_bytes = static_cast<size_t>(PackedBytes(y_type, static_cast<uint64_t>(batch * rows)));
  const Block fused = CheckProduct("quant matrix gemv", matrix, info, x.t, y_type, th, false);
  // Fused GEMV == dense GEMV over the decompressed weights, on every target and thread count.
  CheckDenseBaseline("quant matrix gemv", dense[0], info, x.t, y_type, fused, th);
  // GEMV operands: x of another length, a y buffer one element short.
  const int64_t wide_shape[2] = {batch, cols + 1};
  OwnedTensor wide_x(in, x_type, 2, wide_shape);
  ExpectFailure("quant_matrix_gemv x length", WK_ERROR_INVALID_SHAPE, {y_bytes}, [&](Block* o) {
    wk_buffer b{o[0].data(), o[0].n};
    return wk_matrix_gemv(matrix, &wide_x.t, &b, y_type, nullptr);
  });
  const size_t short_y = y_bytes - (y_type == WK_DTYPE_FP16 ? 2 : 4);
  ExpectFailure("quant_matrix_gemv short y", WK_ERROR_SIZE_MISMATCH, {short_y}, [&](Block* o) {
    wk_buffer b{o[0].data(), o[0].n};
    return wk_matrix_gemv(matrix, &x.t, &b, y_type, nullptr);
  });

  if (w8a8) {
    const size_t n = static_cast<size_t>(batch * rows);
    const Block out32 = CheckProduct("quant matrix gemv_w8a8", matrix, info, x.t, WK_DTYPE_FP32, th, true);
    const Block out16 = CheckProduct("quant matrix gemv_w8a8 fp16", matrix, info, x.t, WK_DTYPE_FP16, th, true);
    std::vector<float> xs(static_cast<size_t>(batch * cols));
    for (size_t i = 0; i < xs.size(); ++i) xs[i] = ValueOf(x_type, x.Raw(i));
    std::vector<float> scales(static_cast<size_t>(sr));
    for (size_t i = 0; i < scales.size(); ++i) scales[i] = ValueOf(scale_type, scale.Raw(i));
    const std::vector<uint32_t> want = W8A8Formula(reinterpret_cast<const int8_t*>(data.block.data()), rows, cols,
                                                   scales.data(), rows / sr, xs, batch);
    for (size_t i = 0; i < n; ++i) {
      float f;
      std::memcpy(&f, &want[i], 4);
      if (GetField(out32.data(), 32, i) != want[i]) Fatal("quant matrix gemv_w8a8", "differs from the documented formula");
      if (GetField(out16.data(), 16, i) != ToHalf(f)) Fatal("quant matrix gemv_w8a8", "fp16 y is not RN16 of the fp32 result");
    }
  } else {
    ExpectFailure("quant matrix gemv_w8a8 ineligible matrix", WK_ERROR_UNSUPPORTED, {y_bytes}, [&](Block* o) {
      wk_buffer b{o[0].data(), o[0].n};
      return wk_matrix_gemv_w8a8(matrix, &x.t, &b, y_type, nullptr);
    });
  }
  CheckMatrixErrors("quant matrix", matrix, info, x.t, y_type, data.block);
  wk_matrix_destroy(matrix);

  // Malformed descriptors: each must fail with its status and set *matrix (preset to a non-null
  // sentinel) to NULL.
  const auto expect_rejected = [&](const char* what, wk_status want, const wk_quant_matrix_desc& bad) {
    wk_matrix* m = reinterpret_cast<wk_matrix*>(&ctx);
    const wk_status got = wk_quant_matrix_create(&bad, &m, nullptr);
    if (got != want || m != nullptr) {
      std::fprintf(stderr, "MISMATCH: %s: status %s, expected %s\n", what, wk_status_name(got), wk_status_name(want));
      std::abort();
    }
  };
  OwnedTensor off_data(in, data_type, 2, dims, static_cast<int64_t>(data.block.n) + (in.Flip(2) ? 1 : -1));
  expect_rejected("data nbytes", WK_ERROR_SIZE_MISMATCH, {&off_data.t, &scale.t, offset_t});
  const int32_t not_quant[] = {WK_DTYPE_FP16, WK_DTYPE_FP32, WK_DTYPE_UINT2, WK_DTYPE_UINT1, WK_DTYPE_INT16};
  OwnedTensor float_data(in, not_quant[in.Below(5)], 2, dims);
  expect_rejected("data dtype", WK_ERROR_INVALID_DTYPE, {&float_data.t, &scale.t, nullptr});
  const int64_t flat = rows * cols;
  OwnedTensor flat_data(in, data_type, 1, &flat);
  OwnedTensor flat_scale(in, scale_type, 1, &sc);
  expect_rejected("rank-1 data", WK_ERROR_INVALID_SHAPE, {&flat_data.t, &flat_scale.t, nullptr});
  const int64_t bad_grid[2] = {in.Flip(2) ? rows + 1 : sr, cols + 1};
  OwnedTensor bad_scale(in, scale_type, 2, bad_grid);
  expect_rejected("scale extent", WK_ERROR_INVALID_SHAPE, {&data.t, &bad_scale.t, nullptr});
  OwnedTensor int_scale(in, in.Flip(2) ? WK_DTYPE_INT8 : WK_DTYPE_UINT8, 2, grid);
  expect_rejected("scale dtype", WK_ERROR_INVALID_DTYPE, {&data.t, &int_scale.t, nullptr});
  const int32_t other_int = data_type == WK_DTYPE_INT8 ? WK_DTYPE_UINT8 : WK_DTYPE_INT8;
  OwnedTensor other_offset(in, other_int, 2, grid);
  expect_rejected("offset dtype", WK_ERROR_INVALID_DTYPE, {&data.t, &scale.t, &other_offset.t});
  const int64_t other_grid[2] = {sr, sc + 1};
  OwnedTensor shaped_offset(in, WK_DTYPE_FP16, 2, other_grid);
  expect_rejected("offset shape", WK_ERROR_INVALID_SHAPE, {&data.t, &scale.t, &shaped_offset.t});
  OwnedTensor half_scale(in, WK_DTYPE_FP16, 2, grid);
  OwnedTensor fp32_offset(in, WK_DTYPE_FP32, 2, grid);
  expect_rejected("fp32 offset with fp16 scale", WK_ERROR_UNSUPPORTED, {&data.t, &half_scale.t, &fp32_offset.t});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  bool large = false;
  switch (PickCase(in, 5, 3, &large)) {
    case 0: FuzzAffine(in); break;
    case 1: FuzzShiftScale(in, /*sparse=*/false); break;
    case 2: FuzzShiftScale(in, /*sparse=*/true); break;
    default: FuzzMatrix(in, large); break;
  }
  return 0;
}
