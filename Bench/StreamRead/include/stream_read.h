// kernel-bench's memory roofline: the read bandwidth one core, or n cores at once, get from DRAM.
#ifndef KERNEL_BENCH_STREAM_READ_H_
#define KERNEL_BENCH_STREAM_READ_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Reads [data, data + bytes) once as `streams` interleaved sequential streams (each a
/// contiguous 1/streams of the buffer, advanced in 256-byte steps with software prefetch ahead),
/// the access pattern of a GEMV over `streams` rows. Returns a value depending on every byte so
/// that the reads cannot be elided. bytes must be a multiple of 256 * streams.
uint64_t kb_stream_read(const void* data, size_t bytes, unsigned streams);

/// `threads` threads read [data, data + bytes) at once, each its own contiguous slice of
/// bytes / threads (rounded down to a multiple of 256 * streams) with kb_stream_read(…, streams):
/// one untimed pass, then `passes` timed ones. seconds[p] receives pass p's wall time (common
/// start at a barrier to the last thread's end). Returns the bytes read per pass (summed over the
/// threads), or 0 if the threads could not be started.
size_t kb_stream_read_threads(const void* data, size_t bytes, unsigned threads, unsigned streams,
                              unsigned passes, double* seconds);

/// CPUs this process may run on (sched_getaffinity), at least 1.
unsigned kb_available_cpus(void);

#ifdef __cplusplus
}
#endif

#endif  // KERNEL_BENCH_STREAM_READ_H_
