// Throughput of the instructions and instruction mixes the batch-1 decoders use, in core cycles
// per loop iteration (docs/PERFORMANCE.md, "Measured instruction costs"): the AVX2 set (Zen 3's
// model), and on a CPU with AVX-512 VBMI2 also the 512-bit and mask instructions of the AVX3_DL
// decoders (Zen 5's model). Each test repeats its instructions on independent destination
// registers; cycles = time x the clock measured by a dependent add chain around each sample;
// median of 9 samples.
// Build and run (x86-64 with AVX2, FMA and F16C): cc -O1 throughput.c -o t && ./t
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

// r13 = buf, r15 = buf + 4096, r12 = 2048, rcx = 0: fixed addresses for the loop bodies; SETUP
// runs once before the loop (k1 = 0x5555 for the AVX-512 tests).
#define TIME_SETUP(name, count, what, SETUP, BODY)                                             \
  do {                                                                                         \
    double v[9];                                                                               \
    for (int rep = 0; rep < 9; rep++) {                                                        \
      double c = ghz();                                                                        \
      uint64_t n = kIters;                                                                     \
      double t0 = now();                                                                       \
      __asm__ volatile("mov %1,%%rsi\n\tmov %1,%%r13\n\tlea 4096(%1),%%r15\n\tmov $2048,%%r12\n\t" \
                       SETUP "xor %%ecx,%%ecx\n\txor %%eax,%%eax\n\t1:\n\t" BODY              \
                       "dec %0\n\tjnz 1b\n"                                                     \
                       : "+r"(n)                                                               \
                       : "r"(buf)                                                              \
                       : "rax", "rcx", "rdx", "rsi", "r12", "r13", "r15", "memory", "xmm0",     \
                         "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", \
                         "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15" K_CLOBBERS);     \
      double t = now() - t0;                                                                   \
      v[rep] = t * (c + ghz()) / 2 * 1e9 / kIters;                                             \
    }                                                                                          \
    double cyc = median9(v);                                                                   \
    printf("%-44s %6.2f cycles/iter  %.3f cycles per %s\n", name, cyc, cyc / (count), what);   \
  } while (0)
#define TIME(name, count, what, BODY) TIME_SETUP(name, count, what, "", BODY)

// Six copies of a pattern on destinations 0..5 (a) and 6..11 (b).
#define X6(F) F(0, 6) F(1, 7) F(2, 8) F(3, 9) F(4, 10) F(5, 11)
#define X4(F) F(0, 6) F(1, 7) F(2, 8) F(3, 9)
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
#define SHUF_B(a, b) "vpshufb %%ymm14,%%ymm15,%%ymm" #b "\n\t"

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

// The AVX3_DL decoders' instructions (zmm unless named), zmm0-11 as destinations, zmm14/15 as
// sources; masked forms use k1. Compiled for AVX-512 only inside this function.
#define Z(a, op) op "%%zmm" #a "\n\t"
#define FMA_Z(a, b) Z(a, "vfmadd231ps %%zmm14,%%zmm15,")
#define FMA_ZB(a, b) Z(b, "vfmadd231ps %%zmm14,%%zmm15,")
#define ADD_Z(a, b) Z(a, "vaddps %%zmm14,%%zmm15,")
#define PERMD_Z(a, b) Z(a, "vpermd %%zmm14,%%zmm15,")
#define PERMB_Z(a, b) Z(a, "vpermb %%zmm14,%%zmm15,")
#define PERMD_ZM(a, b) Z(a, "vpermd (%%rsi),%%zmm15,")
#define PERMD_ZMU(a, b) Z(a, "vpermd 16(%%rsi),%%zmm15,")
#define MSHIFT_ZA(a, b) Z(a, "vpmultishiftqb %%zmm15,%%zmm14,")
// AVX3_DL lut2-lut4 per row and chunk: fields by multishift, look-up, fma (a dependent chain).
#define LUT4_ROW(a, b)                                                                          \
  "vpmultishiftqb (%%rsi)%{1to8%},%%zmm15,%%zmm" #a "\n\tvpermd 64(%%rsi),%%zmm" #a ",%%zmm" #a \
  "\n\tvfmadd231ps %%zmm" #a ",%%zmm14,%%zmm" #b "\n\t"
// The same with the fields on the shift pipe: lut4's paired order (qword broadcast, one vpsrlvq)
// and lut2's (dword broadcast, one vpsrlvd).
#define LUT4_ROW_Q(a, b)                                                                          \
  "vpbroadcastq (%%rsi),%%zmm" #a "\n\tvpsrlvq %%zmm15,%%zmm" #a ",%%zmm" #a                    \
  "\n\tvpermd 64(%%rsi),%%zmm" #a ",%%zmm" #a "\n\tvfmadd231ps %%zmm" #a ",%%zmm14,%%zmm" #b "\n\t"
#define LUT2_ROW_D(a, b)                                                                          \
  "vpbroadcastd (%%rsi),%%zmm" #a "\n\tvpsrlvd %%zmm15,%%zmm" #a ",%%zmm" #a                    \
  "\n\tvpermd 64(%%rsi),%%zmm" #a ",%%zmm" #a "\n\tvfmadd231ps %%zmm" #a ",%%zmm14,%%zmm" #b "\n\t"
#define SRLVQ_ZA(a, b) Z(a, "vpsrlvq %%zmm15,%%zmm14,")
#define LUT4_ROW_PF(a, b) "prefetcht0 0x600(%%rsi)\n\t" LUT4_ROW(a, b)
#define FMA_CHAIN(a, b) "vfmadd231ps %%zmm14,%%zmm15,%%zmm0\n\t"
#define DPBUSD_CHAIN(a, b) "vpdpbusd %%zmm14,%%zmm15,%%zmm0\n\t"
// The vector part of AVX3_DL sparse50's loop (2 rows x 2 chunks of fp16 values): lane masks from
// GPRs, masked loads of the packed values, expand, widen, fma.
#define SPARSE_STEP                                                                             \
  "kmovd %%r12d,%%k1\n\tkmovd %%edx,%%k2\n\tvmovdqu16 (%%rsi),%%ymm5%{%%k2%}%{z%}\n\t"            \
  "kmovd %%r12d,%%k3\n\tkmovd %%edx,%%k4\n\tvmovdqu16 32(%%rsi),%%ymm4%{%%k4%}%{z%}\n\t"          \
  "kmovd %%r12d,%%k5\n\tkmovd %%edx,%%k6\n\tvmovdqu16 64(%%rsi),%%ymm6%{%%k6%}%{z%}\n\t"          \
  "kmovd %%r12d,%%k7\n\tkmovd %%edx,%%k2\n\tvmovdqu16 96(%%rsi),%%ymm7%{%%k2%}%{z%}\n\t"          \
  "vpexpandw %%ymm5,%%ymm5%{%%k1%}%{z%}\n\tvpexpandw %%ymm6,%%ymm6%{%%k5%}%{z%}\n\t"                \
  "vcvtph2ps %%ymm5,%%zmm9\n\tvcvtph2ps %%ymm6,%%zmm10\n\t"                                       \
  "vfmadd231ps %%zmm9,%%zmm14,%%zmm0\n\tvfmadd231ps %%zmm10,%%zmm14,%%zmm1\n\t"                   \
  "vpexpandw %%ymm4,%%ymm4%{%%k3%}%{z%}\n\tvpexpandw %%ymm7,%%ymm7%{%%k7%}%{z%}\n\t"                \
  "vcvtph2ps %%ymm4,%%zmm11\n\tvcvtph2ps %%ymm7,%%zmm12\n\t"                                      \
  "vfmadd231ps %%zmm11,%%zmm15,%%zmm2\n\tvfmadd231ps %%zmm12,%%zmm15,%%zmm3\n\t"
#define PERMB_ZB(a, b) Z(b, "vpermb %%zmm14,%%zmm15,")
#define PERMB_Y(a, b) "vpermb %%ymm14,%%ymm15,%%ymm" #a "\n\t"
#define PERMB_X(a, b) "vpermb %%xmm14,%%xmm15,%%xmm" #a "\n\t"
#define PERMT2B_Z(a, b) Z(a, "vpermt2b %%zmm14,%%zmm15,")
#define PERMT2B_ZM(a, b) Z(a, "vpermt2b (%%rsi),%%zmm15,")
#define PERMT2B_Y(a, b) "vpermt2b %%ymm14,%%ymm15,%%ymm" #a "\n\t"
#define SHUF_Z(a, b) Z(a, "vpshufb %%zmm14,%%zmm15,")
#define SHUF_X(a, b) "vpshufb %%xmm14,%%xmm15,%%xmm" #a "\n\t"
#define MSHIFT_Z(a, b) Z(a, "vpmultishiftqb %%zmm14,%%zmm15,")
#define MSHIFT_X(a, b) "vpmultishiftqb %%xmm14,%%xmm15,%%xmm" #a "\n\t"
#define UNPCK_Z(a, b) Z(a, "vpunpcklbw %%zmm14,%%zmm15,")
#define SRLV_Z(a, b) Z(a, "vpsrlvd %%zmm14,%%zmm15,")
#define AND_Z(a, b) Z(a, "vpandd %%zmm14,%%zmm15,")
#define TERN_Z(a, b) Z(a, "vpternlogd $0xca,%%zmm14,%%zmm15,")
#define BLENDM_Z(a, b) "vpblendmb %%zmm14,%%zmm15,%%zmm" #a "%{%%k1%}\n\t"
#define EXPB_X(a, b) "vpexpandb %%xmm15,%%xmm" #a "%{%%k1%}%{z%}\n\t"
#define EXPB_Z(a, b) "vpexpandb %%zmm15,%%zmm" #a "%{%%k1%}%{z%}\n\t"
#define EXPW_Y(a, b) "vpexpandw %%ymm15,%%ymm" #a "%{%%k1%}%{z%}\n\t"
#define EXPW_Z(a, b) "vpexpandw %%zmm15,%%zmm" #a "%{%%k1%}%{z%}\n\t"
// One destination for all: {z} or not, Zen 5 waits for the register's last value (a chain).
#define EXPB_Z1(a, b) "vpexpandb %%zmm15,%%zmm0%{%%k1%}%{z%}\n\t"
#define EXPPS_Z(a, b) "vexpandps %%zmm15,%%zmm" #a "%{%%k1%}%{z%}\n\t"
#define MLOADW_Y(a, b) "vmovdqu16 (%%rsi),%%ymm" #a "%{%%k1%}%{z%}\n\t"
#define CVT16R_Z(a, b) "vcvtph2ps %%ymm15,%%zmm" #a "\n\t"
#define CVT16M_Z(a, b) "vcvtph2ps (%%rsi),%%zmm" #a "\n\t"
#define RN16_Z(a, b) "vcvtps2ph $8,%%zmm15,%%ymm" #a "\n\t"
#define CVTDQ_Z(a, b) Z(a, "vcvtdq2ps %%zmm15,")
#define SXBD_Z(a, b) "vpmovsxbd %%xmm15,%%zmm" #a "\n\t"
#define SXBDM_Z(a, b) "vpmovsxbd (%%rsi),%%zmm" #a "\n\t"
#define EXTR_Z(a, b) "vextracti64x4 $1,%%zmm15,%%ymm" #a "\n\t"
#define BCASTQ_Z(a, b) "vpbroadcastq (%%rsi),%%zmm" #a "\n\t"
#define DPBUSD_Z(a, b) Z(a, "vpdpbusd %%zmm14,%%zmm15,")
#define SRLQ_Z(a, b) "vpsrlq $4,%%zmm15,%%zmm" #a "\n\t"
#define LOAD_Z(a, b) "vmovdqu64 (%%rsi),%%zmm" #a "\n\t"
#define LOAD_Y(a, b) "vmovdqu (%%rsi),%%ymm" #a "\n\t"
#define BCAST4_Z(a, b) "vbroadcasti32x4 (%%rsi),%%zmm" #a "\n\t"
// lut1's pair: the masked broadcast merges into the unmasked one (no chain across iterations).
#define BCASTSS_ZK(a, b) "vbroadcastss (%%rsi),%%zmm" #a "\n\tvbroadcastss 4(%%rsi),%%zmm" #a "%{%%k1%}\n\t"
#define MSHIFT_ZB(a, b) "vpmultishiftqb (%%rsi)%{1to8%},%%zmm15,%%zmm" #a "\n\t"
#define KMOVM(k) "kmovw (%%rsi),%%k" #k "\n\t"
#define B2M(k) "vpmovb2m %%zmm15,%%k" #k "\n\t"
#define TESTM(k) "vptestmd %%zmm14,%%zmm15,%%k" #k "\n\t"
#define EXTRQ(k) "vpextrq $1,%%xmm15,%%rdx\n\t"
#define KMOV(k) "kmovd %%eax,%%k" #k "\n\t"
#define X6K(F) F(2) F(3) F(4) F(5) F(6) F(7)
#define K_CLOBBERS , "k1", "k2", "k3", "k4", "k5", "k6", "k7"
#define K5555 "mov $0x5555,%%eax\n\tkmovd %%eax,%%k1\n\t"
#define TZ(name, F) TIME_SETUP(name, 12, "instr", K5555, X12(F))
#define PZ(name, F, G) TIME_SETUP(name, 6, "pair", K5555, X6(F) X6(G))
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vbmi,avx512vbmi2,avx512vnni"))) static void
avx512(void) {
  TZ("vfmadd231ps zmm", FMA_Z);
  TIME_SETUP("vfmadd231ps zmm latency (one chain)", 12, "instr", "", X12(FMA_CHAIN));
  TIME_SETUP("vpdpbusd zmm latency (one chain)", 12, "instr", "", X12(DPBUSD_CHAIN));
  TZ("vaddps zmm", ADD_Z);
  TZ("vpermd zmm", PERMD_Z);
  TZ("vpermb zmm", PERMB_Z);
  TZ("vpermd zmm, m512", PERMD_ZM);
  TZ("vpermd zmm, m512 (16 bytes into a line)", PERMD_ZMU);
  TZ("vpermb ymm", PERMB_Y);
  TZ("vpermb xmm", PERMB_X);
  TZ("vpermt2b zmm", PERMT2B_Z);
  TZ("vpermt2b zmm, m512", PERMT2B_ZM);
  TZ("vpermt2b ymm", PERMT2B_Y);
  TZ("vpshufb zmm", SHUF_Z);
  TZ("vpshufb xmm", SHUF_X);
  TZ("vpmultishiftqb zmm", MSHIFT_Z);
  TZ("vpmultishiftqb xmm", MSHIFT_X);
  TZ("vpunpcklbw zmm", UNPCK_Z);
  TZ("vpsrlvd zmm", SRLV_Z);
  TZ("vpandd zmm", AND_Z);
  TZ("vpternlogd zmm", TERN_Z);
  TZ("vpblendmb zmm{k}", BLENDM_Z);
  TZ("vpexpandb xmm{k}{z}", EXPB_X);
  TZ("vpexpandb zmm{k}{z}", EXPB_Z);
  TZ("vpexpandb zmm{k}{z}, one destination", EXPB_Z1);
  TZ("vpexpandw ymm{k}{z}", EXPW_Y);
  TZ("vpexpandw zmm{k}{z}", EXPW_Z);
  TZ("vexpandps zmm{k}{z}", EXPPS_Z);
  TZ("vmovdqu16 ymm{k}{z}, m256", MLOADW_Y);
  TZ("vcvtph2ps zmm, ymm", CVT16R_Z);
  TZ("vcvtph2ps zmm, m256", CVT16M_Z);
  TZ("vcvtps2ph ymm, zmm", RN16_Z);
  TZ("vcvtdq2ps zmm", CVTDQ_Z);
  TZ("vpmovsxbd zmm, xmm", SXBD_Z);
  TZ("vpmovsxbd zmm, m128", SXBDM_Z);
  TZ("vextracti64x4", EXTR_Z);
  TZ("vpbroadcastq zmm, m64", BCASTQ_Z);
  TZ("vpdpbusd zmm", DPBUSD_Z);
  TIME_SETUP("vpmovb2m k, zmm", 6, "instr", "", X6K(B2M));
  TIME_SETUP("kmovd k, r32", 6, "instr", "", X6K(KMOV));
  TIME_SETUP("vptestmd k, zmm", 6, "instr", "", X6K(TESTM));
  TIME_SETUP("vpextrq r64, xmm", 6, "instr", "", X6K(EXTRQ));
  TIME_SETUP("kmovw k, m16", 6, "instr", "", X6K(KMOVM));
  TIME_SETUP("vbroadcastss zmm, m32 + same {k}", 6, "pair", K5555, X6(BCASTSS_ZK));
  TZ("vpmultishiftqb zmm, m64{1to8}", MSHIFT_ZB);
  TZ("vpsrlq zmm, imm", SRLQ_Z);
  TZ("vmovdqu64 zmm, m512", LOAD_Z);
  TZ("vmovdqu ymm, m256", LOAD_Y);
  TZ("vbroadcasti32x4 zmm, m128", BCAST4_Z);
  // Pairs: which pipes a shuffle, expand or conversion shares with the fma (or with each other).
  PZ("fma zmm + vpermb zmm", FMA_Z, PERMB_Z);
  PZ("fma zmm + vpermd zmm", FMA_Z, PERMD_Z);
  PZ("fma zmm + vpshufb zmm", FMA_Z, SHUF_Z);
  PZ("fma zmm + vpermt2b zmm", FMA_Z, PERMT2B_Z);
  PZ("fma zmm + vpermd zmm, m512", FMA_ZB, PERMD_ZM);
  PZ("fma zmm + vpermd zmm, m512 (16 bytes into a line)", FMA_ZB, PERMD_ZMU);
  PZ("fma zmm + vpmultishiftqb zmm", FMA_Z, MSHIFT_Z);
  PZ("fma zmm + vpunpcklbw zmm", FMA_Z, UNPCK_Z);
  PZ("fma zmm + vcvtph2ps zmm, ymm", FMA_Z, CVT16R_Z);
  PZ("fma zmm + vcvtph2ps zmm, m256", FMA_Z, CVT16M_Z);
  PZ("fma zmm + vpexpandw ymm", FMA_Z, EXPW_Y);
  PZ("fma zmm + vpexpandb xmm", FMA_Z, EXPB_X);
  PZ("fma zmm + vaddps zmm", FMA_Z, ADD_Z);
  PZ("fma zmm + vcvtdq2ps zmm", FMA_Z, CVTDQ_Z);
  PZ("fma zmm + vpandd zmm", FMA_Z, AND_Z);
  PZ("vpermb zmm + vpshufb zmm", PERMB_Z, SHUF_Z);
  PZ("vpermb zmm + vpunpcklbw zmm", PERMB_Z, UNPCK_Z);
  PZ("vpermb zmm + vcvtph2ps zmm, ymm", PERMB_Z, CVT16R_Z);
  PZ("vpermb xmm + vpexpandb xmm", PERMB_X, EXPB_X);
  PZ("vpshufb xmm + vpmultishiftqb xmm", SHUF_X, MSHIFT_X);
  PZ("vpexpandw ymm + vcvtph2ps zmm, ymm", EXPW_Y, CVT16R_Z);
  PZ("vcvtph2ps zmm, ymm + vcvtps2ph", CVT16R_Z, RN16_Z);
  PZ("vpermd zmm + vpandd zmm", PERMD_Z, AND_Z);
  PZ("fma zmm + vpdpbusd zmm", FMA_Z, DPBUSD_Z);
  TIME_SETUP("fma + vpmultishiftqb + vpermd zmm", 4, "triple", "", X4(FMA_ZB) X4(MSHIFT_ZA) X4(PERMD_Z));
  TIME_SETUP("lut4 row step: multishift, vpermd, fma", 4, "row step", "", X4(LUT4_ROW));
  TIME_SETUP("same with a prefetcht0", 4, "row step", "", X4(LUT4_ROW_PF));
  TIME_SETUP("fma + vpsrlvq + vpermd zmm", 4, "triple", "", X4(FMA_ZB) X4(SRLVQ_ZA) X4(PERMD_Z));
  TIME_SETUP("lut4 paired row step: broadcast, vpsrlvq, vpermd, fma", 4, "row step", "", X4(LUT4_ROW_Q));
  TIME_SETUP("lut2 row step: broadcast, vpsrlvd, vpermd, fma", 4, "row step", "", X4(LUT2_ROW_D));
  PZ("vpermd zmm + vpmultishiftqb zmm", PERMD_Z, MSHIFT_Z);
  PZ("vpermd zmm + vpsrlvq zmm", PERMD_Z, SRLVQ_ZA);
  TIME_SETUP("sparse50 vector part (64 weights)", 1, "iteration",
             "mov $0x5555,%%r12d\n\tmov $0xffff,%%edx\n\t", SPARSE_STEP);
  PZ("vpermb zmm + vpdpbusd zmm", PERMB_Z, DPBUSD_Z);
  PZ("fma zmm + vpsrlvd zmm", FMA_Z, SRLV_Z);
  PZ("vpermb zmm + vpsrlvd zmm", PERMB_Z, SRLV_Z);
  PZ("fma zmm + vpsrlq zmm, imm", FMA_Z, SRLQ_Z);
  PZ("fma zmm + vpmovsxbd zmm, xmm", FMA_Z, SXBD_Z);
  PZ("vpermb zmm + vpmovsxbd zmm, xmm", PERMB_Z, SXBD_Z);
  PZ("fma zmm + vextracti64x4", FMA_Z, EXTR_Z);
  PZ("vcvtph2ps zmm, ymm + vextracti64x4", CVT16R_Z, EXTR_Z);
  PZ("fma zmm + vmovdqu64 zmm, m512", FMA_Z, LOAD_Z);
  PZ("vpermb zmm + vbroadcasti32x4 zmm, m128", PERMB_Z, BCAST4_Z);
  PZ("vmovdqu64 zmm, m512 + vbroadcasti32x4", LOAD_Z, BCAST4_Z);
  PZ("vmovdqu64 zmm, m512 + vpbroadcastq zmm, m64", LOAD_Z, BCASTQ_Z);
  PZ("fma zmm + the vbroadcastss pair", FMA_ZB, BCASTSS_ZK);
  PZ("vpermb zmm + the vbroadcastss pair", PERMB_ZB, BCASTSS_ZK);
  PZ("vmovdqu64 zmm, m512 + vpmultishiftqb m64{1to8}", LOAD_Z, MSHIFT_ZB);
  TIME_SETUP("fma zmm + kmovw k, m16", 6, "pair", "", X6(FMA_Z) X6K(KMOVM));
  TIME_SETUP("kmovd k, r32 + kmovw k, m16", 6, "pair", "", X6K(KMOV) X6K(KMOVM));
  TIME_SETUP("fma zmm + vpmovb2m", 6, "pair", "", X6(FMA_Z) X6K(B2M));
  TIME_SETUP("vpmovb2m + kmovd", 6, "pair", "", X6K(B2M) X6K(KMOV));
  TIME_SETUP("vpermb zmm + vpmovb2m", 6, "pair", "", X6(PERMB_Z) X6K(B2M));
}

#undef K_CLOBBERS
#define K_CLOBBERS  // mask registers only in avx512()

int main(void) {
  printf("clock (dependent add chain)                   %.2f GHz\n", ghz());
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
  if (__builtin_cpu_supports("avx512vbmi2") && __builtin_cpu_supports("avx512vnni")) avx512();
  return 0;
}
