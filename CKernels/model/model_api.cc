// C ABI of the Core ML model reader (issue 11). First version: the agreed entry points, every
// one validating its arguments; reading lands in the following commits.
#include "common/status.h"
#include "include/weightkernels.h"

extern "C" {

wk_status wk_model_open(const char* mlpackage_dir, wk_model** model, wk_context* ctx) {
  if (model != nullptr) *model = nullptr;
  if (mlpackage_dir == nullptr || model == nullptr)
    return wk::Fail(ctx, WK_ERROR_NULL_ARGUMENT, "model: NULL argument");
  return wk::Fail(ctx, WK_ERROR_UNSUPPORTED, "model: reader not implemented yet");
}

wk_status wk_model_open_memory(const void* program, size_t program_bytes, const void* weights,
                               size_t weights_bytes, wk_model** model, wk_context* ctx) {
  if (model != nullptr) *model = nullptr;
  if (program == nullptr || model == nullptr || (weights == nullptr && weights_bytes > 0))
    return wk::Fail(ctx, WK_ERROR_NULL_ARGUMENT, "model: NULL argument");
  (void)program_bytes;
  return wk::Fail(ctx, WK_ERROR_UNSUPPORTED, "model: reader not implemented yet");
}

void wk_model_close(wk_model* model) { (void)model; }

size_t wk_model_weight_count(const wk_model* model) { (void)model; return 0; }

wk_status wk_model_get_weight(const wk_model* model, size_t index, wk_model_weight_info* info) {
  if (model == nullptr || info == nullptr) return WK_ERROR_NULL_ARGUMENT;
  (void)index;
  return WK_ERROR_INVALID_ARGUMENT;
}

wk_status wk_model_weight_matrix(const wk_model* model, size_t index, wk_matrix** matrix,
                                 wk_context* ctx) {
  if (matrix != nullptr) *matrix = nullptr;
  if (model == nullptr || matrix == nullptr)
    return wk::Fail(ctx, WK_ERROR_NULL_ARGUMENT, "model: NULL argument");
  (void)index;
  return wk::Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "model: weight index out of range");
}

wk_status wk_model_weight_decompress(const wk_model* model, size_t index, const wk_buffer* out,
                                     wk_context* ctx) {
  if (model == nullptr || out == nullptr)
    return wk::Fail(ctx, WK_ERROR_NULL_ARGUMENT, "model: NULL argument");
  (void)index;
  return wk::Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "model: weight index out of range");
}

}  // extern "C"
