// C ABI for palettization: validation of constexpr_lut_to_dense (iOS16 and iOS18, FORMATS.md §3,
// §7.1), the N-d decompression driver, and prepared matrices for the fused GEMV.
#include <algorithm>
#include <cstring>
#include <new>
#include <vector>

#include "common/targets.h"
#include "matrix/matrix.h"
#include "common/tensor.h"
#include "gemv/gemv_operands.h"
#include "palettization/lut_plan.h"
#include "palettization/lut_spec.h"
#include "quantization/bss_spec.h"

namespace wk {
namespace {

bool IsLutDType(int32_t dtype) {
  return dtype == WK_DTYPE_FP16 || dtype == WK_DTYPE_FP32 || dtype == WK_DTYPE_INT8 ||
         dtype == WK_DTYPE_UINT8;
}

wk_status CheckLutDType(const wk_tensor* lut, wk_context* ctx) {
  if (!IsLutDType(lut->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "lut: dtype %s; fp16, fp32, int8 or uint8 expected",
                wk_dtype_name(lut->dtype));
  }
  return WK_OK;
}

wk_status CheckIOS16(const wk_tensor* indices, const wk_tensor* lut, const wk_tensor* shape,
                     wk_context* ctx, LutSpec* spec) {
  uint64_t lut_count = 0;
  uint64_t shape_count = 0;
  WK_TRY(CheckTensor(indices, "indices", ctx, nullptr));
  WK_TRY(CheckTensor(lut, "lut", ctx, &lut_count));
  WK_TRY(CheckTensor(shape, "shape", ctx, &shape_count));
  if (indices->dtype != WK_DTYPE_UINT8) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "indices: dtype %s; iOS16 packs indices in uint8",
                wk_dtype_name(indices->dtype));
  }
  WK_TRY(CheckLutDType(lut, ctx));
  if (shape->dtype != WK_DTYPE_UINT32) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "shape: dtype %s; uint32 expected",
                wk_dtype_name(shape->dtype));
  }
  if (indices->rank != 1 || lut->rank != 1 || shape->rank != 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "indices, lut and shape must have rank 1");
  }
  uint32_t nbits = 0;
  switch (lut_count) {
    case 2: nbits = 1; break;
    case 4: nbits = 2; break;
    case 16: nbits = 4; break;
    case 64: nbits = 6; break;
    case 256: nbits = 8; break;
    default:
      return Fail(ctx, WK_ERROR_INVALID_SHAPE, "lut: %llu entries; iOS16 takes 2, 4, 16, 64 or 256",
                  static_cast<unsigned long long>(lut_count));
  }
  if (shape_count > WK_MAX_RANK) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "shape: %llu axes; at most %d",
                static_cast<unsigned long long>(shape_count), WK_MAX_RANK);
  }
  spec->rank = static_cast<uint32_t>(shape_count);
  spec->scalar_output = shape_count == 0;
  spec->index_dims[0] = 1;
  spec->groups[0] = 1;
  uint64_t n = 1;
  for (uint32_t d = 0; d < spec->rank; ++d) {
    uint32_t extent;
    std::memcpy(&extent, static_cast<const uint8_t*>(shape->data) + 4 * d, 4);
    if (extent != 0 && n > kMaxElements / extent) {
      return Fail(ctx, WK_ERROR_INVALID_SHAPE, "shape: element count overflows");
    }
    n *= extent;
    spec->index_dims[d] = extent;
    spec->groups[d] = 1;
  }
  if (indices->nbytes != PackedBytes(WK_DTYPE_UINT1, n * nbits)) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE,
                "indices: %zu bytes; %llu %u-bit indices need %llu", indices->nbytes,
                static_cast<unsigned long long>(n), nbits,
                static_cast<unsigned long long>(PackedBytes(WK_DTYPE_UINT1, n * nbits)));
  }
  if (spec->scalar_output) spec->rank = 1;
  spec->nbits = nbits;
  spec->vector_size = 1;
  spec->vector_axis = -1;
  spec->lut_dtype = lut->dtype;
  spec->elem_bytes = DTypeBits(lut->dtype) / 8;
  spec->index_count = n;
  spec->indices = static_cast<const uint8_t*>(indices->data);
  spec->index_bytes = indices->nbytes;
  spec->lut = static_cast<const uint8_t*>(lut->data);
  return WK_OK;
}

}  // namespace

wk_status CheckLutLayout(int32_t index_dtype, uint32_t rank, const int64_t* index_dims,
                         uint64_t count, const wk_tensor* lut, const int32_t* vector_axis,
                         const char* index_name, wk_context* ctx, LutSpec* spec) {
  WK_TRY(CheckLutDType(lut, ctx));
  const uint32_t k = rank;
  if (k < 1) return Fail(ctx, WK_ERROR_INVALID_SHAPE, "%s: rank must be at least 1", index_name);
  if (lut->rank != k + 2) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "lut: rank %u; %s of rank %u need rank %u",
                lut->rank, index_name, k, k + 2);
  }
  const uint32_t nbits = DTypeBits(index_dtype);
  for (uint32_t d = 0; d < k; ++d) {
    const int64_t g = lut->shape[d];
    if (g < 1 || index_dims[d] % g != 0) {
      return Fail(ctx, WK_ERROR_INVALID_SHAPE,
                  "lut: %lld groups do not divide %s extent %lld on axis %u",
                  static_cast<long long>(g), index_name, static_cast<long long>(index_dims[d]), d);
    }
    spec->index_dims[d] = index_dims[d];
    spec->groups[d] = g;
  }
  if (lut->shape[k] != (int64_t{1} << nbits)) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "lut: %lld entries; %s indices need %lld",
                static_cast<long long>(lut->shape[k]), wk_dtype_name(index_dtype),
                static_cast<long long>(int64_t{1} << nbits));
  }
  const int64_t v = lut->shape[k + 1];
  if (v < 1) return Fail(ctx, WK_ERROR_INVALID_SHAPE, "lut: vector size must be at least 1");
  int32_t axis = -1;
  if (vector_axis != nullptr) {
    const int32_t a = *vector_axis;
    if (a < -static_cast<int32_t>(k) || a >= static_cast<int32_t>(k)) {
      return Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "vector_axis: %d out of range for rank %u", a, k);
    }
    axis = a < 0 ? a + static_cast<int32_t>(k) : a;
  } else if (v != 1) {
    return Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "vector_axis: required for vector size %lld",
                static_cast<long long>(v));
  }
  if (v > 1 && count != 0 && static_cast<uint64_t>(v) > kMaxElements / count) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "output element count overflows");
  }
  spec->nbits = nbits;
  spec->rank = k;
  spec->scalar_output = false;
  spec->vector_size = v;
  spec->vector_axis = v > 1 ? axis : -1;
  spec->lut_dtype = lut->dtype;
  spec->elem_bytes = DTypeBits(lut->dtype) / 8;
  spec->index_count = count;
  spec->indices = nullptr;
  spec->index_bytes = 0;
  spec->lut = static_cast<const uint8_t*>(lut->data);
  return WK_OK;
}


namespace {

wk_status CheckIOS18(const wk_tensor* indices, const wk_tensor* lut, const int32_t* vector_axis,
                     wk_context* ctx, LutSpec* spec) {
  uint64_t count = 0;
  WK_TRY(CheckTensor(indices, "indices", ctx, &count));
  WK_TRY(CheckTensor(lut, "lut", ctx, nullptr));
  if (!IsIndexDType(indices->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE,
                "indices: dtype %s; uint1, uint2, uint3, uint4, uint6 or uint8 expected",
                wk_dtype_name(indices->dtype));
  }
  WK_TRY(CheckLutLayout(indices->dtype, indices->rank, indices->shape, count, lut, vector_axis,
                        "indices", ctx, spec));
  spec->indices = static_cast<const uint8_t*>(indices->data);
  spec->index_bytes = indices->nbytes;
  return WK_OK;
}

void OutputInfo(const LutSpec& spec, wk_tensor_info* info) {
  int64_t dims[WK_MAX_RANK];
  for (uint32_t d = 0; d < spec.rank; ++d) dims[d] = spec.index_dims[d];
  if (spec.vector_axis >= 0) dims[spec.vector_axis] *= spec.vector_size;
  SetInfo(info, spec.lut_dtype, spec.scalar_output ? 0 : spec.rank, dims);
}

uint32_t ReadEntryBits(const uint8_t* p, uint32_t elem_bytes) {
  uint32_t u = 0;
  std::memcpy(&u, p, elem_bytes);  // little-endian: the element's bits, zero-extended
  return u;
}

// Tables of raw entry bits: [group][v][stride], n < 4 tables repeated to 16 entries.
std::vector<uint32_t> RawTables(const LutSpec& spec, uint64_t group_count) {
  const size_t stride = LutTableStride(spec.nbits);
  const size_t entries = size_t{1} << spec.nbits;
  const size_t v_count = static_cast<size_t>(spec.vector_size);
  std::vector<uint32_t> tables(group_count * v_count * stride);
  for (uint64_t g = 0; g < group_count; ++g) {
    for (size_t v = 0; v < v_count; ++v) {
      uint32_t* table = tables.data() + (g * v_count + v) * stride;
      for (size_t e = 0; e < stride; ++e) {
        const size_t entry = e % entries;
        table[e] = ReadEntryBits(spec.lut + ((g * entries + entry) * v_count + v) * spec.elem_bytes,
                                 spec.elem_bytes);
      }
    }
  }
  return tables;
}

// Walks the index tensor row by row (a row = the last axis) and hands each run of indices that
// shares a table to the SIMD gather; vectors along the last axis are expanded in place.
void Decompress(const LutSpec& spec, uint64_t target, uint8_t* out) {
  const uint32_t k = spec.rank;
  if (spec.index_count == 0) return;
  uint64_t group_count = 1;
  for (uint32_t d = 0; d < k; ++d) group_count *= static_cast<uint64_t>(spec.groups[d]);
  const std::vector<uint32_t> tables = RawTables(spec, group_count);
  const size_t stride = LutTableStride(spec.nbits);
  const size_t v_count = static_cast<size_t>(spec.vector_size);
  // Once per call, for the gathers' byte-plane look-ups (2-byte entries; 4-byte ones from 4 bits).
  const size_t plane_width =
      spec.elem_bytes == 2 || (spec.nbits >= 4 && spec.elem_bytes == 4) ? spec.elem_bytes : 0;
  const PlaneBytes planes = BytePlanes(tables.data(), group_count * v_count, stride, stride, plane_width);
  const uint64_t inner = static_cast<uint64_t>(spec.index_dims[k - 1]);
  const uint64_t inner_groups = static_cast<uint64_t>(spec.groups[k - 1]);
  const uint64_t run = inner / inner_groups;
  const uint64_t rows = spec.index_count / inner;
  // Output extents (vector axis expanded), for locating each output row.
  int64_t out_dims[WK_MAX_RANK];
  for (uint32_t d = 0; d < k; ++d) out_dims[d] = spec.index_dims[d];
  if (spec.vector_axis >= 0) out_dims[spec.vector_axis] *= spec.vector_size;
  const bool vector_last = spec.vector_axis == static_cast<int32_t>(k) - 1;
  int64_t coord[WK_MAX_RANK] = {};
  for (uint64_t row = 0; row < rows; ++row) {
    // Group of the outer coordinates, and the output row of each vector element v.
    uint64_t outer_group = 0;
    for (uint32_t d = 0; d + 1 < k; ++d) {
      const int64_t group_extent = spec.index_dims[d] / spec.groups[d];
      outer_group = outer_group * static_cast<uint64_t>(spec.groups[d]) +
                    static_cast<uint64_t>(coord[d] / group_extent);
    }
    for (size_t v = 0; v < (vector_last ? 1 : v_count); ++v) {
      uint64_t out_row = 0;
      for (uint32_t d = 0; d + 1 < k; ++d) {
        int64_t c = coord[d];
        if (static_cast<int32_t>(d) == spec.vector_axis) c = c * spec.vector_size + static_cast<int64_t>(v);
        out_row = out_row * static_cast<uint64_t>(out_dims[d]) + static_cast<uint64_t>(c);
      }
      const uint64_t out_row_elems = static_cast<uint64_t>(out_dims[k - 1]);
      for (uint64_t gi = 0; gi < inner_groups; ++gi) {
        const uint64_t group = outer_group * inner_groups + gi;
        const uint64_t first = row * inner + gi * run;
        if (vector_last) {
          // V consecutive output elements per index: a plain copy of the entry's vector.
          for (uint64_t i = 0; i < run; ++i) {
            const uint64_t bit = (first + i) * spec.nbits;
            uint32_t window = 0;
            std::memcpy(&window, spec.indices + bit / 8,
                        std::min<size_t>(2, spec.index_bytes - static_cast<size_t>(bit / 8)));
            const uint32_t entry = (window >> (bit % 8)) & ((1u << spec.nbits) - 1);
            const uint8_t* src =
                spec.lut + ((group << spec.nbits) + entry) * v_count * spec.elem_bytes;
            std::memcpy(out + (out_row * out_row_elems + (gi * run + i) * v_count) * spec.elem_bytes,
                        src, v_count * spec.elem_bytes);
          }
          continue;
        }
        LutRun r;
        r.indices = spec.indices;
        r.index_bytes = spec.index_bytes;
        r.bit0 = first * spec.nbits;
        r.count = static_cast<size_t>(run);
        r.table = tables.data() + (group * v_count + v) * stride;
        r.planes = plane_width != 0 ? planes.data() + (group * v_count + v) * stride * plane_width : nullptr;
        r.nbits = spec.nbits;
        r.elem_bytes = spec.elem_bytes;
        r.out = out + (out_row * out_row_elems + gi * run) * spec.elem_bytes;
        RunLutGather(target, r);
      }
    }
    for (int d = static_cast<int>(k) - 2; d >= 0; --d) {
      if (++coord[d] < spec.index_dims[d]) break;
      coord[d] = 0;
    }
  }
}

wk_status RunDecompress(const LutSpec& spec, uint64_t target, const wk_buffer* out,
                        wk_tensor_info* info, const wk_tensor* a, const wk_tensor* b,
                        const wk_tensor* c, wk_context* ctx) {
  wk_tensor_info result;
  OutputInfo(spec, &result);
  if (info != nullptr) *info = result;
  if (out == nullptr) return WK_OK;
  WK_TRY(CheckOutput(out, result.nbytes, "output", ctx));
  WK_TRY(CheckDisjoint(out, a, "indices", ctx));
  WK_TRY(CheckDisjoint(out, b, "lut", ctx));
  WK_TRY(CheckDisjoint(out, c, "shape", ctx));
  try {
    Decompress(spec, target, static_cast<uint8_t*>(out->data));
  } catch (const std::bad_alloc&) {
    return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "lut tables: allocation failed");
  }
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

// ---------------------------------------------------------------------------------------------
// Matrices

// Entries of a LUT [Gr, Gc, P, 1] in a form the chain's steps can consume.
struct LutEntries {
  int64_t gr;
  int64_t gc;
  int64_t p;
  int32_t dtype;
  std::vector<uint32_t> raw;  // [gr][gc][p]: the raw form BssElement takes

  uint32_t At(int64_t r, int64_t c, int64_t e) const {
    return raw[static_cast<size_t>((r * gc + c) * p + e)];
  }
};

bool SameTable(const LutEntries& l, int64_t r0, int64_t c0, int64_t r1, int64_t c1) {
  for (int64_t e = 0; e < l.p; ++e) {
    if (l.At(r0, c0, e) != l.At(r1, c1, e)) return false;
  }
  return true;
}

// The LUT with a blockwise_shift_scale applied entry by entry. Along each group axis one grid
// divides the other (checked by the caller), so the finer one is the common refinement.
LutEntries FoldScale(const LutEntries& lut, const BssSpec& s) {
  LutEntries out;
  out.gr = std::max(lut.gr, s.scale_dims[0]);
  out.gc = std::max(lut.gc, s.scale_dims[1]);
  out.p = lut.p;
  out.dtype = s.scale_dtype;
  out.raw.resize(static_cast<size_t>(out.gr * out.gc * out.p));
  for (int64_t r = 0; r < out.gr; ++r) {
    for (int64_t c = 0; c < out.gc; ++c) {
      const int64_t lr = r * lut.gr / out.gr;
      const int64_t lc = c * lut.gc / out.gc;
      const int64_t sr = r * s.scale_dims[0] / out.gr;
      const int64_t sc = c * s.scale_dims[1] / out.gc;
      for (int64_t e = 0; e < out.p; ++e) {
        // The scale's last axis covers the LUT's vector axis of extent 1.
        const uint64_t si = static_cast<uint64_t>((sr * s.scale_dims[1] + sc) * s.scale_dims[2] +
                                                  e / s.block[2]);
        out.raw[static_cast<size_t>((r * out.gc + c) * out.p + e)] = BssElementAt(s, lut.At(lr, lc, e), si);
      }
    }
  }
  return out;
}

}  // namespace
}  // namespace wk

using namespace wk;

namespace wk {
namespace {

// One grid extent divides the other, so the finer grid refines both.
bool Nested(int64_t a, int64_t b) { return a % b == 0 || b % a == 0; }

float ValueOf(int32_t dtype, uint32_t raw) {
  if (dtype == WK_DTYPE_FP16) return F16ToF32(static_cast<uint16_t>(raw));
  if (dtype == WK_DTYPE_FP32) return BitsFloat(raw);
  return static_cast<float>(static_cast<int32_t>(raw));
}

wk_status BuildPlan(const wk_lut_matrix_desc* desc, wk_context* ctx, LutMatrixPlan* plan) {
  if (desc == nullptr) return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "desc is NULL");
  WK_TRY(CheckTensor(desc->lut, "lut", ctx, nullptr));
  if (desc->lut->rank == 4 && desc->lut->shape[3] != 1) {
    return Fail(ctx, WK_ERROR_UNSUPPORTED,
                "lut: vector palettization (V = %lld) is not fused; decompress it instead",
                static_cast<long long>(desc->lut->shape[3]));
  }
  LutSpec spec;
  WK_TRY(CheckIOS18(desc->indices, desc->lut, nullptr, ctx, &spec));
  if (spec.rank != 2) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "indices: rank %u; a matrix is [rows, cols]", spec.rank);
  }
  const int64_t rows = spec.index_dims[0];
  const int64_t cols = spec.index_dims[1];
  if (rows < 1 || cols < 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "indices: rows and cols must be at least 1");
  }
  if (desc->lut_offset != nullptr && desc->lut_scale == nullptr) {
    return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "lut_offset needs lut_scale");
  }
  uint64_t compressed = desc->indices->nbytes + desc->lut->nbytes;

  LutEntries lut;
  lut.gr = spec.groups[0];
  lut.gc = spec.groups[1];
  lut.p = int64_t{1} << spec.nbits;
  lut.dtype = spec.lut_dtype;
  lut.raw.resize(static_cast<size_t>(lut.gr * lut.gc * lut.p));
  for (size_t i = 0; i < lut.raw.size(); ++i) {
    lut.raw[i] = ReadRawElement(spec.lut, spec.lut_dtype, i);
  }

  // The dense-side scale applied in registers, if any: grid [scale_r, scale_c] over the matrix.
  BssSpec dense_scale{};
  bool has_dense_scale = false;
  std::vector<uint32_t> factored_scale;  // raw scale values when the LUT-side scale is factored

  if (desc->lut_scale != nullptr) {
    BssSpec s;
    const int64_t lut_dims[4] = {lut.gr, lut.gc, lut.p, 1};
    WK_TRY(CheckBss(lut.dtype, 4, lut_dims, desc->lut_scale, desc->lut_offset, "lut_scale", ctx, &s));
    compressed += desc->lut_scale->nbytes + (desc->lut_offset ? desc->lut_offset->nbytes : 0);
    // Core ML's canonical per-channel-scale form repeats one LUT per scale block; the repeated
    // tables then collapse and the scale moves into registers.
    const bool per_group_scale = s.scale_dims[2] == 1 && s.offset_dtype == 0 &&
                                 IsFloatDType(lut.dtype) && desc->scale == nullptr;
    bool same_cols = true;
    bool same_rows = true;
    for (int64_t r = 0; per_group_scale && r < lut.gr; ++r) {
      for (int64_t c = 0; c < lut.gc; ++c) {
        same_cols = same_cols && SameTable(lut, r, c, r, 0);
        same_rows = same_rows && SameTable(lut, r, c, 0, c);
      }
    }
    const int64_t gr0 = same_rows ? 1 : lut.gr;
    const int64_t gc0 = same_cols ? 1 : lut.gc;
    if (per_group_scale && gr0 * gc0 < lut.gr * lut.gc) {
      LutEntries base;
      base.gr = gr0;
      base.gc = gc0;
      base.p = lut.p;
      base.dtype = lut.dtype;
      for (int64_t r = 0; r < gr0; ++r) {
        for (int64_t c = 0; c < gc0; ++c) {
          for (int64_t e = 0; e < lut.p; ++e) base.raw.push_back(lut.At(r, c, e));
        }
      }
      dense_scale = s;
      dense_scale.rank = 2;
      dense_scale.dims[0] = rows;
      dense_scale.dims[1] = cols;
      dense_scale.block[0] = rows / s.scale_dims[0];
      dense_scale.block[1] = cols / s.scale_dims[1];
      has_dense_scale = true;
      lut = base;
    } else {
      if (!Nested(lut.gr, s.scale_dims[0]) || !Nested(lut.gc, s.scale_dims[1])) {
        return Fail(ctx, WK_ERROR_UNSUPPORTED, "lut_scale: grid does not nest with the LUT groups");
      }
      lut = FoldScale(lut, s);
    }
  }
  if (desc->scale != nullptr) {
    const int64_t dims[2] = {rows, cols};
    WK_TRY(CheckBss(lut.dtype, 2, dims, desc->scale, nullptr, "scale", ctx, &dense_scale));
    compressed += desc->scale->nbytes;
    has_dense_scale = true;
  }
  if (!has_dense_scale && !IsFloatDType(lut.dtype)) {
    return Fail(ctx, WK_ERROR_UNSUPPORTED,
                "lut: %s weights are not fused; add lut_scale or scale to dequantize them",
                wk_dtype_name(lut.dtype));
  }

  plan->indices = spec.indices;
  plan->index_bytes = spec.index_bytes;
  plan->nbits = spec.nbits;
  plan->rows = static_cast<size_t>(rows);
  plan->cols = static_cast<size_t>(cols);
  plan->table_stride = LutTableStride(spec.nbits);
  plan->group_cols = static_cast<size_t>(cols / lut.gc);
  plan->weight_dtype = has_dense_scale ? dense_scale.scale_dtype : lut.dtype;
  plan->round_f16 = has_dense_scale && dense_scale.scale_dtype == WK_DTYPE_FP16;
  plan->compressed_bytes = compressed;

  // Tables: values (what enters the multiply: T(x) of the final step) and raw weight bits.
  const size_t stride = plan->table_stride;
  const size_t group_count = static_cast<size_t>(lut.gr * lut.gc);
  plan->value_tables.assign(group_count * stride, 0);
  plan->raw_tables.assign(group_count * stride, 0);
  for (size_t g = 0; g < group_count; ++g) {
    for (size_t e = 0; e < stride; ++e) {
      const uint32_t raw = lut.raw[g * static_cast<size_t>(lut.p) + e % static_cast<size_t>(lut.p)];
      float value = ValueOf(lut.dtype, raw);
      if (has_dense_scale && lut.dtype == WK_DTYPE_FP32 && plan->round_f16) {
        value = F16ToF32(NarrowF16LikeNumpy(raw));
      }
      plan->value_tables[g * stride + e] = FloatBits(value);
      plan->raw_tables[g * stride + e] = raw;
    }
  }
  if (spec.nbits >= 4) {
    plan->byte_planes = BytePlanes(plan->value_tables.data(), group_count, stride, stride, 4);
  }
  if (!has_dense_scale && plan->weight_dtype == WK_DTYPE_FP16) {
    plan->half_planes = BytePlanes(plan->raw_tables.data(), group_count, stride, stride, 2);
  }
  const size_t chunks = (plan->cols + 15) / 16;
  plan->chunk_aligned_groups = lut.gc == 1 || plan->group_cols % 16 == 0;
  if (plan->chunk_aligned_groups) {
    plan->chunk_table_offset.resize(chunks);
    for (size_t c = 0; c < chunks; ++c) {
      plan->chunk_table_offset[c] = (c * 16 / plan->group_cols) * stride;
    }
  } else {
    if (group_count * stride >= (size_t{1} << 31)) {
      return Fail(ctx, WK_ERROR_UNSUPPORTED, "lut: too many column groups");
    }
    plan->lane_table_offset.assign(chunks * 16, 0);
    for (size_t k = 0; k < plan->cols; ++k) {
      plan->lane_table_offset[k] = static_cast<int32_t>((k / plan->group_cols) * stride);
    }
  }
  plan->row_info.resize(plan->rows);
  const size_t group_rows = plan->rows / static_cast<size_t>(lut.gr);
  for (size_t r = 0; r < plan->rows; ++r) {
    plan->row_info[r].table_offset = (r / group_rows) * static_cast<size_t>(lut.gc) * stride;
    plan->row_info[r].scale_offset = 0;
  }

  plan->scale_mode = LutScaleMode::kNone;
  if (has_dense_scale) {
    const size_t sr = static_cast<size_t>(dense_scale.scale_dims[0]);
    const size_t sc = static_cast<size_t>(dense_scale.scale_dims[1]);
    const size_t block_rows = plan->rows / sr;
    const size_t block_cols = plan->cols / sc;
    auto scale_at = [&](size_t i) {
      return ValueOf(dense_scale.scale_dtype, ReadRawElement(dense_scale.scale, dense_scale.scale_dtype, i));
    };
    if (sc == 1) {
      plan->scale_mode = LutScaleMode::kPerRow;
      plan->scale_values.resize(sr);
      for (size_t i = 0; i < sr; ++i) plan->scale_values[i] = scale_at(i);
      for (size_t r = 0; r < plan->rows; ++r) plan->row_info[r].scale_offset = r / block_rows;
    } else {
      plan->scale_mode = LutScaleMode::kPerColumn;
      const size_t padded = chunks * 16;
      plan->scale_values.assign(sr * padded, 0.0f);
      for (size_t i = 0; i < sr; ++i) {
        for (size_t k = 0; k < plan->cols; ++k) {
          plan->scale_values[i * padded + k] = scale_at(i * sc + k / block_cols);
        }
      }
      for (size_t r = 0; r < plan->rows; ++r) {
        plan->row_info[r].scale_offset = (r / block_rows) * padded;
      }
    }
  }
  return WK_OK;
}

struct LutMatrix final : wk_matrix {
  LutMatrixPlan plan;

  void Gemv(uint64_t target, const GemvOperands& io) const override {
    if (plan.nbits < 4) {
      RunLutMatrixGemvNarrow(target, plan, io);
    } else {
      RunLutMatrixGemvWide(target, plan, io);
    }
  }

  void Decompress(uint64_t target, uint8_t* out, size_t row_begin, size_t row_end) const override {
    RunLutMatrixDecompress(target, plan, out, row_begin, row_end);
  }

  // The staged GEMV covers 4- and 6-bit tables, and 1-3 bits on 8-lane targets (8-bit half
  // planes serve AVX3_DL's look-ups, and narrower ones its decompression).
  bool StagesHalfWeights() const override {
    return (plan.nbits <= 4 || plan.nbits == 6) && !plan.half_planes.empty();
  }

  wk_status Build(const wk_lut_matrix_desc* desc, wk_context* ctx) {
    WK_TRY(BuildPlan(desc, ctx, &plan));
    SetInfo(WK_FORMAT_PALETTIZED, plan.rows, plan.cols, plan.weight_dtype, desc->indices->dtype,
            plan.compressed_bytes);
    info.nbits = plan.nbits;
    info.has_lut = 1;
    info.has_scale = desc->lut_scale != nullptr || desc->scale != nullptr;
    info.has_offset = desc->lut_offset != nullptr;
    regions[0] = {plan.indices, plan.index_bytes, "the indices"};
    return WK_OK;
  }
};

}  // namespace
}  // namespace wk

extern "C" {

wk_status wk_lut_to_dense_ios16(const wk_tensor* indices, const wk_tensor* lut,
                                const wk_tensor* shape, const wk_buffer* out,
                                wk_tensor_info* info, wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  LutSpec spec;
  WK_TRY(CheckIOS16(indices, lut, shape, ctx, &spec));
  return RunDecompress(spec, target, out, info, indices, lut, shape, ctx);
}

wk_status wk_lut_to_dense_ios18(const wk_tensor* indices, const wk_tensor* lut,
                                const int32_t* vector_axis, const wk_buffer* out,
                                wk_tensor_info* info, wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  LutSpec spec;
  WK_TRY(CheckIOS18(indices, lut, vector_axis, ctx, &spec));
  return RunDecompress(spec, target, out, info, indices, lut, nullptr, ctx);
}

wk_status wk_lut_matrix_create(const wk_lut_matrix_desc* desc, wk_matrix** matrix,
                               wk_context* ctx) {
  return CreateMatrix<LutMatrix>(desc, matrix, ctx);
}

}  // extern "C"
