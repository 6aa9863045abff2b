// kernel-bench's roofline: the read bandwidth one core gets from DRAM.
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

#ifdef __cplusplus
}
#endif

#endif  // KERNEL_BENCH_STREAM_READ_H_
