// kernel-bench's compute roofline: the fp32 multiply-add peak of one core, or of n cores at once.
#ifndef KERNEL_BENCH_FMA_PEAK_H_
#define KERNEL_BENCH_FMA_PEAK_H_

#ifdef __cplusplus
extern "C" {
#endif

/// fp32 GFLOP/s (one multiply-add = 2 FLOP) of `threads` threads running at once, summed: each
/// thread runs many independent multiply-add chains in registers (the widest vector FMA this CPU
/// supports, see kb_fma_isa) for a fixed number of iterations. Best of `repeats` timed runs after
/// one untimed. Returns 0 if the threads could not be started.
double kb_fma_peak_gflops(unsigned threads, unsigned repeats);

/// The instruction set kb_fma_peak_gflops uses on this CPU: "AVX-512F", "AVX2+FMA" or
/// "portable" (16-byte vectors, multiply and add as the compiler emits them). Static storage.
const char* kb_fma_isa(void);

#ifdef __cplusplus
}
#endif

#endif  // KERNEL_BENCH_FMA_PEAK_H_
