#include "fma_peak.h"

#include <stdint.h>

#include "team.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KB_X86 1
#endif

// Iterations of every kernel: 2^22 iterations of 12-16 vector multiply-adds is 5-30 ms per run on
// current cores, long against the clock and thread start, short enough to repeat.
#define ITERATIONS (1u << 22)

// Each kernel: `chains` independent accumulators c = c * m + a (latency-bound chains need about
// latency x FMA ports of them: 4 x 2 = 8 on current x86; 12-16 leave headroom). m and a come from
// the argument, so nothing can be folded; the sum of the chains is returned so nothing is dead.

// Portable: 12 chains of 16-byte vectors (SSE2 / NEON baseline). The compiler emits a fused
// multiply-add where the baseline has one (NEON) and a multiply and an add otherwise: both are
// counted as 2 FLOP per lane.
typedef float v4f __attribute__((vector_size(16)));
#define PORTABLE_CHAINS 12
#define PORTABLE_FLOP_PER_ITERATION (PORTABLE_CHAINS * 4 * 2)

static float fma_portable(float seed) {
  const v4f m = {0.9999999f * seed, 0.9999999f * seed, 0.9999999f * seed, 0.9999999f * seed};
  const v4f a = {1e-7f * seed, 1e-7f * seed, 1e-7f * seed, 1e-7f * seed};
  v4f c[PORTABLE_CHAINS];
  for (int i = 0; i < PORTABLE_CHAINS; ++i) c[i] = a * (float)(i + 1);
  for (uint32_t it = 0; it < ITERATIONS; ++it) {
#pragma clang loop unroll(full)
    for (int i = 0; i < PORTABLE_CHAINS; ++i) c[i] = c[i] * m + a;
  }
  v4f s = c[0];
  for (int i = 1; i < PORTABLE_CHAINS; ++i) s += c[i];
  return s[0] + s[1] + s[2] + s[3];
}

#ifdef KB_X86
#define AVX2_CHAINS 12
#define AVX2_FLOP_PER_ITERATION (AVX2_CHAINS * 8 * 2)

__attribute__((target("avx2,fma"))) static float fma_avx2(float seed) {
  const __m256 m = _mm256_set1_ps(0.9999999f * seed);
  const __m256 a = _mm256_set1_ps(1e-7f * seed);
  __m256 c0 = _mm256_set1_ps(1.0f), c1 = _mm256_set1_ps(2.0f), c2 = _mm256_set1_ps(3.0f);
  __m256 c3 = _mm256_set1_ps(4.0f), c4 = _mm256_set1_ps(5.0f), c5 = _mm256_set1_ps(6.0f);
  __m256 c6 = _mm256_set1_ps(7.0f), c7 = _mm256_set1_ps(8.0f), c8 = _mm256_set1_ps(9.0f);
  __m256 c9 = _mm256_set1_ps(10.0f), c10 = _mm256_set1_ps(11.0f), c11 = _mm256_set1_ps(12.0f);
  for (uint32_t it = 0; it < ITERATIONS; ++it) {
    c0 = _mm256_fmadd_ps(c0, m, a); c1 = _mm256_fmadd_ps(c1, m, a);
    c2 = _mm256_fmadd_ps(c2, m, a); c3 = _mm256_fmadd_ps(c3, m, a);
    c4 = _mm256_fmadd_ps(c4, m, a); c5 = _mm256_fmadd_ps(c5, m, a);
    c6 = _mm256_fmadd_ps(c6, m, a); c7 = _mm256_fmadd_ps(c7, m, a);
    c8 = _mm256_fmadd_ps(c8, m, a); c9 = _mm256_fmadd_ps(c9, m, a);
    c10 = _mm256_fmadd_ps(c10, m, a); c11 = _mm256_fmadd_ps(c11, m, a);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                           _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
  s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
  float lanes[8];
  _mm256_storeu_ps(lanes, s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

#define AVX512_CHAINS 16
#define AVX512_FLOP_PER_ITERATION (AVX512_CHAINS * 16 * 2)

__attribute__((target("avx512f"))) static float fma_avx512(float seed) {
  const __m512 m = _mm512_set1_ps(0.9999999f * seed);
  const __m512 a = _mm512_set1_ps(1e-7f * seed);
  __m512 c[AVX512_CHAINS];
  for (int i = 0; i < AVX512_CHAINS; ++i) c[i] = _mm512_set1_ps((float)(i + 1));
  for (uint32_t it = 0; it < ITERATIONS; ++it) {
#pragma clang loop unroll(full)
    for (int i = 0; i < AVX512_CHAINS; ++i) c[i] = _mm512_fmadd_ps(c[i], m, a);
  }
  for (int i = 1; i < AVX512_CHAINS; ++i) c[0] = _mm512_add_ps(c[0], c[i]);
  return _mm512_reduce_add_ps(c[0]);
}
#endif

typedef enum { ISA_PORTABLE, ISA_AVX2, ISA_AVX512 } isa_t;

static isa_t detect_isa(void) {
#ifdef KB_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) return ISA_AVX512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return ISA_AVX2;
#endif
  return ISA_PORTABLE;
}

const char* kb_fma_isa(void) {
  switch (detect_isa()) {
    case ISA_AVX512: return "AVX-512F";
    case ISA_AVX2: return "AVX2+FMA";
    default: return "portable";
  }
}

typedef struct {
  isa_t isa;
  volatile float sink[64];
} fma_job_t;

static void fma_member(void* arg, unsigned index) {
  fma_job_t* job = (fma_job_t*)arg;
  const float seed = 1.0f + (float)(index % 7) * 1e-3f + job->sink[index % 64] * 0.0f;
  float r;
  switch (job->isa) {
#ifdef KB_X86
    case ISA_AVX512: r = fma_avx512(seed); break;
    case ISA_AVX2: r = fma_avx2(seed); break;
#endif
    default: r = fma_portable(seed); break;
  }
  job->sink[index % 64] = r;
}

static double flop_per_run(isa_t isa) {
  switch (isa) {
#ifdef KB_X86
    case ISA_AVX512: return (double)ITERATIONS * AVX512_FLOP_PER_ITERATION;
    case ISA_AVX2: return (double)ITERATIONS * AVX2_FLOP_PER_ITERATION;
#endif
    default: return (double)ITERATIONS * PORTABLE_FLOP_PER_ITERATION;
  }
}

double kb_fma_peak_gflops(unsigned threads, unsigned repeats) {
  if (threads == 0) threads = 1;
  if (repeats == 0) repeats = 1;
  if (repeats > 64) repeats = 64;
  fma_job_t job = {.isa = detect_isa()};
  double seconds[64];
  if (kb_team_run(threads, repeats, fma_member, &job, seconds) != 0) return 0;
  double best = seconds[0];
  for (unsigned i = 1; i < repeats; ++i)
    if (seconds[i] < best) best = seconds[i];
  return flop_per_run(job.isa) * threads / best / 1e9;
}
