// Internal: the SIMD target registry. Maps a target bit to its slot in an HWY_EXPORT table, so a
// kernel can run on any chosen target without touching Highway's global dispatch state.
#ifndef WK_COMMON_TARGETS_H_
#define WK_COMMON_TARGETS_H_

#include <cstddef>
#include <cstdint>

#include "common/hwy_config.h"
#include "common/status.h"
#include "hwy/targets.h"

namespace wk {

// With a single compiled target Highway makes one-entry HWY_EXPORT tables, which DispatchIndex
// would overrun; hwy_config.h keeps EMU128 compiled beside the baseline for that reason.
static_assert((HWY_TARGETS & (HWY_TARGETS - 1)) != 0, "KernelFor needs two or more compiled targets");

// Slot of `target` (a single compiled target bit) in a table made by HWY_EXPORT.
inline size_t DispatchIndex(uint64_t target) {
  if (target == HWY_EMU128 || target == HWY_SCALAR) return HWY_MAX_DYNAMIC_TARGETS + 1;
  return static_cast<size_t>(hwy::Num0BitsBelowLS1Bit_Nonzero64(
      static_cast<uint64_t>(HWY_CHOSEN_TARGET_SHIFT(static_cast<int64_t>(target)))));
}

// The kernel compiled for `target` from an HWY_EXPORT table.
template <typename Fn>
Fn KernelFor(Fn const* table, uint64_t target) {
  return table[DispatchIndex(target)];
}

// Picks the target for a call from ctx (0 = best supported) and checks the thread count.
// Fails with WK_ERROR_UNSUPPORTED_TARGET for a target not compiled or not supported here.
wk_status ResolveTarget(wk_context* ctx, uint64_t* target);

}  // namespace wk

#endif  // WK_COMMON_TARGETS_H_
