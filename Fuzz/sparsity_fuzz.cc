// libFuzzer target for the sparsity entry points of the C ABI (run under ASan + UBSan by
// `make fuzz`): constexpr_sparse_to_dense (iOS16, iOS18), constexpr_lut_to_sparse and sparse /
// sparse + palettized / sparse + quantized matrices. Every input is decoded into operands of
// fuzzer-chosen shapes, dtypes, densities and bytes, held in allocations of exactly their size,
// so that the unchecked fast paths (16-byte value groups, 4-byte mask words) are caught if they
// read out of bounds. Valid calls are differential: each supported SIMD target must produce the
// same bytes as the portable EMU128 path; a matrix must decompress to what the op chain yields,
// give the same decompression and GEMV bytes with 2, 3, 7 or all threads (the library's pool or
// a lent parallel-for) as with one, give each batch row (batches up to 48 rows, ~80 for large
// matrices) as a batch-1 product would, and its fused GEMV must equal the GEMV of a dense
// matrix made from those weights (fuzz_support.h). Malformed descriptors (wrong popcount, wrong
// nbytes, vector or integer LUTs) must fail with their documented status and write nothing.
// A mismatch aborts, which libFuzzer records as a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz_support.h"
#include "include/weightkernels.h"

namespace {

using namespace wk_fuzz;

uint64_t OnesBetween(const uint8_t* p, uint64_t begin, uint64_t end) {
  uint64_t ones = 0;
  for (uint64_t i = begin; i < end; ++i) ones += (p[i >> 3] >> (i & 7)) & 1u;
  return ones;
}

// Mask bits with a fuzzer-chosen density: raw bytes (~1/2), none, all, ~1/4, ~3/4, or every
// third row of `row_bits` cleared. Padding bits keep their random bytes.
void ShapeMask(Input& in, uint8_t* p, size_t nbytes, uint64_t count, uint64_t row_bits) {
  const uint32_t mode = in.Below(6);
  for (size_t i = 0; i < nbytes; ++i) {
    const uint8_t rotated = static_cast<uint8_t>((p[i] << 3) | (p[i] >> 5));
    switch (mode) {
      case 1: p[i] = 0; break;
      case 2: p[i] = 0xFF; break;
      case 3: p[i] &= rotated; break;
      case 4: p[i] |= rotated; break;
      default: break;
    }
  }
  if (mode == 5 && row_bits > 0) {
    for (uint64_t i = 0; i < count; ++i) {
      if ((i / row_bits) % 3 == 0) p[i >> 3] &= static_cast<uint8_t>(~(1u << (i & 7)));
    }
  }
}

const int32_t kIOS18DataTypes[] = {WK_DTYPE_FP16, WK_DTYPE_FP32, WK_DTYPE_INT8,
                                   WK_DTYPE_UINT8, WK_DTYPE_INT4, WK_DTYPE_UINT4};
const int32_t kIndexTypes[] = {WK_DTYPE_UINT1, WK_DTYPE_UINT2, WK_DTYPE_UINT3,
                               WK_DTYPE_UINT4, WK_DTYPE_UINT6, WK_DTYPE_UINT8};
const int32_t kLutTypes[] = {WK_DTYPE_FP16, WK_DTYPE_FP32, WK_DTYPE_INT8, WK_DTYPE_UINT8};
const int32_t kQuantTypes[] = {WK_DTYPE_INT4, WK_DTYPE_UINT4, WK_DTYPE_INT8, WK_DTYPE_UINT8};

// Shape of rank 0..max_rank (1..max_rank when min_rank is 1), sometimes with a zero extent.
uint32_t PickShape(Input& in, uint32_t min_rank, uint32_t max_rank, int64_t* dims) {
  const uint32_t rank = min_rank + in.Below(max_rank - min_rank + 1);
  uint64_t count = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    dims[d] = in.Flip(40) ? 0 : 1 + in.Below(count > 256 ? 3 : (in.Flip(4) ? 300 : 40));
    count *= static_cast<uint64_t>(dims[d]);
  }
  return rank;
}

void FuzzSparseToDenseIOS18(Input& in) {
  int64_t dims[WK_MAX_RANK];
  const uint32_t rank = PickShape(in, 0, 4, dims);
  const uint64_t count = Count(rank, dims);
  OwnedTensor mask(in, WK_DTYPE_UINT1, rank, dims);
  ShapeMask(in, mask.block.data(), mask.block.n, count, rank ? static_cast<uint64_t>(dims[rank - 1]) : 1);
  const int64_t ones = static_cast<int64_t>(OnesBetween(mask.block.data(), 0, count));
  const int32_t dtype = kIOS18DataTypes[in.Below(6)];
  OwnedTensor data(in, dtype, 1, &ones);

  wk_tensor_info info;
  if (wk_sparse_to_dense_ios18(&data.t, &mask.t, nullptr, &info, nullptr) != WK_OK) {
    Fatal("sparse_to_dense_ios18", "a valid call was rejected");
  }
  if (info.dtype != dtype || info.nbytes != PackedBytes(dtype, count)) {
    Fatal("sparse_to_dense_ios18", "wrong output info");
  }
  Differential("sparse_to_dense_ios18", {info.nbytes}, [&](wk_context* ctx, Block* out) {
    wk_buffer b{out[0].data(), out[0].n};
    return wk_sparse_to_dense_ios18(&data.t, &mask.t, &b, nullptr, ctx);
  });

  // Malformed: one value more or fewer than the mask's ones; a data or mask byte count off by one.
  const int64_t wrong = in.Flip(2) || ones == 0 ? ones + 1 : ones - 1;
  OwnedTensor bad_data(in, dtype, 1, &wrong);
  ExpectFailure("sparse_to_dense_ios18 wrong popcount", WK_ERROR_INVALID_SHAPE, {info.nbytes}, [&](Block* out) {
    wk_buffer b{out[0].data(), out[0].n};
    return wk_sparse_to_dense_ios18(&bad_data.t, &mask.t, &b, nullptr, nullptr);
  });
  const bool on_mask = in.Flip(2);
  const wk_tensor& base = on_mask ? mask.t : data.t;
  OwnedTensor off(in, base.dtype, base.rank, base.shape,
                  static_cast<int64_t>(base.nbytes) + (base.nbytes == 0 || in.Flip(2) ? 1 : -1));
  ExpectFailure("sparse_to_dense_ios18 wrong nbytes", WK_ERROR_SIZE_MISMATCH, {info.nbytes}, [&](Block* out) {
    wk_buffer b{out[0].data(), out[0].n};
    return on_mask ? wk_sparse_to_dense_ios18(&data.t, &off.t, &b, nullptr, nullptr)
                   : wk_sparse_to_dense_ios18(&off.t, &mask.t, &b, nullptr, nullptr);
  });
}

void FuzzSparseToDenseIOS16(Input& in) {
  int64_t dims[WK_MAX_RANK];
  const uint32_t rank = PickShape(in, 0, 3, dims);
  const uint64_t count = Count(rank, dims);
  const int64_t mask_bytes = static_cast<int64_t>((count + 7) / 8);
  OwnedTensor mask(in, WK_DTYPE_UINT8, 1, &mask_bytes);
  ShapeMask(in, mask.block.data(), mask.block.n, count, rank ? static_cast<uint64_t>(dims[rank - 1]) : 1);
  const bool dirty = count % 8 != 0 && in.Flip(4);
  if (count % 8 != 0) {
    const uint8_t padding = static_cast<uint8_t>(0xFFu << (count % 8));
    uint8_t& last = mask.block.data()[mask.block.n - 1];
    last = dirty ? (last | static_cast<uint8_t>(padding & (0x80u >> in.Below(8 - count % 8)))) : (last & ~padding);
  }
  // Core ML counts every mask byte, padding included.
  const int64_t ones = static_cast<int64_t>(OnesBetween(mask.block.data(), 0, 8 * mask.block.n));
  const int32_t dtype = kIOS18DataTypes[in.Below(4)];
  OwnedTensor data(in, dtype, 1, &ones);
  uint32_t extents[WK_MAX_RANK];
  for (uint32_t d = 0; d < rank; ++d) extents[d] = static_cast<uint32_t>(dims[d]);
  const int64_t k = rank;
  Block shape_block(4 * rank);
  if (rank) std::memcpy(shape_block.data(), extents, 4 * rank);
  const wk_tensor shape{shape_block.data(), 4 * rank, WK_DTYPE_UINT32, 1, {k}};
  const size_t out_bytes = static_cast<size_t>(PackedBytes(dtype, count));

  if (dirty) {
    ExpectFailure("sparse_to_dense_ios16 padding bit set", WK_ERROR_INVALID_ARGUMENT, {out_bytes}, [&](Block* out) {
      wk_buffer b{out[0].data(), out[0].n};
      return wk_sparse_to_dense_ios16(&data.t, &mask.t, &shape, &b, nullptr, nullptr);
    });
    // Counting only the N elements' ones fails the popcount check, which comes first.
    const int64_t valid_ones = static_cast<int64_t>(OnesBetween(mask.block.data(), 0, count));
    OwnedTensor fewer(in, dtype, 1, &valid_ones);
    ExpectFailure("sparse_to_dense_ios16 popcount first", WK_ERROR_INVALID_SHAPE, {out_bytes}, [&](Block* out) {
      wk_buffer b{out[0].data(), out[0].n};
      return wk_sparse_to_dense_ios16(&fewer.t, &mask.t, &shape, &b, nullptr, nullptr);
    });
    return;
  }
  wk_tensor_info info;
  if (wk_sparse_to_dense_ios16(&data.t, &mask.t, &shape, nullptr, &info, nullptr) != WK_OK ||
      info.nbytes != out_bytes) {
    Fatal("sparse_to_dense_ios16", "a valid call was rejected or its info is wrong");
  }
  const std::vector<Block> expected = Differential("sparse_to_dense_ios16", {out_bytes}, [&](wk_context* ctx, Block* out) {
    wk_buffer b{out[0].data(), out[0].n};
    return wk_sparse_to_dense_ios16(&data.t, &mask.t, &shape, &b, nullptr, ctx);
  });
  // The iOS16 mask bytes are the iOS18 uint1 stream.
  wk_tensor mask18{mask.t.data, mask.t.nbytes, WK_DTYPE_UINT1, rank, {}};
  for (uint32_t d = 0; d < rank; ++d) mask18.shape[d] = dims[d];
  Block dense18(out_bytes);
  wk_buffer b18{dense18.data(), dense18.n};
  if (wk_sparse_to_dense_ios18(&data.t, &mask18, &b18, nullptr, nullptr) != WK_OK ||
      (out_bytes && std::memcmp(dense18.data(), expected[0].data(), out_bytes) != 0)) {
    Fatal("sparse_to_dense_ios16", "differs from iOS18 on the same stream");
  }

  // Malformed: a mask byte too many (popcount unchanged), a value too many.
  const int64_t longer = mask_bytes + 1;
  OwnedTensor long_mask(in, WK_DTYPE_UINT8, 1, &longer);
  if (mask_bytes) std::memcpy(long_mask.block.data(), mask.block.data(), static_cast<size_t>(mask_bytes));
  long_mask.block.data()[mask_bytes] = 0;
  ExpectFailure("sparse_to_dense_ios16 mask length", WK_ERROR_INVALID_SHAPE, {out_bytes}, [&](Block* out) {
    wk_buffer b{out[0].data(), out[0].n};
    return wk_sparse_to_dense_ios16(&data.t, &long_mask.t, &shape, &b, nullptr, nullptr);
  });
  const int64_t more = ones + 1;
  OwnedTensor more_data(in, dtype, 1, &more);
  ExpectFailure("sparse_to_dense_ios16 wrong popcount", WK_ERROR_INVALID_SHAPE, {out_bytes}, [&](Block* out) {
    wk_buffer b{out[0].data(), out[0].n};
    return wk_sparse_to_dense_ios16(&more_data.t, &mask.t, &shape, &b, nullptr, nullptr);
  });
}

// A group count along an axis of `extent`: 1, a fuzzer-chosen divisor, or the extent.
int64_t PickGroups(Input& in, int64_t extent) {
  switch (in.Below(4)) {
    case 0: {
      const int64_t g = 1 + in.Below(static_cast<uint32_t>(extent > 0 ? extent : 1));
      return extent % g == 0 ? g : 1;
    }
    case 1: return extent > 0 ? extent : 1;
    default: return 1;
  }
}

void FuzzLutToSparse(Input& in) {
  int64_t dims[WK_MAX_RANK];
  const uint32_t rank = PickShape(in, 1, 3, dims);
  const uint64_t count = Count(rank, dims);
  const int32_t index_type = kIndexTypes[in.Below(6)];
  const uint32_t nbits = wk_dtype_bits(index_type);
  int64_t lut_shape[WK_MAX_RANK];
  uint64_t tables = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    const int64_t g = PickGroups(in, dims[d]);
    lut_shape[d] = tables * static_cast<uint64_t>(g) > 64 ? 1 : g;
    tables *= static_cast<uint64_t>(lut_shape[d]);
  }
  lut_shape[rank] = int64_t{1} << nbits;
  lut_shape[rank + 1] = in.Flip(3) ? 2 + in.Below(3) : 1;
  int32_t axis = static_cast<int32_t>(in.Below(2 * rank)) - static_cast<int32_t>(rank);
  const int32_t* vector_axis = lut_shape[rank + 1] == 1 && in.Flip(2) ? nullptr : &axis;
  const int32_t lut_type = kLutTypes[in.Below(4)];

  OwnedTensor mask(in, WK_DTYPE_UINT1, rank, dims);
  ShapeMask(in, mask.block.data(), mask.block.n, count, static_cast<uint64_t>(dims[rank - 1]));
  const int64_t ones = static_cast<int64_t>(OnesBetween(mask.block.data(), 0, count));
  OwnedTensor indices(in, index_type, 1, &ones);
  OwnedTensor lut(in, lut_type, rank + 2, lut_shape);

  wk_tensor_info mask_info;
  wk_tensor_info values_info;
  if (wk_lut_to_sparse(&mask.t, &indices.t, &lut.t, vector_axis, nullptr, nullptr, &mask_info,
                       &values_info, nullptr) != WK_OK) {
    Fatal("lut_to_sparse", "a valid call was rejected");
  }
  const std::vector<Block> outs = Differential(
      "lut_to_sparse", {mask_info.nbytes, values_info.nbytes}, [&](wk_context* ctx, Block* out) {
        wk_buffer m{out[0].data(), out[0].n};
        wk_buffer v{out[1].data(), out[1].n};
        return wk_lut_to_sparse(&mask.t, &indices.t, &lut.t, vector_axis, &m, &v, nullptr, nullptr, ctx);
      });
  // Both outputs feed sparse_to_dense: the output mask has exactly D * V ones.
  wk_tensor out_mask{outs[0].data(), outs[0].n, WK_DTYPE_UINT1, mask_info.rank, {}};
  const wk_tensor out_values{outs[1].data(), outs[1].n, lut_type, 1, {values_info.shape[0]}};
  for (uint32_t d = 0; d < mask_info.rank; ++d) out_mask.shape[d] = mask_info.shape[d];
  wk_tensor_info dense_info;
  if (wk_sparse_to_dense_ios18(&out_values, &out_mask, nullptr, &dense_info, nullptr) != WK_OK) {
    Fatal("lut_to_sparse", "its outputs are not a valid sparse_to_dense");
  }
  Differential("lut_to_sparse -> sparse_to_dense", {dense_info.nbytes}, [&](wk_context* ctx, Block* out) {
    wk_buffer b{out[0].data(), out[0].n};
    return wk_sparse_to_dense_ios18(&out_values, &out_mask, &b, nullptr, ctx);
  });

  // Malformed: one index more or fewer than the mask's ones; the indices' byte count off by one.
  const int64_t wrong = in.Flip(2) || ones == 0 ? ones + 1 : ones - 1;
  OwnedTensor bad(in, index_type, 1, &wrong);
  OwnedTensor off(in, index_type, 1, &ones, static_cast<int64_t>(indices.block.n) + 1);
  for (const OwnedTensor* idx : {&bad, &off}) {
    ExpectFailure(idx == &bad ? "lut_to_sparse wrong popcount" : "lut_to_sparse wrong nbytes",
                  idx == &bad ? WK_ERROR_INVALID_SHAPE : WK_ERROR_SIZE_MISMATCH,
                  {mask_info.nbytes, values_info.nbytes}, [&](Block* out) {
                    wk_buffer m{out[0].data(), out[0].n};
                    wk_buffer v{out[1].data(), out[1].n};
                    return wk_lut_to_sparse(&mask.t, &idx->t, &lut.t, vector_axis, &m, &v, nullptr,
                                            nullptr, nullptr);
                  });
  }
}

void FuzzMatrix(Input& in, bool large) {
  const int64_t rows = large ? LargeRows(in) : 1 + in.Below(in.Flip(8) ? 8 : 40);
  const int64_t cols = large ? LargeCols(in) : 1 + in.Below(in.Flip(4) ? 400 : 80);
  const int64_t dims[2] = {rows, cols};
  const uint64_t count = static_cast<uint64_t>(rows * cols);
  OwnedTensor mask(in, WK_DTYPE_UINT1, 2, dims);
  ShapeMask(in, mask.block.data(), mask.block.n, count, static_cast<uint64_t>(cols));
  const int64_t ones = static_cast<int64_t>(OnesBetween(mask.block.data(), 0, count));

  const uint32_t kind = in.Below(3);
  const bool palettized = kind == 1;
  const bool quantized = kind == 2;
  const int32_t weight_type = in.Flip(2) ? WK_DTYPE_FP16 : WK_DTYPE_FP32;
  const int32_t index_type = kIndexTypes[in.Below(6)];
  const uint32_t nbits = wk_dtype_bits(index_type);
  int64_t gr = PickGroups(in, rows);
  int64_t gc = PickGroups(in, cols);
  // At most 16384 LUT entries.
  if (gr * gc << nbits > 16384) gc = 1;
  if (gr << nbits > 16384) gr = 1;
  const int64_t lut_shape[4] = {gr, gc, int64_t{1} << nbits, 1};
  // Quantized: integer values; a scale grid [Sr, Sc]; no, integer, fp16 or (fp32 scale) fp32
  // offset.
  const int32_t quant_type = kQuantTypes[in.Below(4)];
  const int64_t scale_shape[2] = {PickGroups(in, rows), PickGroups(in, cols)};
  const uint32_t offset_kind = in.Below(4);
  const int32_t offset_type = offset_kind == 1   ? quant_type
                              : offset_kind == 2 ? WK_DTYPE_FP16
                              : offset_kind == 3 && weight_type == WK_DTYPE_FP32 ? WK_DTYPE_FP32
                                                                                 : 0;
  const int32_t value_type = palettized ? index_type : quantized ? quant_type : weight_type;
  OwnedTensor values(in, value_type, 1, &ones);
  OwnedTensor lut(in, weight_type, 4, lut_shape);
  OwnedTensor scale(in, weight_type, 2, scale_shape);
  OwnedTensor offset(in, offset_type != 0 ? offset_type : WK_DTYPE_FP16, 2, scale_shape);
  const wk_tensor* offset_t = quantized && offset_type != 0 ? &offset.t : nullptr;
  wk_sparse_matrix_desc desc{&mask.t, &values.t, palettized ? &lut.t : nullptr,
                             quantized ? &scale.t : nullptr, offset_t};
  wk_matrix* matrix = nullptr;
  wk_context ctx;
  wk_context_init(&ctx);
  {
    // LUT, scale and offset are copied at create: these copies are freed before the matrix is
    // used.
    const CopiedTensor lut_copy(desc.lut), scale_copy(desc.scale), offset_copy(desc.offset);
    const wk_sparse_matrix_desc copied{desc.mask, desc.values, lut_copy.get(desc.lut),
                                       scale_copy.get(desc.scale), offset_copy.get(desc.offset)};
    if (wk_sparse_matrix_create(&copied, &matrix, &ctx) != WK_OK) Fatal("sparse_matrix_create", ctx.message);
  }
  wk_matrix_info info;
  const uint64_t compressed = mask.block.n + values.block.n + (palettized ? lut.block.n : 0) +
                              (quantized ? scale.block.n + (offset_t ? offset.block.n : 0) : 0);
  if (wk_matrix_get_info(matrix, &info) != WK_OK || info.format != WK_FORMAT_SPARSE || info.rows != rows ||
      info.cols != cols || info.nonzeros != ones || info.nbits != (palettized ? nbits : 0) ||
      info.value_dtype != value_type || info.weight_dtype != weight_type || info.compressed_bytes != compressed ||
      info.has_lut != (palettized ? 1u : 0u) || info.has_scale != (quantized ? 1u : 0u) ||
      info.has_offset != (offset_t != nullptr ? 1u : 0u) || info.w8a8 != 0) {
    Fatal("sparse matrix get_info", "wrong properties");
  }
  const size_t weight_bytes = static_cast<size_t>(PackedBytes(weight_type, count));

  const ProductChoice product = PickProduct(in, large, cols, 3);
  const int32_t x_type = product.x_type;
  const int32_t y_type = product.y_type;
  const int64_t batch = product.batch;
  const bool rank1 = product.rank1;
  const int64_t x_shape[2] = {batch, cols};
  OwnedTensor x(in, x_type, rank1 ? 1 : 2, rank1 ? &cols : x_shape);
  const Threading th = PickThreading(in);

  const std::vector<Block> dense = CheckDecompress("sparse matrix decompress", matrix, info, th);

  // The matrix decompresses to what the Core ML chain of ops yields.
  Block chain(weight_bytes);
  wk_buffer chain_buffer{chain.data(), chain.n};
  if (palettized) {
    wk_tensor_info mi;
    wk_tensor_info vi;
    if (wk_lut_to_sparse(&mask.t, &values.t, &lut.t, nullptr, nullptr, nullptr, &mi, &vi, nullptr) != WK_OK) {
      Fatal("lut_to_sparse", "rejected a valid matrix's operands");
    }
    Block m(mi.nbytes);
    Block v(vi.nbytes);
    wk_buffer mb{m.data(), m.n};
    wk_buffer vb{v.data(), v.n};
    const wk_tensor mt{m.data(), m.n, WK_DTYPE_UINT1, 2, {rows, cols}};
    const wk_tensor vt{v.data(), v.n, weight_type, 1, {ones}};
    if (wk_lut_to_sparse(&mask.t, &values.t, &lut.t, nullptr, &mb, &vb, nullptr, nullptr, nullptr) != WK_OK ||
        wk_sparse_to_dense_ios18(&vt, &mt, &chain_buffer, nullptr, nullptr) != WK_OK) {
      Fatal("lut_to_sparse -> sparse_to_dense", "rejected a valid matrix's operands");
    }
  } else if (quantized) {
    // As coremltools saves it: the original mask feeds sparse_to_dense.
    Block m(mask.block.n);
    Block v(static_cast<size_t>(PackedBytes(weight_type, static_cast<uint64_t>(ones))));
    wk_buffer mb{m.data(), m.n};
    wk_buffer vb{v.data(), v.n};
    const wk_tensor vt{v.data(), v.n, weight_type, 1, {ones}};
    if (wk_sparse_blockwise_shift_scale(&mask.t, &values.t, &scale.t, offset_t, &mb, &vb, nullptr,
                                        nullptr, nullptr) != WK_OK ||
        wk_sparse_to_dense_ios18(&vt, &mask.t, &chain_buffer, nullptr, nullptr) != WK_OK) {
      Fatal("sparse_blockwise_shift_scale -> sparse_to_dense", "rejected a valid matrix's operands");
    }
  } else if (wk_sparse_to_dense_ios18(&values.t, &mask.t, &chain_buffer, nullptr, nullptr) != WK_OK) {
    Fatal("sparse_to_dense_ios18", "rejected a valid matrix's operands");
  }
  if (weight_bytes && std::memcmp(chain.data(), dense[0].data(), weight_bytes) != 0) {
    Fatal("sparse matrix decompress", "differs from the op chain");
  }

  const Block fused = CheckProduct("sparse matrix gemv", matrix, info, x.t, y_type, th, false);
  // Fused GEMV == dense GEMV over the decompressed weights, on every target and thread count.
  CheckDenseBaseline("sparse matrix gemv", dense[0], info, x.t, y_type, fused, th);
  CheckMatrixErrors("sparse matrix (mask)", matrix, info, x.t, y_type, mask.block);
  CheckMatrixErrors("sparse matrix (values)", matrix, info, x.t, y_type, values.block);
  wk_matrix_destroy(matrix);

  // Malformed descriptors: each must fail with its status and set *matrix (preset to a non-null
  // sentinel) to NULL.
  const auto expect_rejected = [&](const char* what, wk_status want, const wk_sparse_matrix_desc& bad) {
    wk_matrix* m = reinterpret_cast<wk_matrix*>(&ctx);
    const wk_status got = wk_sparse_matrix_create(&bad, &m, nullptr);
    if (got != want || m != nullptr) {
      std::fprintf(stderr, "MISMATCH: %s: status %s, expected %s\n", what, wk_status_name(got), wk_status_name(want));
      std::abort();
    }
  };
  const int64_t wrong = in.Flip(2) || ones == 0 ? ones + 1 : ones - 1;
  OwnedTensor bad_values(in, values.t.dtype, 1, &wrong);
  expect_rejected("wrong popcount", WK_ERROR_INVALID_SHAPE, {&mask.t, &bad_values.t, desc.lut, desc.scale, desc.offset});
  OwnedTensor off_mask(in, WK_DTYPE_UINT1, 2, dims, static_cast<int64_t>(mask.block.n) + (in.Flip(2) ? 1 : -1));
  expect_rejected("mask nbytes", WK_ERROR_SIZE_MISMATCH, {&off_mask.t, &values.t, desc.lut, desc.scale, desc.offset});
  OwnedTensor off_values(in, values.t.dtype, 1, &ones, static_cast<int64_t>(values.block.n) + (values.block.n == 0 || in.Flip(2) ? 1 : -1));
  expect_rejected("values nbytes", WK_ERROR_SIZE_MISMATCH, {&mask.t, &off_values.t, desc.lut, desc.scale, desc.offset});
  if (quantized) {
    OwnedTensor off_scale(in, weight_type, 2, scale_shape, static_cast<int64_t>(scale.block.n) + (in.Flip(2) ? 1 : -1));
    expect_rejected("scale nbytes", WK_ERROR_SIZE_MISMATCH, {&mask.t, &values.t, nullptr, &off_scale.t, offset_t});
    const int64_t uneven[2] = {scale_shape[0], cols + 1};
    OwnedTensor uneven_scale(in, weight_type, 2, uneven);
    expect_rejected("scale grid not dividing", WK_ERROR_INVALID_SHAPE, {&mask.t, &values.t, nullptr, &uneven_scale.t, nullptr});
    expect_rejected("offset without scale", WK_ERROR_INVALID_ARGUMENT, {&mask.t, &values.t, nullptr, nullptr, &offset.t});
    expect_rejected("lut and scale", WK_ERROR_UNSUPPORTED, {&mask.t, &values.t, &lut.t, &scale.t, nullptr});
    OwnedTensor float_values(in, weight_type, 1, &ones);
    expect_rejected("float values with a scale", WK_ERROR_INVALID_DTYPE, {&mask.t, &float_values.t, nullptr, &scale.t, nullptr});
    if (weight_type == WK_DTYPE_FP16) {
      OwnedTensor f32_offset(in, WK_DTYPE_FP32, 2, scale_shape);
      expect_rejected("fp32 offset, fp16 scale", WK_ERROR_UNSUPPORTED, {&mask.t, &values.t, nullptr, &scale.t, &f32_offset.t});
    }
  }
  if (palettized) {
    OwnedTensor off_lut(in, weight_type, 4, lut_shape, static_cast<int64_t>(lut.block.n) + (in.Flip(2) ? 1 : -1));
    expect_rejected("lut nbytes", WK_ERROR_SIZE_MISMATCH, {&mask.t, &values.t, &off_lut.t, nullptr, nullptr});
    const int64_t vector_shape[4] = {gr, gc, lut_shape[2], 2 + in.Below(3)};
    OwnedTensor vector_lut(in, weight_type, 4, vector_shape);
    expect_rejected("vector lut", WK_ERROR_UNSUPPORTED, {&mask.t, &values.t, &vector_lut.t, nullptr, nullptr});
    OwnedTensor int_lut(in, in.Flip(2) ? WK_DTYPE_INT8 : WK_DTYPE_UINT8, 4, lut_shape);
    expect_rejected("integer lut", WK_ERROR_INVALID_DTYPE, {&mask.t, &values.t, &int_lut.t, nullptr, nullptr});
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  bool large = false;
  switch (PickCase(in, 5, 3, &large)) {
    case 0: FuzzSparseToDenseIOS18(in); break;
    case 1: FuzzSparseToDenseIOS16(in); break;
    case 2: FuzzLutToSparse(in); break;
    default: FuzzMatrix(in, large); break;
  }
  return 0;
}
