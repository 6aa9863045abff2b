// Throughput of the instructions and instruction mixes the batch-1 decoders use, in core cycles
// per loop iteration (docs/PERFORMANCE.md, "Measured instruction costs"). Each test repeats its
// instructions on independent destination registers; cycles = time x the clock measured by a
// dependent add chain around each sample; median of 9 samples.
// Build and run (x86-64 with AVX2, FMA and F16C): cc -O1 zen3-throughput.c -o t && ./t
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

// GHz from 10^8 dependent 1-cycle adds.
static double ghz(void) {
  uint64_t n = 100000000, x = 0;
  double t0 = now();
  __asm__ volatile("1:\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tadd $1,%0\n\tsub $4,%1\n\tjnz 1b\n"
                   : "+r"(x), "+r"(n));
  return 1e8 / (now() - t0) / 1e9;
}

static double median9(double* a) {
  for (int i = 1; i < 9; i++)
    for (int j = i; j > 0 && a[j] < a[j - 1]; j--) {
      double t = a[j];
      a[j] = a[j - 1];
      a[j - 1] = t;
    }
  return a[4];
}

static char buf[1 << 16] __attribute__((aligned(64)));
enum { kIters = 10000000 };

// r13 = buf, r15 = buf + 4096, r12 = 2048, rcx = 0: fixed addresses for the loop bodies.
#define TIME(name, count, what, BODY)                                                          \
  do {                                                                                         \
    double v[9];                                                                               \
    for (int rep = 0; rep < 9; rep++) {                                                        \
      double c = ghz();                                                                        \
      uint64_t n = kIters;                                                                     \
      double t0 = now();                                                                       \
      __asm__ volatile("mov %1,%%rsi\n\tmov %1,%%r13\n\tlea 4096(%1),%%r15\n\tmov $2048,%%r12\n\t" \
                       "xor %%ecx,%%ecx\n\txor %%eax,%%eax\n\t1:\n\t" BODY "dec %0\n\tjnz 1b\n"  \
                       : "+r"(n)                                                               \
                       : "r"(buf)                                                              \
                       : "rax", "rcx", "rdx", "rsi", "r12", "r13", "r15", "memory", "xmm0",     \
                         "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", \
                         "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");                 \
      double t = now() - t0;                                                                   \
      v[rep] = t * (c + ghz()) / 2 * 1e9 / kIters;                                             \
    }                                                                                          \
    double cyc = median9(v);                                                                   \
    printf("%-44s %6.2f cycles/iter  %.3f cycles per %s\n", name, cyc, cyc / (count), what);   \
  } while (0)

// Six copies of a pattern on destinations 0..5 (a) and 6..11 (b).
#define X6(F) F(0, 6) F(1, 7) F(2, 8) F(3, 9) F(4, 10) F(5, 11)
#define X12(F) X6(F) F(6, 0) F(7, 1) F(8, 2) F(9, 3) F(10, 4) F(11, 5)

#define FMA(a, b) "vfmadd231ps %%ymm14,%%ymm15,%%ymm" #a "\n\t"
#define SHUF(a, b) "vpshufb %%ymm14,%%ymm15,%%ymm" #a "\n\t"
#define PERM(a, b) "vpermd %%ymm14,%%ymm15,%%ymm" #a "\n\t"
#define PERMPD(a, b) "vpermpd $0xd8,%%ymm15,%%ymm" #a "\n\t"
#define CVT16R(a, b) "vcvtph2ps %%xmm15,%%ymm" #a "\n\t"
#define CVT16M(a, b) "vcvtph2ps (%%rsi),%%ymm" #a "\n\t"
#define RN16(a, b) "vcvtps2ph $8,%%ymm15,%%xmm" #a "\n\t"
#define EXTR(a, b) "vextracti128 $1,%%ymm15,%%xmm" #a "\n\t"
#define CVTDQ(a, b) "vcvtdq2ps %%ymm15,%%ymm" #a "\n\t"
#define SXBD(a, b) "vpmovsxbd %%xmm15,%%ymm" #a "\n\t"
#define SXBWM(a, b) "vpmovsxbw (%%rsi),%%ymm" #a "\n\t"
#define MADD(a, b) "vpmaddwd %%ymm14,%%ymm15,%%ymm" #a "\n\t"
#define MULHU(a, b) "vpmulhuw %%ymm14,%%ymm15,%%ymm" #a "\n\t"
#define BLENDV(a, b) "vpblendvb %%ymm13,%%ymm14,%%ymm15,%%ymm" #a "\n\t"
#define SLLW(a, b) "vpsllw $3,%%ymm15,%%ymm" #a "\n\t"
#define INSM(a, b) "vinsertps $0x10,(%%rsi),%%xmm15,%%xmm" #a "\n\t"
#define GPR(a, b) "vmovq %%rax,%%xmm" #a "\n\t"
#define FMA_B(a, b) "vfmadd231ps %%ymm14,%%ymm15,%%ymm" #b "\n\t"
#define SHUF_B(a, b) "vpshufb %%ymm14,%%ymm15,%%ymm" #b "\n\t"
#define PAIR(F, G) F G

// int8 dequantization of 8 weights as QuantMatrixGemvBytes does it, one chain per register.
#define I8(a, b)                                                                             \
  "vpmovsxbd (%%rsi),%%ymm" #a "\n\tvcvtdq2ps %%ymm" #a ",%%ymm" #a "\n\t"                    \
  "vsubps %%ymm15,%%ymm" #a ",%%ymm" #a "\n\tvmulps %%ymm" #a ",%%ymm14,%%ymm" #a "\n\t"       \
  "vcvtps2ph $8,%%ymm" #a ",%%xmm" #a "\n\tvcvtph2ps %%xmm" #a ",%%ymm" #a "\n\t"              \
  "vfmadd231ps %%ymm" #a ",%%ymm13,%%ymm" #b "\n\t"
#define I8_NO_RN16(a, b)                                                                     \
  "vpmovsxbd (%%rsi),%%ymm" #a "\n\tvcvtdq2ps %%ymm" #a ",%%ymm" #a "\n\t"                    \
  "vsubps %%ymm15,%%ymm" #a ",%%ymm" #a "\n\tvmulps %%ymm" #a ",%%ymm14,%%ymm" #a "\n\t"       \
  "vfmadd231ps %%ymm" #a ",%%ymm13,%%ymm" #b "\n\t"

// The dense fp16 GEMV loop body as clang emits it (4 rows x 16 columns), at fixed addresses.
#define DENSE_F16(PF)                                                                          \
  "vmovups (%%r13,%%rcx,2),%%ymm1\n\tvmovups 0x20(%%r13,%%rcx,2),%%ymm0\n\t" PF("(%%r15,%%rcx)")  \
  "vcvtph2ps -0x200(%%r15,%%rcx),%%ymm2\n\tvcvtph2ps -0x1f0(%%r15,%%rcx),%%ymm3\n\t"            \
  "lea (%%r15,%%rcx),%%rdx\n\tvfmadd231ps %%ymm2,%%ymm1,%%ymm13\n\t"                            \
  "vfmadd231ps %%ymm3,%%ymm0,%%ymm12\n\t" PF("(%%r12,%%rdx)")                                  \
  "vcvtph2ps -0x200(%%r12,%%rdx),%%ymm2\n\tlea (%%rdx,%%r12),%%rsi\n\t"                         \
  "vcvtph2ps -0x1f0(%%r12,%%rdx),%%ymm3\n\t" PF("(%%r12,%%rsi)")                               \
  "vcvtph2ps -0x200(%%r12,%%rsi),%%ymm4\n\tvfmadd231ps %%ymm2,%%ymm1,%%ymm11\n\t"               \
  "vcvtph2ps -0x1f0(%%r12,%%rsi),%%ymm2\n\tvfmadd231ps %%ymm3,%%ymm0,%%ymm10\n\t"               \
  "lea (%%rsi,%%r12),%%rdx\n\tvfmadd231ps %%ymm4,%%ymm1,%%ymm9\n\t"                             \
  "vfmadd231ps %%ymm2,%%ymm0,%%ymm8\n\t" PF("(%%r12,%%rdx)")                                   \
  "vcvtph2ps -0x200(%%r12,%%rdx),%%ymm2\n\tvcvtph2ps -0x1f0(%%r12,%%rdx),%%ymm3\n\t"            \
  "vfmadd231ps %%ymm2,%%ymm1,%%ymm7\n\tvfmadd231ps %%ymm3,%%ymm0,%%ymm6\n\t"                    \
  "mov %%r13,%%rsi\n\t"
// The W8A8 loop body (4 rows x 16 int8 weights, int16 activations), at fixed addresses.
#define W8A8                                                                                   \
  "vmovdqu (%%r15),%%ymm0\n\tvpmovsxbw (%%r13),%%ymm1\n\tvpmaddwd %%ymm0,%%ymm1,%%ymm1\n\t"   \
  "vpaddd %%ymm6,%%ymm1,%%ymm6\n\tvpmovsxbw 0x400(%%r13),%%ymm1\n\tvpmaddwd %%ymm0,%%ymm1,%%ymm1\n\t" \
  "vpaddd %%ymm5,%%ymm1,%%ymm5\n\tvpmovsxbw 0x800(%%r13),%%ymm1\n\tvpmaddwd %%ymm0,%%ymm1,%%ymm1\n\t" \
  "vpaddd %%ymm4,%%ymm1,%%ymm4\n\tvpmovsxbw 0xc00(%%r13),%%ymm1\n\tvpmaddwd %%ymm0,%%ymm1,%%ymm0\n\t" \
  "vpaddd %%ymm3,%%ymm0,%%ymm3\n\t"
#define PREFETCH(a) "prefetcht0 " a "\n\t"
#define NO_PREFETCH(a) ""

int main(void) {
  TIME("vfmadd231ps ymm", 12, "instr", X12(FMA));
  TIME("vpshufb ymm", 12, "instr", X12(SHUF));
  TIME("vpermd ymm", 12, "instr", X12(PERM));
  TIME("vpermpd ymm, imm", 12, "instr", X12(PERMPD));
  TIME("vcvtph2ps ymm, xmm", 12, "instr", X12(CVT16R));
  TIME("vcvtph2ps ymm, m128", 12, "instr", X12(CVT16M));
  TIME("vcvtps2ph xmm, ymm", 12, "instr", X12(RN16));
  TIME("vextracti128", 12, "instr", X12(EXTR));
  TIME("vcvtdq2ps ymm", 12, "instr", X12(CVTDQ));
  TIME("vpmovsxbd ymm, xmm", 12, "instr", X12(SXBD));
  TIME("vpmovsxbw ymm, m128", 12, "instr", X12(SXBWM));
  TIME("vpmaddwd ymm", 12, "instr", X12(MADD));
  TIME("vinsertps xmm, m32", 12, "instr", X12(INSM));
  TIME("vmovq xmm, r64", 12, "instr", X12(GPR));
  TIME("vpmulhuw ymm", 12, "instr", X12(MULHU));
  TIME("vpblendvb ymm", 12, "instr", X12(BLENDV));
  TIME("vpsllw ymm, imm", 12, "instr", X12(SLLW));
#define P_FMA_SHUF(a, b) FMA(a, b) SHUF_B(a, b)
#define P_FMA_2SHUF(a, b) FMA(a, b) SHUF_B(a, b) "vpunpcklbw %%ymm14,%%ymm15,%%ymm" #b "\n\t"
#define P_FMA_PERM(a, b) FMA(a, b) "vpermd %%ymm14,%%ymm15,%%ymm" #b "\n\t"
#define P_FMA_PERMPD(a, b) FMA(a, b) PERMPD(b, a)
#define P_PERM_SHUF(a, b) PERM(a, b) SHUF_B(a, b)
#define P_FMA_CVT16R(a, b) FMA(a, b) "vcvtph2ps %%xmm15,%%ymm" #b "\n\t"
#define P_FMA_CVT16M(a, b) FMA(a, b) "vcvtph2ps (%%rsi),%%ymm" #b "\n\t"
#define P_CVT16R_RN16(a, b) CVT16R(a, b) "vcvtps2ph $8,%%ymm15,%%xmm" #b "\n\t"
#define P_CVT16R_EXTR(a, b) CVT16R(a, b) "vextracti128 $1,%%ymm15,%%xmm" #b "\n\t"
#define P_FMA_SXBD(a, b) FMA(a, b) "vpmovsxbd %%xmm15,%%ymm" #b "\n\t"
#define P_SHUF_SXBD(a, b) SHUF(a, b) "vpmovsxbd %%xmm15,%%ymm" #b "\n\t"
#define P_MADD_SXBWM(a, b) MADD(a, b) "vpmovsxbw (%%rsi),%%ymm" #b "\n\t"
#define P_FMA_BLENDV(a, b) FMA(a, b) BLENDV(b, a)
#define P_SHUF_BLENDV(a, b) SHUF(a, b) BLENDV(b, a)
#define P_SHUF_SLLW(a, b) SHUF(a, b) SLLW(b, a)
  TIME("vfmadd231ps + vpshufb", 6, "pair", X6(P_FMA_SHUF));
  TIME("vfmadd231ps + 2 shuffles", 6, "triple", X6(P_FMA_2SHUF));
  TIME("vfmadd231ps + vpermd", 6, "pair", X6(P_FMA_PERM));
  TIME("vfmadd231ps + vpermpd", 6, "pair", X6(P_FMA_PERMPD));
  TIME("vpermd + vpshufb", 6, "pair", X6(P_PERM_SHUF));
  TIME("vfmadd231ps + vcvtph2ps ymm, xmm", 6, "pair", X6(P_FMA_CVT16R));
  TIME("vfmadd231ps + vcvtph2ps ymm, m128", 6, "pair", X6(P_FMA_CVT16M));
  TIME("vcvtph2ps ymm, xmm + vcvtps2ph", 6, "pair", X6(P_CVT16R_RN16));
  TIME("vcvtph2ps ymm, xmm + vextracti128", 6, "pair", X6(P_CVT16R_EXTR));
  TIME("vfmadd231ps + vpmovsxbd ymm, xmm", 6, "pair", X6(P_FMA_SXBD));
  TIME("vpshufb + vpmovsxbd ymm, xmm", 6, "pair", X6(P_SHUF_SXBD));
  TIME("vpmaddwd + vpmovsxbw ymm, m128", 6, "pair", X6(P_MADD_SXBWM));
  TIME("vfmadd231ps + vpblendvb", 6, "pair", X6(P_FMA_BLENDV));
  TIME("vpshufb + vpblendvb", 6, "pair", X6(P_SHUF_BLENDV));
  TIME("vpshufb + vpsllw", 6, "pair", X6(P_SHUF_SLLW));
  TIME("int8 dequantize + fma (8 weights)", 6, "8 weights", X6(I8));
  TIME("same without the RN16 pair", 6, "8 weights", X6(I8_NO_RN16));
  TIME("dense fp16 loop body (64 weights)", 1, "iteration", DENSE_F16(PREFETCH));
  TIME("same without its 4 prefetcht0", 1, "iteration", DENSE_F16(NO_PREFETCH));
  TIME("w8a8 loop body (64 weights)", 1, "iteration", W8A8);
  return 0;
}
