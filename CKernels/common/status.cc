#include "common/status.h"

#include <cstdio>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace wk {

wk_status Fail(wk_context* ctx, wk_status status, const char* format, ...) {
  if (ctx != nullptr) {
    va_list args;
    va_start(args, format);
    std::vsnprintf(ctx->message, sizeof(ctx->message), format, args);
    va_end(args);
  }
  return status;
}

#if defined(__x86_64__) || defined(__i386__)
// MXCSR: exception masks (0x1F80) set, round to nearest, FTZ (bit 15) and DAZ (bit 6) clear.
constexpr unsigned kDefaultMxcsr = 0x1F80;
DefaultFloatEnvironment::DefaultFloatEnvironment() : saved_(_mm_getcsr()) {
  if (saved_ != kDefaultMxcsr) _mm_setcsr(kDefaultMxcsr);
}
DefaultFloatEnvironment::~DefaultFloatEnvironment() {
  if (saved_ != kDefaultMxcsr) _mm_setcsr(saved_);
}
#else
DefaultFloatEnvironment::DefaultFloatEnvironment() : saved_(0) {}
DefaultFloatEnvironment::~DefaultFloatEnvironment() {}
#endif

}  // namespace wk

extern "C" {

uint32_t wk_version(void) { return WK_VERSION_MAJOR * 1000 + WK_VERSION_MINOR; }

void wk_context_init(wk_context* ctx) {
  if (ctx == nullptr) return;
  ctx->target = 0;
  ctx->threads = 1;
  ctx->reserved = 0;
  ctx->parallel_for = nullptr;
  ctx->parallel_for_pool = nullptr;
  ctx->used_target = 0;
  ctx->message[0] = '\0';
}

const char* wk_status_name(wk_status status) {
  switch (status) {
    case WK_OK: return "ok";
    case WK_ERROR_NULL_ARGUMENT: return "null argument";
    case WK_ERROR_INVALID_DTYPE: return "invalid dtype";
    case WK_ERROR_INVALID_SHAPE: return "invalid shape";
    case WK_ERROR_SIZE_MISMATCH: return "size mismatch";
    case WK_ERROR_INVALID_ARGUMENT: return "invalid argument";
    case WK_ERROR_ALIASING: return "aliasing";
    case WK_ERROR_UNSUPPORTED_TARGET: return "unsupported target";
    case WK_ERROR_UNSUPPORTED: return "unsupported";
    case WK_ERROR_OUT_OF_MEMORY: return "out of memory";
    case WK_ERROR_IO: return "i/o error";
    case WK_ERROR_INVALID_MODEL: return "invalid model";
  }
  return "unknown status";
}

}  // extern "C"
