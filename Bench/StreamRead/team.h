// A team of threads that run the same timed work at once: kernel-bench's multi-threaded ceilings.
#ifndef KERNEL_BENCH_TEAM_H_
#define KERNEL_BENCH_TEAM_H_

#include <stddef.h>

/// Work of team member `index` (0 is the calling thread) in one pass.
typedef void (*kb_team_fn)(void* arg, unsigned index);

/// Runs fn on `threads` threads (the caller and threads - 1 new pthreads) for one untimed pass and
/// then `passes` timed ones. Every pass starts at a barrier; seconds[p] receives pass p's wall time
/// from the earliest start to the latest end among the members. Returns 0, or -1 if a thread could
/// not be created (seconds is then left unset).
int kb_team_run(unsigned threads, unsigned passes, kb_team_fn fn, void* arg, double* seconds);

#endif  // KERNEL_BENCH_TEAM_H_
