#define _GNU_SOURCE
#include "stream_read.h"

#include <sched.h>
#include <unistd.h>

#include "team.h"

// 16-byte vectors: the SSE2/NEON baseline needs no target flags, and two such loads per cycle
// far exceed what DRAM delivers to one core.
typedef uint64_t v2u64 __attribute__((vector_size(16)));

#define MAX_STREAMS 16

uint64_t kb_stream_read(const void* data, size_t bytes, unsigned streams) {
  if (streams == 0 || streams > MAX_STREAMS) streams = 1;
  const size_t span = bytes / streams;
  const unsigned char* base[MAX_STREAMS];
  for (unsigned s = 0; s < streams; ++s) base[s] = (const unsigned char*)data + s * span;
  v2u64 a0 = {0, 0}, a1 = {0, 0}, a2 = {0, 0}, a3 = {0, 0};
  for (size_t off = 0; off + 256 <= span; off += 256) {
    for (unsigned s = 0; s < streams; ++s) {
      const unsigned char* p = base[s] + off;
      __builtin_prefetch(p + 2048);
      __builtin_prefetch(p + 2048 + 64);
      __builtin_prefetch(p + 2048 + 128);
      __builtin_prefetch(p + 2048 + 192);
      for (int i = 0; i < 256; i += 64) {
        a0 ^= *(const v2u64*)(p + i);
        a1 ^= *(const v2u64*)(p + i + 16);
        a2 ^= *(const v2u64*)(p + i + 32);
        a3 ^= *(const v2u64*)(p + i + 48);
      }
    }
  }
  const v2u64 a = a0 ^ a1 ^ a2 ^ a3;
  return a[0] ^ a[1];
}

typedef struct {
  const unsigned char* data;
  size_t slice;
  unsigned streams;
  volatile uint64_t sink[64];  // one per thread (at most 64 distinct slots; collisions are harmless)
} stream_job_t;

static void stream_member(void* arg, unsigned index) {
  stream_job_t* job = (stream_job_t*)arg;
  job->sink[index % 64] ^= kb_stream_read(job->data + (size_t)index * job->slice, job->slice, job->streams);
}

size_t kb_stream_read_threads(const void* data, size_t bytes, unsigned threads, unsigned streams,
                              unsigned passes, double* seconds) {
  if (threads == 0) threads = 1;
  if (streams == 0 || streams > MAX_STREAMS) streams = 1;
  const size_t step = (size_t)256 * streams;
  stream_job_t job = {
      .data = (const unsigned char*)data, .slice = bytes / threads / step * step, .streams = streams};
  if (job.slice == 0) return 0;
  if (kb_team_run(threads, passes, stream_member, &job, seconds) != 0) return 0;
  return job.slice * threads;
}

unsigned kb_available_cpus(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return (unsigned)n;
  }
  const long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}
