// C ABI for linear quantization beyond wk_blockwise_shift_scale: constexpr_affine_dequantize
// (iOS16, FORMATS.md §5), constexpr_sparse_blockwise_shift_scale (§7.5), and prepared quantized
// matrices for the fused dequantize-GEMV.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>

#include "common/targets.h"
#include "common/tensor.h"
#include "matrix/matrix.h"
#include "gemv/gemv_operands.h"
#include "quantization/bss_spec.h"
#include "quantization/quant_plan.h"


namespace wk {
namespace {

float Quiet(float nan) { return BitsFloat(FloatBits(nan) | 0x00400000u); }

// The exact value of a raw element (integers sign-extended by ReadRawElement).
float ValueOf(int32_t dtype, uint32_t raw) {
  if (dtype == WK_DTYPE_FP16) return F16ToF32(static_cast<uint16_t>(raw));
  if (dtype == WK_DTYPE_FP32) return BitsFloat(raw);
  return static_cast<float>(static_cast<int32_t>(raw));
}

// One affine element: d = RN32(q - zp), p = RN32(d * s), RN16(p) for an fp16 scale; a NaN
// operand propagates quieted, the data side (zp, then d) first, as the reference does.
uint32_t AffineElement(float q, float zp, int32_t scale_dtype, float s) {
  float d = q - zp;
  if (std::isnan(zp)) d = Quiet(zp);
  float p = d * s;
  if (std::isnan(d)) {
    p = Quiet(d);
  } else if (std::isnan(s)) {
    p = Quiet(s);
  }
  return scale_dtype == WK_DTYPE_FP16 ? F32ToF16(p) : FloatBits(p);
}

bool Bit(const uint8_t* p, uint64_t i) { return (p[i >> 3] >> (i & 7)) & 1u; }

wk_status BuildPlan(const wk_quant_matrix_desc* desc, wk_context* ctx, QuantMatrixPlan* plan) {
  if (desc == nullptr) return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "desc is NULL");
  const wk_tensor* data = desc->data;
  WK_TRY(CheckTensor(data, "data", ctx, nullptr));
  if (!IsQuantizedDType(data->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "data: dtype %s; int4, uint4, int8 or uint8 expected",
                wk_dtype_name(data->dtype));
  }
  if (data->rank != 2 || data->shape[0] < 1 || data->shape[1] < 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "data: a [rows, cols] matrix with rows, cols >= 1 expected");
  }
  BssSpec spec;
  WK_TRY(CheckBss(data->dtype, 2, data->shape, desc->scale, desc->offset, "scale", ctx, &spec));
  plan->data = static_cast<const uint8_t*>(data->data);
  plan->data_bytes = data->nbytes;
  plan->data_dtype = data->dtype;
  plan->rows = static_cast<size_t>(data->shape[0]);
  plan->cols = static_cast<size_t>(data->shape[1]);
  plan->weight_dtype = spec.scale_dtype;
  BuildQuantScaleGrid(spec, plan->rows, plan->cols, &plan->grid);
  const size_t sr = static_cast<size_t>(spec.scale_dims[0]);
  const size_t sc = static_cast<size_t>(spec.scale_dims[1]);
  plan->compressed_bytes = data->nbytes + desc->scale->nbytes +
                           (desc->offset != nullptr ? desc->offset->nbytes : 0);
  plan->w8a8_eligible = data->dtype == WK_DTYPE_INT8 && spec.offset_dtype == 0 && sc == 1 &&
                        (sr == 1 || sr == plan->rows);
  if (plan->w8a8_eligible) {
    plan->row_sums.resize(plan->rows);
    const int8_t* w = static_cast<const int8_t*>(data->data);
    for (size_t r = 0; r < plan->rows; ++r) {
      int32_t sum = 0;
      for (size_t k = 0; k < plan->cols; ++k) sum += w[r * plan->cols + k];
      plan->row_sums[r] = sum;
    }
  }
  return WK_OK;
}

struct QuantMatrix final : wk_matrix {
  QuantMatrixPlan plan;

  void Gemv(uint64_t target, const GemvOperands& io) const override {
    if (plan.data_dtype == WK_DTYPE_INT8 || plan.data_dtype == WK_DTYPE_UINT8) {
      RunQuantMatrixGemvBytes(target, plan, io);
    } else {
      RunQuantMatrixGemvNibbles(target, plan, io);
    }
  }

  void Decompress(uint64_t target, uint8_t* out, size_t row_begin, size_t row_end) const override {
    RunQuantMatrixDecompress(target, plan, out, row_begin, row_end);
  }

  const QuantMatrixPlan* W8A8Plan() const override { return &plan; }

  bool StagesHalfWeights() const override { return QuantHalfWeights(plan); }

  wk_status Build(const wk_quant_matrix_desc* desc, wk_context* ctx) {
    WK_TRY(BuildPlan(desc, ctx, &plan));
    SetInfo(WK_FORMAT_QUANTIZED, plan.rows, plan.cols, plan.weight_dtype, plan.data_dtype,
            plan.compressed_bytes);
    info.has_scale = 1;
    info.has_offset = desc->offset != nullptr;
    info.w8a8 = plan.w8a8_eligible && plan.cols <= kW8A8MaxCols;
    regions[0] = {plan.data, plan.data_bytes, "the data"};
    return WK_OK;
  }
};

}  // namespace

void BuildQuantScaleGrid(const BssSpec& spec, size_t rows, size_t cols, QuantScaleGrid* grid) {
  const size_t sr = static_cast<size_t>(spec.scale_dims[0]);
  const size_t sc = static_cast<size_t>(spec.scale_dims[1]);
  grid->round_f16 = spec.scale_dtype == WK_DTYPE_FP16;
  grid->round_difference = grid->round_f16 && IsFloatDType(spec.offset_dtype);
  grid->scale_cols = sc;
  grid->rows_per_block = rows / sr;
  grid->scale.resize(sr * sc);
  grid->offset.assign(sr * sc, 0.0f);
  for (size_t i = 0; i < sr * sc; ++i) {
    grid->scale[i] = ValueOf(spec.scale_dtype, ReadRawElement(spec.scale, spec.scale_dtype, i));
    if (spec.offset_dtype != 0) {
      grid->offset[i] = ValueOf(spec.offset_dtype, ReadRawElement(spec.offset, spec.offset_dtype, i));
    }
  }
  grid->zero_offset = std::all_of(grid->offset.begin(), grid->offset.end(),
                                  [](float o) { return o == 0.0f; });
  grid->finite_scale = std::all_of(grid->scale.begin(), grid->scale.end(),
                                   [](float s) { return std::isfinite(s); });
  const size_t block = static_cast<size_t>(spec.block[1]);
  const size_t chunks = (cols + 15) / 16;
  grid->chunk_uniform = sc == 1 || block % 16 == 0;
  if (grid->chunk_uniform) {
    grid->chunk_block.resize(chunks);
    for (size_t c = 0; c < chunks; ++c) grid->chunk_block[c] = static_cast<uint32_t>(16 * c / block);
  } else {
    grid->lane_block.resize(16 * chunks);
    for (size_t k = 0; k < 16 * chunks; ++k) {
      grid->lane_block[k] = static_cast<int32_t>(HWY_MIN(k, cols - 1) / block);
    }
  }
}

}  // namespace wk

using namespace wk;

extern "C" {

wk_status wk_affine_dequantize(const wk_tensor* quantized_data, const wk_tensor* zero_point,
                               const wk_tensor* scale, int32_t axis, const wk_buffer* out,
                               wk_tensor_info* info, wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  uint64_t count = 0;
  uint64_t zp_count = 0;
  uint64_t scale_count = 0;
  WK_TRY(CheckTensor(quantized_data, "quantized_data", ctx, &count));
  WK_TRY(CheckTensor(zero_point, "zero_point", ctx, &zp_count));
  WK_TRY(CheckTensor(scale, "scale", ctx, &scale_count));
  const int32_t q_dtype = quantized_data->dtype;
  if (q_dtype != WK_DTYPE_INT8 && q_dtype != WK_DTYPE_UINT8) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "quantized_data: dtype %s; int8 or uint8 expected",
                wk_dtype_name(q_dtype));
  }
  const int32_t zp_dtype = zero_point->dtype;
  if (zp_dtype != WK_DTYPE_INT8 && zp_dtype != WK_DTYPE_UINT8 && zp_dtype != WK_DTYPE_FP32) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "zero_point: dtype %s; int8, uint8 or fp32 expected",
                wk_dtype_name(zp_dtype));
  }
  if (!IsFloatDType(scale->dtype)) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "scale: dtype %s; fp16 or fp32 expected",
                wk_dtype_name(scale->dtype));
  }
  const int32_t rank = static_cast<int32_t>(quantized_data->rank);
  if (axis < -rank || axis >= rank) {
    return Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "axis: %d outside [%d, %d)", axis, -rank, rank);
  }
  const int32_t a = axis < 0 ? axis + rank : axis;
  const int64_t extent = quantized_data->shape[a];
  if (scale->rank > 1 || zero_point->rank > 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "scale and zero_point must be scalars or vectors");
  }
  if (scale->rank == 1 && scale->shape[0] != extent) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "scale: %lld values, quantized_data has %lld along axis %d",
                static_cast<long long>(scale->shape[0]), static_cast<long long>(extent), a);
  }
  if (zero_point->rank == 1 && zero_point->shape[0] != extent) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE,
                "zero_point: %lld values, quantized_data has %lld along axis %d",
                static_cast<long long>(zero_point->shape[0]), static_cast<long long>(extent), a);
  }
  wk_tensor_info result;
  SetInfo(&result, scale->dtype, quantized_data->rank, quantized_data->shape);
  if (info != nullptr) *info = result;
  if (out == nullptr) return WK_OK;
  WK_TRY(CheckOutput(out, result.nbytes, "output", ctx));
  WK_TRY(CheckDisjoint(out, quantized_data, "quantized_data", ctx));
  WK_TRY(CheckDisjoint(out, zero_point, "zero_point", ctx));
  WK_TRY(CheckDisjoint(out, scale, "scale", ctx));
  const DefaultFloatEnvironment env;
  uint64_t inner = 1;
  for (int32_t d = a + 1; d < rank; ++d) inner *= static_cast<uint64_t>(quantized_data->shape[d]);
  const uint8_t* q = static_cast<const uint8_t*>(quantized_data->data);
  const uint8_t* zp = static_cast<const uint8_t*>(zero_point->data);
  const uint8_t* s = static_cast<const uint8_t*>(scale->data);
  uint8_t* y = static_cast<uint8_t*>(out->data);
  const size_t out_bytes = scale->dtype == WK_DTYPE_FP16 ? 2 : 4;
  for (uint64_t i = 0; i < count; ++i) {
    const uint64_t channel = (i / inner) % static_cast<uint64_t>(extent);
    const float zv = ValueOf(zp_dtype, ReadRawElement(zp, zp_dtype, zp_count == 1 ? 0 : channel));
    const float sv = ValueOf(scale->dtype, ReadRawElement(s, scale->dtype, scale_count == 1 ? 0 : channel));
    const uint32_t r =
        AffineElement(ValueOf(q_dtype, ReadRawElement(q, q_dtype, i)), zv, scale->dtype, sv);
    std::memcpy(y + i * out_bytes, &r, out_bytes);
  }
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

wk_status wk_sparse_blockwise_shift_scale(const wk_tensor* data_mask, const wk_tensor* nonzero_data,
                                          const wk_tensor* scale, const wk_tensor* offset,
                                          const wk_buffer* out_mask, const wk_buffer* out_values,
                                          wk_tensor_info* mask_info, wk_tensor_info* values_info,
                                          wk_context* ctx) {
  uint64_t target = 0;
  WK_TRY(ResolveTarget(ctx, &target));
  uint64_t count = 0;
  uint64_t nonzeros = 0;
  WK_TRY(CheckTensor(data_mask, "data_mask", ctx, &count));
  WK_TRY(CheckTensor(nonzero_data, "nonzero_data", ctx, &nonzeros));
  if (data_mask->dtype != WK_DTYPE_UINT1) {
    return Fail(ctx, WK_ERROR_INVALID_DTYPE, "data_mask: dtype %s; uint1 expected",
                wk_dtype_name(data_mask->dtype));
  }
  if (nonzero_data->rank != 1) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "nonzero_data: rank %u; rank 1 expected",
                nonzero_data->rank);
  }
  const uint8_t* mask = static_cast<const uint8_t*>(data_mask->data);
  uint64_t ones = 0;
  for (uint64_t i = 0; i < count; ++i) ones += Bit(mask, i);
  if (ones != nonzeros) {
    return Fail(ctx, WK_ERROR_INVALID_SHAPE, "data_mask: %llu ones but nonzero_data holds %llu values",
                static_cast<unsigned long long>(ones), static_cast<unsigned long long>(nonzeros));
  }
  BssSpec spec;
  WK_TRY(CheckBss(nonzero_data->dtype, data_mask->rank, data_mask->shape, scale, offset, "scale",
                  ctx, &spec));
  const int64_t value_count = static_cast<int64_t>(nonzeros);
  wk_tensor_info m_info;
  wk_tensor_info v_info;
  SetInfo(&m_info, WK_DTYPE_UINT1, data_mask->rank, data_mask->shape);
  SetInfo(&v_info, spec.scale_dtype, 1, &value_count);
  if (mask_info != nullptr) *mask_info = m_info;
  if (values_info != nullptr) *values_info = v_info;
  const wk_tensor* inputs[] = {data_mask, nonzero_data, scale, offset};
  const char* names[] = {"data_mask", "nonzero_data", "scale", "offset"};
  bool run = false;
  WK_TRY(CheckOutputPair(out_mask, m_info.nbytes, out_values, v_info.nbytes, inputs, names, 4,
                         ctx, &run));
  if (!run) return WK_OK;
  const DefaultFloatEnvironment env;
  // The mask passes through unchanged, padding bits included.
  if (m_info.nbytes != 0) std::memcpy(out_mask->data, mask, m_info.nbytes);
  const uint8_t* x = static_cast<const uint8_t*>(nonzero_data->data);
  uint8_t* y = static_cast<uint8_t*>(out_values->data);
  const size_t out_bytes = spec.scale_dtype == WK_DTYPE_FP16 ? 2 : 4;
  uint64_t j = 0;
  for (uint64_t i = 0; i < count; ++i) {
    if (!Bit(mask, i)) continue;
    const uint32_t r = BssElementAt(spec, ReadRawElement(x, spec.data_dtype, j), BssScaleIndex(spec, i));
    std::memcpy(y + j * out_bytes, &r, out_bytes);
    ++j;
  }
  if (ctx != nullptr) ctx->used_target = target;
  return WK_OK;
}

wk_status wk_quant_matrix_create(const wk_quant_matrix_desc* desc, wk_matrix** matrix,
                                 wk_context* ctx) {
  return CreateMatrix<QuantMatrix>(desc, matrix, ctx);
}

}  // extern "C"
