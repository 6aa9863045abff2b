// Internal: how a call's tasks run — on the calling thread, the library's persistent pool, or a
// parallel-for the caller lends through wk_context.
#ifndef WK_COMMON_THREAD_POOL_H_
#define WK_COMMON_THREAD_POOL_H_

#include <cstddef>

#include "include/weightkernels.h"

namespace wk {

// Threads a call may use: ctx->threads, 0 meaning every CPU of the process's affinity mask.
// A caller-supplied parallel_for reports the same count (it sets only how finely work is split).
size_t RequestedThreads(const wk_context* ctx);

// Runs task(data, i) for every i in [0, count) and returns when all have returned: inline when
// count is 1 or, without ctx->parallel_for, threads (RequestedThreads(ctx)) is 1; else on
// ctx->parallel_for or the library's pool (the calling thread takes tasks too). Tasks must not
// throw.
void RunTasks(const wk_context* ctx, size_t threads, size_t count, wk_task_fn task, void* data);

}  // namespace wk

#endif  // WK_COMMON_THREAD_POOL_H_
