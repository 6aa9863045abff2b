// Target registry, compiled for every target only to ask each how wide its vectors run.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "common/targets.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include "common/simd-inl.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// Kernels lay a 16-column chunk over kVecs vectors of kLanes lanes, both fixed at compile time.
// A scalable target whose vectors are shorter at run time cannot run them: generic SVE and SVE2
// below 512 bits (at 128 and 256 bits Highway's SVE2_128 and SVE_256 take over, but SVE at 128
// or 384 bits has no such target; make test-arm shows the wrong sums otherwise).
bool ChunkLanesFit() { return hn::Lanes(DF()) == kLanes; }

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {
namespace {

constexpr uint64_t kCompiled = static_cast<uint64_t>(HWY_TARGETS);

HWY_EXPORT(ChunkLanesFit);

// CPUID is costly in Highway 1.0.3 (~16 us per call); the answer cannot change in a process.
uint64_t Supported() {
  static const uint64_t supported = [] {
    uint64_t bits = static_cast<uint64_t>(hwy::SupportedTargets()) & kCompiled;
    for (uint64_t rest = bits; rest != 0; rest &= rest - 1) {
      const uint64_t target = rest & (~rest + 1);
      if (!KernelFor(HWY_DISPATCH_TABLE(ChunkLanesFit), target)()) bits &= ~target;
    }
    return bits;
  }();
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
  // SVE kernels keep groups of vectors in stack buffers (sizeless types have no arrays), and no
  // SVE hardware has timed them against NEON's registers: NEON stays the default beside them.
  constexpr uint64_t kExplicitOnly = HWY_SVE | HWY_SVE2 | HWY_SVE_256 | HWY_SVE2_128;
  const uint64_t supported = wk::Supported();
  const uint64_t preferred =
      (supported & ~kExplicitOnly) != 0 ? supported & ~kExplicitOnly : supported;
  return preferred & (~preferred + 1);
}

const char* wk_target_name(uint64_t target) {
  if (target == 0 || (target & (target - 1)) != 0 || (target & wk::kCompiled) == 0) {
    return "unknown";
  }
  return hwy::TargetName(static_cast<int64_t>(target));
}

}  // extern "C"
#endif  // HWY_ONCE
