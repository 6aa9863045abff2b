// libFuzzer target for the palettization entry points of the C ABI (run under ASan + UBSan by
// `make fuzz`). Every input is decoded into operands of fuzzer-chosen shapes, dtypes and bytes,
// valid or not, held in allocations of exactly their size so that any read or write out of
// bounds is caught. Valid calls are differential: each supported SIMD target must produce the
// same bytes as the portable EMU128 path; a matrix must give the same decompression and GEMV
// bytes with 2, 3, 7 or all threads (the library's pool or a lent parallel-for) as with one,
// give each batch row (batches up to 48 rows, ~80 for large matrices) as a batch-1 product
// would, and the fused GEMV must equal the GEMV of a dense matrix made from its decompressed
// weights (fuzz_support.h). A mismatch aborts, which libFuzzer records as a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "fuzz_support.h"
#include "include/weightkernels.h"

namespace {

using namespace wk_fuzz;

const int32_t kIndexTypes[] = {WK_DTYPE_UINT1, WK_DTYPE_UINT2, WK_DTYPE_UINT3,
                               WK_DTYPE_UINT4, WK_DTYPE_UINT6, WK_DTYPE_UINT8};
const int32_t kLutTypes[] = {WK_DTYPE_FP16, WK_DTYPE_FP32, WK_DTYPE_INT8, WK_DTYPE_UINT8};

int32_t PickDType(Input& in, const int32_t* usual, size_t n) {
  return in.Flip(16) ? static_cast<int32_t>(in.Below(20)) : usual[in.Below(static_cast<uint32_t>(n))];
}

// A byte count for a tensor of the given dtype and shape: usually right, sometimes off by one.
int64_t SloppyBytes(Input& in, int32_t dtype, uint32_t rank, const int64_t* shape) {
  const uint32_t bits = wk_dtype_bits(dtype) ? wk_dtype_bits(dtype) : 8;
  int64_t nbytes = static_cast<int64_t>((bits * Count(rank, shape) + 7) / 8);
  if (in.Flip(24)) nbytes = nbytes + 1;
  if (in.Flip(24) && nbytes > 0) nbytes = nbytes - 1;
  return nbytes;
}

// An operand whose byte count may be wrong (SloppyBytes).
OwnedTensor Sloppy(Input& in, int32_t dtype, uint32_t rank, const int64_t* shape) {
  const int64_t nbytes = SloppyBytes(in, dtype, rank, shape);
  return OwnedTensor(in, dtype, rank, shape, nbytes);
}

void FuzzLutToDenseIOS18(Input& in) {
  const uint32_t rank = 1 + in.Below(4);
  int64_t dims[WK_MAX_RANK];
  uint64_t count = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    dims[d] = in.Flip(32) ? 0 : 1 + in.Below(count > 512 ? 2 : 23);
    count *= static_cast<uint64_t>(dims[d]);
  }
  const int32_t index_type = PickDType(in, kIndexTypes, 6);
  const uint32_t nbits = wk_dtype_bits(index_type);
  int64_t lut_shape[WK_MAX_RANK];
  for (uint32_t d = 0; d < rank; ++d) {
    // A divisor of the extent most of the time, anything small otherwise.
    const int64_t g = 1 + in.Below(4);
    lut_shape[d] = in.Flip(8) ? g : (dims[d] % g == 0 ? g : 1);
  }
  lut_shape[rank] = in.Flip(16) ? 1 + in.Below(300) : (int64_t{1} << (nbits && nbits <= 8 ? nbits : 1));
  lut_shape[rank + 1] = in.Flip(3) ? 1 + in.Below(4) : 1;
  const int32_t lut_type = PickDType(in, kLutTypes, 4);
  const uint32_t lut_rank = in.Flip(32) ? rank + 1 : rank + 2;
  OwnedTensor indices = Sloppy(in, index_type, rank, dims);
  OwnedTensor lut = Sloppy(in, lut_type, lut_rank, lut_shape);
  int32_t axis = static_cast<int32_t>(in.Below(2 * rank + 2)) - static_cast<int32_t>(rank) - 1;
  const int32_t* vector_axis = in.Flip(3) ? nullptr : &axis;

  wk_tensor_info info;
  if (wk_lut_to_dense_ios18(&indices.t, &lut.t, vector_axis, nullptr, &info, nullptr) != WK_OK) {
    return;
  }
  Differential("lut_to_dense_ios18", {info.nbytes}, [&](wk_context* ctx, Block* out) {
    wk_buffer b{out[0].data(), out[0].n};
    return wk_lut_to_dense_ios18(&indices.t, &lut.t, vector_axis, &b, nullptr, ctx);
  });
}

void FuzzLutToDenseIOS16(Input& in) {
  const uint32_t rank = 1 + in.Below(3);
  uint32_t shape_values[WK_MAX_RANK];
  uint64_t count = 1;
  for (uint32_t d = 0; d < rank; ++d) {
    shape_values[d] = in.Below(count > 512 ? 3 : 29);
    count *= shape_values[d];
  }
  const uint32_t lut_sizes[] = {2, 4, 16, 64, 256, 8, 3};
  const int64_t p = lut_sizes[in.Below(7)];
  uint32_t nbits = 0;
  while ((int64_t{1} << nbits) < p) ++nbits;
  const int64_t index_bytes = static_cast<int64_t>((count * nbits + 7) / 8) + (in.Flip(16) ? 1 : 0);
  OwnedTensor indices = Sloppy(in, in.Flip(16) ? WK_DTYPE_UINT4 : WK_DTYPE_UINT8, 1, &index_bytes);
  OwnedTensor lut = Sloppy(in, PickDType(in, kLutTypes, 4), 1, &p);
  const int64_t shape_len = rank;
  Block shape_block(4 * rank);
  std::memcpy(shape_block.data(), shape_values, 4 * rank);
  wk_tensor shape{shape_block.data(), 4 * rank, WK_DTYPE_UINT32, 1, {shape_len}};
  wk_tensor_info info;
  if (wk_lut_to_dense_ios16(&indices.t, &lut.t, &shape, nullptr, &info, nullptr) != WK_OK) return;
  Differential("lut_to_dense_ios16", {info.nbytes}, [&](wk_context* ctx, Block* out) {
    wk_buffer b{out[0].data(), out[0].n};
    return wk_lut_to_dense_ios16(&indices.t, &lut.t, &shape, &b, nullptr, ctx);
  });
}

void FuzzMatrix(Input& in, bool large) {
  const int64_t rows = large ? LargeRows(in) : 1 + in.Below(40);
  const int64_t cols = large ? LargeCols(in) : 1 + in.Below(80);
  const int64_t dims[2] = {rows, cols};
  const int32_t index_type = PickDType(in, kIndexTypes, 6);
  const uint32_t nbits = wk_dtype_bits(index_type) ? wk_dtype_bits(index_type) : 1;
  const uint32_t entry_bits = nbits <= 8 ? nbits : 1;
  const int64_t gr = rows % 2 == 0 && in.Flip(2) ? 2 : 1;
  const int64_t gc_choices[] = {1, cols % 16 == 0 ? cols / 16 : 1, cols % 3 == 0 ? 3 : 1, cols};
  int64_t gc = gc_choices[in.Below(4)];
  if ((gr * gc) << entry_bits > 65536) gc = 1;  // at most 64 K LUT entries (large matrices)
  const int64_t lut_shape[4] = {gr, gc, int64_t{1} << entry_bits, 1};
  const int32_t lut_type = PickDType(in, kLutTypes, 4);
  OwnedTensor indices = Sloppy(in, index_type, 2, dims);
  OwnedTensor lut = Sloppy(in, lut_type, 4, lut_shape);
  const int32_t scale_type = in.Flip(2) ? WK_DTYPE_FP16 : WK_DTYPE_FP32;
  // Per-channel scale after the LUT ([1, cols] or [rows, 1]) or on the LUT ([gr, gc, 1, 1]).
  const int64_t post_shape[2] = {in.Flip(2) ? 1 : rows, in.Flip(2) ? 1 : cols};
  const int64_t lut_scale_shape[4] = {gr, gc, in.Flip(4) ? lut_shape[2] : 1, 1};
  OwnedTensor post_scale = Sloppy(in, scale_type, 2, post_shape);
  OwnedTensor lut_scale = Sloppy(in, scale_type, 4, lut_scale_shape);
  OwnedTensor lut_offset = Sloppy(in, lut_type, 4, lut_scale_shape);
  const uint32_t chain = in.Below(4);
  wk_lut_matrix_desc desc{&indices.t, &lut.t, chain == 2 || chain == 3 ? &lut_scale.t : nullptr,
                          chain == 3 ? &lut_offset.t : nullptr, chain == 1 ? &post_scale.t : nullptr};
  wk_context ctx;
  wk_context_init(&ctx);
  // A failing create sets *matrix (preset to a non-null sentinel) to NULL.
  wk_matrix* matrix = reinterpret_cast<wk_matrix*>(&ctx);
  {
    // LUT and scales are copied at create: these copies are freed before the matrix is used.
    const CopiedTensor lut_copy(desc.lut), lut_scale_copy(desc.lut_scale),
        lut_offset_copy(desc.lut_offset), scale_copy(desc.scale);
    const wk_lut_matrix_desc copied{desc.indices, lut_copy.get(desc.lut),
                                    lut_scale_copy.get(desc.lut_scale),
                                    lut_offset_copy.get(desc.lut_offset), scale_copy.get(desc.scale)};
    if (wk_lut_matrix_create(&copied, &matrix, &ctx) != WK_OK) {
      if (matrix != nullptr) Fatal("lut_matrix_create", "a failing create left *matrix set");
      return;
    }
  }
  wk_matrix_info info;
  const uint64_t compressed = indices.block.n + lut.block.n + (desc.lut_scale ? lut_scale.block.n : 0) +
                              (desc.lut_offset ? lut_offset.block.n : 0) + (desc.scale ? post_scale.block.n : 0);
  if (wk_matrix_get_info(matrix, &info) != WK_OK || info.format != WK_FORMAT_PALETTIZED || info.rows != rows ||
      info.cols != cols || info.value_dtype != index_type || info.nbits != nbits || info.nonzeros != rows * cols ||
      info.has_lut != 1 || info.has_scale != (chain != 0) || info.has_offset != (chain == 3) || info.w8a8 != 0 ||
      (info.weight_dtype != WK_DTYPE_FP16 && info.weight_dtype != WK_DTYPE_FP32) ||
      info.compressed_bytes != compressed) {
    Fatal("lut matrix get_info", "wrong properties");
  }

  const int64_t forward_batch = 1 + in.Below(2);
  const int32_t x_type = in.Flip(2) ? WK_DTYPE_FP16 : WK_DTYPE_FP32;
  const int32_t y_type = in.Flip(2) ? WK_DTYPE_FP16 : WK_DTYPE_FP32;
  const int64_t batch = PickBatch(in, large, cols, forward_batch);
  const bool rank1 = batch == 1 && in.TailBelow(2) == 0;
  const int64_t x_shape[2] = {batch, cols};
  OwnedTensor x(in, x_type, rank1 ? 1 : 2, rank1 ? &cols : x_shape);
  const Threading th = PickThreading(in);

  const std::vector<Block> weights = CheckDecompress("lut matrix decompress", matrix, info, th);
  const Block fused = CheckProduct("lut matrix gemv", matrix, info, x.t, y_type, th, false);
  // Fused GEMV == dense GEMV over the decompressed weights, bit for bit.
  CheckDenseBaseline("lut matrix gemv", weights[0], info, x.t, y_type, fused, th);
  CheckMatrixErrors("lut matrix", matrix, info, x.t, y_type, indices.block);
  wk_matrix_destroy(matrix);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Input in(data, size);
  bool large = false;
  switch (PickCase(in, 3, 2, &large)) {
    case 0: FuzzLutToDenseIOS18(in); break;
    case 1: FuzzLutToDenseIOS16(in); break;
    default: FuzzMatrix(in, large); break;
  }
  return 0;
}
