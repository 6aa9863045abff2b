// C ABI for sparsity: constexpr_sparse_to_dense (iOS16 and iOS18, FORMATS.md §4, §7.2),
// constexpr_lut_to_sparse (§7.4), and prepared sparse / sparse + palettized matrices for the
// fused GEMV.
#include <cstring>
#include <new>
#include <vector>

#include "matrix/matrix.h"
#include "common/targets.h"
#include "common/tensor.h"
#include "gemv/gemv_operands.h"
#include "palettization/lut_plan.h"
#include "palettization/lut_spec.h"
#include "quantization/bss_spec.h"
#include "quantization/quant_scale_grid.h"
#include "sparsity/sparse_plan.h"


namespace wk {
namespace {

bool IsSparseDataDType(int32_t dtype, bool ios18) {
  switch (dtype) {
    case WK_DTYPE_FP16:
    case WK_DTYPE_FP32:
    case WK_DTYPE_INT8:
    case WK_DTYPE_UINT8: return true;
    case WK_DTYPE_INT4:
    case WK_DTYPE_UINT4: return ios18;
    default: return false;
  }
}

bool Bit(const uint8_t* p, uint64_t i) { return (p[i >> 3] >> (i & 7)) & 1u; }

// Ones among stream bits [begin, end).
uint64_t CountOnes(const uint8_t* p, uint64_t begin, uint64_t end) {
  uint64_t ones = 0;
  for (; begin < end && (begin & 7) != 0; ++begin) ones += Bit(p, begin);
  for (; begin + 64 <= end; begin += 64) {
    uint64_t word;
    std::memcpy(&word, p + (begin >> 3), 8);
    ones += static_cast<uint64_t>(__builtin_popcountll(word));
  }
  for (; begin < end; ++begin) ones += Bit(p, begin);
  return ones;
}

// A validated sparse_to_dense: `count` mask bits, `nonzeros` values of `dtype`.
struct SparseSpec {
  const uint8_t* mask;
  uint64_t count;
  const uint8_t* values;
  uint64_t nonzeros;
  int32_t dtype;
  uint32_t rank;
  int64_t dims[WK_MAX_RANK];
};

wk_status CheckValues(const wk_tensor* values, const char* name, bool ios18, wk_context* ctx) {
  if (!IsSparseDataDType(values->dtype, ios18)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "%s: dtype %s; fp16, fp32, int8, uint8%s expected",
                name, wk_dtype_name(values->dtype), ios18 ? ", int4 or uint4" : "");
  }
  if (values->rank != 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: rank %u; rank 1 expected", name, values->rank);
  }
  return WK_OK;
}

wk_status CheckOnes(uint64_t ones, uint64_t nonzeros, const char* mask_name,
                    const char* values_name, wk_context* ctx) {
  if (ones != nonzeros) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: %llu ones but %s holds %llu values", mask_name,
                static_cast<unsigned long long>(ones), values_name,
                static_cast<unsigned long long>(nonzeros));
  }
  return WK_OK;
}

wk_status CheckIOS16(const wk_tensor* nonzero_data, const wk_tensor* mask, const wk_tensor* shape,
                     wk_context* ctx, SparseSpec* spec) {
  uint64_t nonzeros = 0;
  uint64_t mask_bytes = 0;
  uint64_t rank = 0;
  WK_TRY(CheckTensor(nonzero_data, "nonzero_data", ctx, &nonzeros));
  WK_TRY(CheckTensor(mask, "mask", ctx, &mask_bytes));
  WK_TRY(CheckTensor(shape, "shape", ctx, &rank));
  WK_TRY(CheckValues(nonzero_data, "nonzero_data", false, ctx));
  if (mask->dtype != WK_DTYPE_UINT8) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "mask: dtype %s; iOS16 packs the mask in uint8",
                wk_dtype_name(mask->dtype));
  }
  if (shape->dtype != WK_DTYPE_UINT32) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "shape: dtype %s; uint32 expected",
                wk_dtype_name(shape->dtype));
  }
  if (mask->rank != 1 || shape->rank != 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "mask and shape must have rank 1");
  }
  if (rank > WK_MAX_RANK) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "shape: rank %llu exceeds %d",
                static_cast<unsigned long long>(rank), WK_MAX_RANK);
  }
  const uint8_t* m = static_cast<const uint8_t*>(mask->data);
  // Core ML counts the ones of every mask byte first, padding included.
  WK_TRY(CheckOnes(CountOnes(m, 0, 8 * mask_bytes), nonzeros, "mask", "nonzero_data", ctx));
  uint64_t count = 1;
  for (uint64_t d = 0; d < rank; ++d) {
    uint32_t extent;
    std::memcpy(&extent, static_cast<const uint8_t*>(shape->data) + 4 * d, 4);
    if (extent != 0 && count > kMaxElements / extent) {
      return Fail(ctx, WK_ERROR_INVALID_SHAPE, "shape: element count overflows");
    }
    count *= extent;
    spec->dims[d] = extent;
  }
  if (mask_bytes != (count + 7) / 8) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "mask: %llu bytes; %llu elements need %llu",
                static_cast<unsigned long long>(mask_bytes),
                static_cast<unsigned long long>(count),
                static_cast<unsigned long long>((count + 7) / 8));
  }
  if (CountOnes(m, count, 8 * mask_bytes) != 0) {
    return Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "mask: a padding bit beyond element %llu is set",
                static_cast<unsigned long long>(count));
  }
  spec->mask = m;
  spec->count = count;
  spec->values = static_cast<const uint8_t*>(nonzero_data->data);
  spec->nonzeros = nonzeros;
  spec->dtype = nonzero_data->dtype;
  spec->rank = static_cast<uint32_t>(rank);
  return WK_OK;
}

wk_status CheckIOS18(const wk_tensor* nonzero_data, const wk_tensor* mask, wk_context* ctx,
                     SparseSpec* spec) {
  uint64_t nonzeros = 0;
  uint64_t count = 0;
  WK_TRY(CheckTensor(nonzero_data, "nonzero_data", ctx, &nonzeros));
  WK_TRY(CheckTensor(mask, "mask", ctx, &count));
  WK_TRY(CheckValues(nonzero_data, "nonzero_data", true, ctx));
  if (mask->dtype != WK_DTYPE_UINT1) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "mask: dtype %s; uint1 expected",
                wk_dtype_name(mask->dtype));
  }
  const uint8_t* m = static_cast<const uint8_t*>(mask->data);
  WK_TRY(CheckOnes(CountOnes(m, 0, count), nonzeros, "mask", "nonzero_data", ctx));
  spec->mask = m;
  spec->count = count;
  spec->values = static_cast<const uint8_t*>(nonzero_data->data);
  spec->nonzeros = nonzeros;
  spec->dtype = nonzero_data->dtype;
  spec->rank = mask->rank;
  for (uint32_t d = 0; d < mask->rank; ++d) spec->dims[d] = mask->shape[d];
  return WK_OK;
}

// Dense elements of spec.dtype: values at the ones, zeros elsewhere.
void Scatter(const SparseSpec& spec, uint64_t target, uint8_t* out) {
  const uint32_t bits = DTypeBits(spec.dtype);
  if (bits >= 16) {
    RunSparseExpand(target, spec.mask, spec.count, spec.values, spec.nonzeros, bits / 8, out);
    return;
  }
  if (spec.count == 0) return;  // out may be NULL
  std::memset(out, 0, static_cast<size_t>(PackedBytes(spec.dtype, spec.count)));
  uint64_t j = 0;
  for (uint64_t i = 0; i < spec.count; ++i) {
    if (!Bit(spec.mask, i)) continue;
    if (bits == 8) {
      out[i] = spec.values[j];
    } else {
      const uint32_t nibble = ReadPackedField(spec.values, static_cast<size_t>((spec.nonzeros + 1) / 2), j, 4);
      out[i >> 1] |= static_cast<uint8_t>(nibble << (4 * (i & 1)));
    }
    ++j;
  }
}

wk_status RunScatter(const SparseSpec& spec, uint64_t target, const wk_buffer* out,
                     wk_tensor_info* info, const wk_tensor* a, const wk_tensor* b,
                     const wk_tensor* c, wk_context* ctx) {
  wk_tensor_info result;
  SetInfo(&result, spec.dtype, spec.rank, spec.dims);
  if (info != nullptr) *info = result;
  if (out == nullptr) return WK_OK;
  WK_TRY(CheckOutput(out, result.nbytes, "output", ctx));
  WK_TRY(CheckDisjoint(out, a, "nonzero_data", ctx));
  WK_TRY(CheckDisjoint(out, b, "mask", ctx));
  WK_TRY(CheckDisjoint(out, c, "shape", ctx));
  Scatter(spec, target, static_cast<uint8_t*>(out->data));
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

// ---------------------------------------------------------------------------------------------
// lut_to_sparse

// Rank of each set bit: ones before every 64-bit word of the stream (padding cleared).
struct OnesRank {
  std::vector<uint64_t> words;
  std::vector<uint64_t> before;

  OnesRank(const uint8_t* p, uint64_t count)
      : words(static_cast<size_t>((count + 63) / 64)), before(words.size()) {
    std::memcpy(words.data(), p, static_cast<size_t>((count + 7) / 8));
    if (count % 64 != 0) words.back() &= (uint64_t{1} << (count % 64)) - 1;
    uint64_t ones = 0;
    for (size_t w = 0; w < words.size(); ++w) {
      before[w] = ones;
      ones += static_cast<uint64_t>(__builtin_popcountll(words[w]));
    }
  }

  bool Set(uint64_t i) const { return (words[i >> 6] >> (i & 63)) & 1u; }
  uint64_t Rank(uint64_t i) const {
    const uint64_t below = words[i >> 6] & ((uint64_t{1} << (i & 63)) - 1);
    return before[i >> 6] + static_cast<uint64_t>(__builtin_popcountll(below));
  }
};

// Walks the expanded shape in row-major order; each one of the output mask takes the LUT value of
// its source element's index, group and vector lane.
void LutToSparse(const LutSpec& spec, const uint8_t* mask, uint64_t count, uint8_t* out_mask,
                 uint8_t* out_values) {
  const uint32_t k = spec.rank;
  const int64_t v_size = spec.vector_size;
  const int32_t va = spec.vector_axis;
  int64_t out_dims[WK_MAX_RANK];
  int64_t src_stride[WK_MAX_RANK];
  int64_t group_extent[WK_MAX_RANK];
  int64_t group_stride[WK_MAX_RANK];
  int64_t s = 1;
  int64_t g = 1;
  for (uint32_t d = k; d-- > 0;) {
    out_dims[d] = spec.index_dims[d] * (static_cast<int32_t>(d) == va ? v_size : 1);
    src_stride[d] = s;
    s *= spec.index_dims[d];
    group_extent[d] = spec.index_dims[d] / spec.groups[d];
    group_stride[d] = g;
    g *= spec.groups[d];
  }
  const uint64_t out_count = count * static_cast<uint64_t>(v_size);
  if (out_count == 0) return;  // the outputs may be NULL
  std::memset(out_mask, 0, static_cast<size_t>((out_count + 7) / 8));
  const OnesRank ones(mask, count);
  const uint64_t entries = uint64_t{1} << spec.nbits;
  int64_t coord[WK_MAX_RANK] = {};
  uint64_t written = 0;
  for (uint64_t o = 0; o < out_count; ++o) {
    uint64_t src = 0;
    uint64_t group = 0;
    int64_t lane = 0;
    for (uint32_t d = 0; d < k; ++d) {
      int64_t c = coord[d];
      if (static_cast<int32_t>(d) == va) {
        lane = c % v_size;
        c /= v_size;
      }
      src += static_cast<uint64_t>(c * src_stride[d]);
      group += static_cast<uint64_t>((c / group_extent[d]) * group_stride[d]);
    }
    if (ones.Set(src)) {
      out_mask[o >> 3] |= static_cast<uint8_t>(1u << (o & 7));
      const uint32_t index = ReadPackedField(spec.indices, spec.index_bytes, ones.Rank(src), spec.nbits);
      const uint64_t entry = ((group * entries + index) * static_cast<uint64_t>(v_size) +
                              static_cast<uint64_t>(lane)) * spec.elem_bytes;
      std::memcpy(out_values + written * spec.elem_bytes, spec.lut + entry, spec.elem_bytes);
      ++written;
    }
    for (uint32_t d = k; d-- > 0;) {
      if (++coord[d] < out_dims[d]) break;
      coord[d] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Matrices

wk_status BuildPlan(const wk_sparse_matrix_desc* desc, wk_context* ctx, SparseMatrixPlan* plan) {
  if (desc == nullptr) return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "desc is NULL");
  const wk_tensor* mask = desc->mask;
  const wk_tensor* values = desc->values;
  uint64_t count = 0;
  uint64_t nonzeros = 0;
  WK_TRY(CheckTensor(mask, "mask", ctx, &count));
  WK_TRY(CheckTensor(values, "values", ctx, &nonzeros));
  if (mask->dtype != WK_DTYPE_UINT1) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "mask: dtype %s; uint1 expected",
                wk_dtype_name(mask->dtype));
  }
  if (mask->rank != 2 || mask->shape[0] < 1 || mask->shape[1] < 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "mask: a [rows, cols] matrix with rows, cols >= 1 expected");
  }
  if (values->rank != 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "values: rank %u; rank 1 expected", values->rank);
  }
  const bool palettized = desc->lut != nullptr;
  const bool quantized = desc->scale != nullptr;
  if (palettized && quantized) {
    return Fail(ctx, WK_ERROR_UNSUPPORTED, "lut and scale: a quantized LUT is not fused");
  }
  if (!quantized && desc->offset != nullptr) {
    return Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "offset: given without a scale");
  }
  if (!palettized && !quantized && !IsFloatDType(values->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "values: dtype %s; fp16 or fp32 expected",
                wk_dtype_name(values->dtype));
  }
  if (palettized && !IsIndexDType(values->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE,
                "values: dtype %s; LUT indices uint1, uint2, uint3, uint4, uint6 or uint8 expected",
                wk_dtype_name(values->dtype));
  }
  if (quantized && !IsQuantizedDType(values->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE,
                "values: dtype %s; with a scale, int4, uint4, int8 or uint8 expected",
                wk_dtype_name(values->dtype));
  }
  const uint8_t* m = static_cast<const uint8_t*>(mask->data);
  WK_TRY(CheckOnes(CountOnes(m, 0, count), nonzeros, "mask", "values", ctx));
  plan->mask = m;
  plan->mask_bytes = mask->nbytes;
  plan->rows = static_cast<size_t>(mask->shape[0]);
  plan->cols = static_cast<size_t>(mask->shape[1]);
  plan->values = static_cast<const uint8_t*>(values->data);
  plan->value_bytes = values->nbytes;
  plan->nonzeros = nonzeros;
  plan->value_dtype = values->dtype;
  plan->nbits = 0;
  plan->compressed_bytes = mask->nbytes + values->nbytes;
  if (palettized) {
    const wk_tensor* lut = desc->lut;
    WK_TRY(CheckTensor(lut, "lut", ctx, nullptr));
    if (lut->rank == 4 && lut->shape[3] != 1) {
      return Fail(ctx, WK_ERROR_UNSUPPORTED,
                  "lut: vector palettization is not fused; decompress with wk_lut_to_sparse");
    }
    LutSpec spec;
    WK_TRY(CheckLutLayout(values->dtype, 2, mask->shape, count, lut, nullptr, "mask", ctx, &spec));
    if (!IsFloatDType(lut->dtype)) {
      return Fail(ctx, WK_ERROR_INVALID_DTYPE, "lut: dtype %s; an integer LUT is not fused",
                  wk_dtype_name(lut->dtype));
    }
    plan->kind = SparseValueKind::kLut;
    plan->weight_dtype = lut->dtype;
    plan->nbits = spec.nbits;
    plan->entries = size_t{1} << spec.nbits;
    plan->rows_per_group = plan->rows / static_cast<size_t>(spec.groups[0]);
    plan->column_groups = static_cast<size_t>(spec.groups[1]);
    const size_t tables = static_cast<size_t>(spec.groups[0]) * plan->column_groups * plan->entries;
    plan->tables.resize(tables);
    for (size_t e = 0; e < tables; ++e) {
      uint32_t raw = 0;
      std::memcpy(&raw, spec.lut + e * spec.elem_bytes, spec.elem_bytes);
      plan->tables[e] = raw;
    }
    if (plan->column_groups > 1) {
      const size_t group_cols = plan->cols / plan->column_groups;
      // Padded to whole chunks: the kernels read a tail chunk's 16 offsets.
      plan->column_table_offset.assign((plan->cols + 15) / 16 * 16, 0);
      for (size_t c = 0; c < plan->cols; ++c) {
        plan->column_table_offset[c] = static_cast<uint32_t>(c / group_cols * plan->entries);
      }
    } else if (plan->entries <= 16) {
      plan->byte_planes = BytePlanes(plan->tables.data(), static_cast<size_t>(spec.groups[0]), plan->entries, 16,
                                     spec.elem_bytes);
    }
    plan->compressed_bytes += lut->nbytes;
  } else if (quantized) {
    BssSpec spec;
    WK_TRY(CheckBss(values->dtype, 2, mask->shape, desc->scale, desc->offset, "scale", ctx, &spec));
    plan->kind = SparseValueKind::kQuant;
    plan->weight_dtype = spec.scale_dtype;
    BuildQuantScaleGrid(spec, plan->rows, plan->cols, &plan->quant);
    plan->compressed_bytes += desc->scale->nbytes + (desc->offset != nullptr ? desc->offset->nbytes : 0);
  } else {
    plan->kind = values->dtype == WK_DTYPE_FP16 ? SparseValueKind::kF16 : SparseValueKind::kF32;
    plan->weight_dtype = values->dtype;
  }
  plan->row_start.resize(plan->rows + 1);
  uint64_t ones = 0;
  for (size_t r = 0; r < plan->rows; ++r) {
    plan->row_start[r] = ones;
    ones += CountOnes(m, uint64_t{r} * plan->cols, uint64_t{r + 1} * plan->cols);
  }
  plan->row_start[plan->rows] = ones;
  // Unchecked reads: 8 mask bytes from each full chunk's first byte (a step's two chunks) and
  // 64 bytes from the byte of each group's first value or index (at most the row's end).
  const size_t full = plan->cols / 16;
  const uint32_t value_bits = DTypeBits(values->dtype);
  size_t fast = plan->rows;
  while (fast > 0) {
    const size_t r = fast - 1;
    const bool mask_ok =
        full == 0 || ((uint64_t{r} * plan->cols + 16 * (full - 1)) >> 3) + 8 <= plan->mask_bytes;
    const bool values_ok =
        plan->row_start[r + 1] * value_bits / 8 + 64 <= plan->value_bytes;
    if (mask_ok && values_ok) break;
    --fast;
  }
  plan->fast_rows = fast;
  return WK_OK;
}

struct SparseMatrix final : wk_matrix {
  SparseMatrixPlan plan;

  void Gemv(uint64_t target, const GemvOperands& io) const override {
    if (plan.kind == SparseValueKind::kQuant) {
      RunSparseQuantMatrixGemv(target, plan, io);
    } else {
      RunSparseMatrixGemv(target, plan, io);
    }
  }

  void Decompress(uint64_t target, uint8_t* out, size_t r0, size_t r1) const override {
    if (plan.kind == SparseValueKind::kLut) return RunSparseLutDecompress(target, plan, out, r0, r1);
    if (plan.kind == SparseValueKind::kQuant) return RunSparseQuantMatrixDecompress(target, plan, out, r0, r1);
    // r0 * cols is a multiple of 8: the rows' mask starts on a byte.
    const uint32_t elem = plan.kind == SparseValueKind::kF16 ? 2 : 4;
    const uint64_t first = plan.row_start[r0];
    RunSparseExpand(target, plan.mask + r0 * plan.cols / 8, uint64_t{r1 - r0} * plan.cols,
                    plan.values + first * elem, plan.row_start[r1] - first, elem,
                    out + r0 * plan.cols * elem);
  }

  wk_status Build(const wk_sparse_matrix_desc* desc, wk_context* ctx) {
    WK_TRY(BuildPlan(desc, ctx, &plan));
    SetInfo(WK_FORMAT_SPARSE, plan.rows, plan.cols, plan.weight_dtype, plan.value_dtype,
            plan.compressed_bytes);
    info.nbits = plan.nbits;
    info.nonzeros = static_cast<int64_t>(plan.nonzeros);
    info.has_lut = plan.kind == SparseValueKind::kLut;
    info.has_scale = plan.kind == SparseValueKind::kQuant;
    info.has_offset = desc->offset != nullptr;
    regions[0] = {plan.mask, plan.mask_bytes, "the mask"};
    regions[1] = {plan.values, plan.value_bytes, "the values"};
    return WK_OK;
  }
};

}  // namespace
}  // namespace wk

using namespace wk;

extern "C" {

wk_status wk_sparse_to_dense_ios16(const wk_tensor* nonzero_data, const wk_tensor* mask,
                                   const wk_tensor* shape, const wk_buffer* out,
                                   wk_tensor_info* info, wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  SparseSpec spec;
  WK_TRY(CheckIOS16(nonzero_data, mask, shape, ctx, &spec));
  return RunScatter(spec, target, out, info, nonzero_data, mask, shape, ctx);
}

wk_status wk_sparse_to_dense_ios18(const wk_tensor* nonzero_data, const wk_tensor* mask,
                                   const wk_buffer* out, wk_tensor_info* info, wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  SparseSpec spec;
  WK_TRY(CheckIOS18(nonzero_data, mask, ctx, &spec));
  return RunScatter(spec, target, out, info, nonzero_data, mask, nullptr, ctx);
}

wk_status wk_lut_to_sparse(const wk_tensor* indices_mask, const wk_tensor* indices_nonzero_data,
                           const wk_tensor* lut, const int32_t* vector_axis,
                           const wk_buffer* out_mask, const wk_buffer* out_values,
                           wk_tensor_info* mask_info, wk_tensor_info* values_info,
                           wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  uint64_t count = 0;
  uint64_t nonzeros = 0;
  WK_TRY(CheckTensor(indices_mask, "indices_mask", ctx, &count));
  WK_TRY(CheckTensor(indices_nonzero_data, "indices_nonzero_data", ctx, &nonzeros));
  WK_TRY(CheckTensor(lut, "lut", ctx, nullptr));
  if (indices_mask->dtype != WK_DTYPE_UINT1) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "indices_mask: dtype %s; uint1 expected",
                wk_dtype_name(indices_mask->dtype));
  }
  if (!IsIndexDType(indices_nonzero_data->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE,
                "indices_nonzero_data: dtype %s; uint1, uint2, uint3, uint4, uint6 or uint8 expected",
                wk_dtype_name(indices_nonzero_data->dtype));
  }
  if (indices_nonzero_data->rank != 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "indices_nonzero_data: rank %u; rank 1 expected",
                indices_nonzero_data->rank);
  }
  const uint8_t* mask = static_cast<const uint8_t*>(indices_mask->data);
  WK_TRY(CheckOnes(CountOnes(mask, 0, count), nonzeros, "indices_mask", "indices_nonzero_data",
                   ctx));
  LutSpec spec;
  WK_TRY(CheckLutLayout(indices_nonzero_data->dtype, indices_mask->rank, indices_mask->shape,
                        count, lut, vector_axis, "indices_mask", ctx, &spec));
  spec.indices = static_cast<const uint8_t*>(indices_nonzero_data->data);
  spec.index_bytes = indices_nonzero_data->nbytes;
  int64_t dims[WK_MAX_RANK];
  for (uint32_t d = 0; d < spec.rank; ++d) dims[d] = spec.index_dims[d];
  if (spec.vector_axis >= 0) dims[spec.vector_axis] *= spec.vector_size;
  const int64_t value_count = static_cast<int64_t>(nonzeros) * spec.vector_size;
  wk_tensor_info m_info;
  wk_tensor_info v_info;
  SetInfo(&m_info, WK_DTYPE_UINT1, spec.rank, dims);
  SetInfo(&v_info, spec.lut_dtype, 1, &value_count);
  if (mask_info != nullptr) *mask_info = m_info;
  if (values_info != nullptr) *values_info = v_info;
  const wk_tensor* inputs[] = {indices_mask, indices_nonzero_data, lut};
  const char* names[] = {"indices_mask", "indices_nonzero_data", "lut"};
  bool run = false;
  WK_TRY(CheckOutputPair(out_mask, m_info.nbytes, out_values, v_info.nbytes, inputs, names, 3,
                         ctx, &run));
  if (!run) return WK_OK;
  try {
    LutToSparse(spec, mask, count, static_cast<uint8_t*>(out_mask->data),
                static_cast<uint8_t*>(out_values->data));
  } catch (const std::bad_alloc&) {
    return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "indices_mask: rank table allocation failed");
  }
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

wk_status wk_sparse_matrix_create(const wk_sparse_matrix_desc* desc, wk_matrix** matrix,
                                  wk_context* ctx) {
  return CreateMatrix<SparseMatrix>(desc, matrix, ctx);
}

}  // extern "C"
