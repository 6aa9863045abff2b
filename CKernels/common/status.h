// Internal: reporting failures through wk_context, and the x86 floating-point environment guard.
#ifndef WK_COMMON_STATUS_H_
#define WK_COMMON_STATUS_H_

#include <cstdarg>

#include "include/weightkernels.h"

namespace wk {

// Writes a printf-style message into ctx (if any) and returns status, so callers can
// `return Fail(ctx, WK_ERROR_INVALID_SHAPE, "lut: rank %u", rank);`.
wk_status Fail(wk_context* ctx, wk_status status, const char* format, ...)
    __attribute__((format(printf, 3, 4)));

// Propagates a failure: `WK_TRY(CheckSomething(...));`.
#define WK_TRY(expr)                      \
  do {                                    \
    const wk_status wk_try_status = (expr); \
    if (wk_try_status != WK_OK) return wk_try_status; \
  } while (0)

// Kernels assume round-to-nearest-even without flush-to-zero or denormals-are-zero; a caller may
// have changed MXCSR (some runtimes set FTZ/DAZ). Sets the default for the scope and restores.
class DefaultFloatEnvironment {
 public:
  DefaultFloatEnvironment();
  ~DefaultFloatEnvironment();
  DefaultFloatEnvironment(const DefaultFloatEnvironment&) = delete;
  DefaultFloatEnvironment& operator=(const DefaultFloatEnvironment&) = delete;

 private:
  unsigned saved_;
};

}  // namespace wk

#endif  // WK_COMMON_STATUS_H_
