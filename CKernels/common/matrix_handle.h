// Internal: the lifecycle every prepared-matrix handle of the C ABI shares (wk_lut_matrix,
// wk_sparse_matrix, wk_quant_matrix): allocate, build the plan, hand out or free.
#ifndef WK_COMMON_MATRIX_HANDLE_H_
#define WK_COMMON_MATRIX_HANDLE_H_

#include <new>

#include "common/status.h"

namespace wk {

// `build(plan)` validates and fills the handle's plan; on failure nothing is handed out.
template <class Handle, class Build>
wk_status CreateMatrix(Handle** matrix, wk_context* ctx, const Build& build) {
  if (matrix == nullptr) return Fail(ctx, WK_ERROR_NULL_ARGUMENT, "matrix is NULL");
  *matrix = nullptr;
  Handle* m = new (std::nothrow) Handle();
  if (m == nullptr) return Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "matrix: allocation failed");
  wk_status status;
  try {
    status = build(&m->plan);
  } catch (const std::bad_alloc&) {
    status = Fail(ctx, WK_ERROR_OUT_OF_MEMORY, "matrix tables: allocation failed");
  }
  if (status != WK_OK) {
    delete m;
    return status;
  }
  *matrix = m;
  return WK_OK;
}

}  // namespace wk

#endif  // WK_COMMON_MATRIX_HANDLE_H_
