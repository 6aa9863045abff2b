#include "common/targets.h"

#include "hwy/highway.h"

namespace wk {
namespace {

constexpr uint64_t kCompiled = static_cast<uint64_t>(HWY_TARGETS);

// CPUID is costly in Highway 1.0.3 (~16 us per call); the answer cannot change in a process.
uint64_t Supported() {
  static const uint64_t supported = static_cast<uint64_t>(hwy::SupportedTargets()) & kCompiled;
  return supported;
}

}  // namespace

wk_status ResolveTarget(wk_context* ctx, uint64_t* target) {
  const uint64_t wanted = ctx != nullptr ? ctx->target : 0;
  if (ctx != nullptr && ctx->threads > WK_MAX_THREADS) {
    return Fail(ctx, WK_ERROR_INVALID_ARGUMENT, "threads: %u; at most %d", ctx->threads,
                WK_MAX_THREADS);
  }
  if (wanted == 0) {
    *target = wk_best_target();
    return WK_OK;
  }
  if ((wanted & (wanted - 1)) != 0 || (wanted & kCompiled) == 0) {
    return Fail(ctx, WK_ERROR_UNSUPPORTED_TARGET, "target 0x%llx is not a compiled target",
                static_cast<unsigned long long>(wanted));
  }
  if ((wanted & Supported()) == 0) {
    return Fail(ctx, WK_ERROR_UNSUPPORTED_TARGET, "target %s is not supported by this CPU",
                hwy::TargetName(static_cast<int64_t>(wanted)));
  }
  *target = wanted;
  return WK_OK;
}

}  // namespace wk

extern "C" {

size_t wk_compiled_targets(uint64_t* targets, size_t capacity) {
  size_t count = 0;
  // Lower bits are better targets in Highway's numbering.
  for (uint64_t bits = wk::kCompiled; bits != 0; bits &= bits - 1) {
    const uint64_t target = bits & (~bits + 1);
    if (targets != nullptr && count < capacity) targets[count] = target;
    ++count;
  }
  return count;
}

uint64_t wk_supported_targets(void) { return wk::Supported(); }

uint64_t wk_best_target(void) {
  const uint64_t supported = wk::Supported();
  return supported & (~supported + 1);
}

const char* wk_target_name(uint64_t target) {
  if (target == 0 || (target & (target - 1)) != 0 || (target & wk::kCompiled) == 0) {
    return "unknown";
  }
  return hwy::TargetName(static_cast<int64_t>(target));
}

}  // extern "C"
