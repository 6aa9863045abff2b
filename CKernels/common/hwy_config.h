// Highway configuration shared by every translation unit (SwiftPM and the fuzz build alike), so
// the target list cannot differ between builds. Include before any Highway header.
#ifndef WK_COMMON_HWY_CONFIG_H_
#define WK_COMMON_HWY_CONFIG_H_

// Link against Debian's shared libhwy.
#ifndef HWY_SHARED_DEFINE
#define HWY_SHARED_DEFINE
#endif

// Adds AVX3_DL (VBMI, VBMI2, VNNI) to the x86 list AVX3, AVX2, SSE4, EMU128.
#ifndef HWY_WANT_AVX3_DL
#define HWY_WANT_AVX3_DL
#endif

// Also compile EMU128 where the baseline is a SIMD target (NEON on aarch64): it is the portable
// fallback every target is checked against (wk_compiled_targets lists it last). No change on x86,
// whose baseline (SSE2) is not a Highway target.
#ifndef HWY_COMPILE_ALL_ATTAINABLE
#define HWY_COMPILE_ALL_ATTAINABLE
#endif

// Highway 1.0.3 replaces EMU128 by the one-lane SCALAR target under GCC before 12.3 (Debian 12
// has 12.2); the kernels need 128-bit vectors. make test-arm checks EMU128 built by GCC 12.2
// against the coremltools vectors and NEON, bit for bit.
#ifndef HWY_BROKEN_EMU128
#define HWY_BROKEN_EMU128 0
#endif

// RISC-V vectors are sizeless like SVE's, which the kernels handle (common/simd-inl.h), but no
// RVV toolchain or emulator is set up to test them. SSSE3 is left out: the kernels' SSSE3 code was
// SSE4's (the same widths and branches) at 18-24 % of every kernel object and ~14 % of its compile
// (quant_gemv_nibbles.cc: 148 -> 127 s), compiled in two of make test's builds, for x86-64 CPUs
// with SSSE3 but no SSE4.1 (Core 2 of 2006-07, Atom before Silvermont, AMD Bobcat), which now run
// EMU128. ggml's x86 builds likewise go from baseline x86-64 to SSE4.2.
#ifndef HWY_DISABLED_TARGETS
#define HWY_DISABLED_TARGETS (HWY_SSSE3 | HWY_RVV)
#endif

#endif  // WK_COMMON_HWY_CONFIG_H_
