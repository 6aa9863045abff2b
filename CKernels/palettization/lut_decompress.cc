// Palettization decompression, compiled for every target: constexpr_lut_to_dense runs (entries
// copied bit for bit, any element size) and prepared matrices to dense fp16 / fp32.
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "palettization/lut_decompress.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <algorithm>
#include <cstring>

#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "palettization/lut_decode-inl.h"
#include "palettization/lut_matrix-inl.h"
#include "palettization/lut_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

HWY_INLINE void StoreEntries(VecSpan<DU> v, uint32_t elem_bytes, uint8_t* out) {
  const DU du;
  const DI di;
  for (size_t j = 0; j < kVecs; ++j) {
    if (elem_bytes == 4) {
      hn::StoreU(v[j], du, reinterpret_cast<uint32_t*>(out) + j * kLanes);
    } else if (elem_bytes == 2) {
      const hn::Rebind<uint16_t, DU> d16;
      hn::StoreU(hn::DemoteTo(d16, hn::BitCast(di, v[j])), d16,
                 reinterpret_cast<uint16_t*>(out) + j * kLanes);
    } else {
      const hn::Rebind<uint8_t, DU> d8;
      hn::StoreU(hn::DemoteTo(d8, hn::BitCast(di, v[j])), d8, out + j * kLanes);
    }
  }
}

// Leading whole chunks of 8-bit indices from entry `first` (a multiple of 16) on, their entries'
// bits copied through GPRs in 8-byte words, in a loop of their own (inside the chunk loop below,
// its bookkeeping spilled around the copy). Zen 3, 4096 x 4096 fp16: 5.4-6.1 ms against 8.2-8.5
// through LookupScalar's vectors and a demoting store. 6-bit indices of other entry sizes (fp16
// ones take GatherPlanes6) keep that form: their field shifts leave no ALU room for the packing
// (8.5 against 7.2 ms). Returns the entries written.
template <typename T>
HWY_INLINE size_t CopyWhole8(const LutRun& run, size_t first) {
  constexpr size_t kPerWord = 8 / sizeof(T);
  const uint8_t* indices = run.indices + run.bit0 / 8;
  const size_t readable = run.index_bytes - run.bit0 / 8;
  size_t i = first;
  for (; i + kChunk <= run.count && i + kChunk <= readable; i += kChunk) {
    uint8_t* out = run.out + i * sizeof(T);
    uint64_t word = 0;
    ForEachScalarField<8>(indices + i, [&](size_t k, uint32_t field) {
      word |= uint64_t{static_cast<T>(run.table[field])} << (8 * sizeof(T) * (k % kPerWord));
      if (k % kPerWord == kPerWord - 1) {
        std::memcpy(out + k / kPerWord * 8, &word, 8);
        word = 0;
      }
    });
  }
  return i;
}

// Leading 4-bit entries of 2 or 4 bytes through the run's byte planes (the entries' own bits: no
// conversion, so NaN payloads are copied), a byte-plane step at a time while the step's indices
// start on a byte with 16 bytes readable. Returns the entries written.
HWY_INLINE size_t GatherPlanes4(const LutRun& run) {
  constexpr size_t kStep = kChunk * kPlaneStepChunks;
  const size_t elem = run.elem_bytes;
  const uint8_t* planes = run.planes;
  size_t i = 0;
  for (; i + kStep <= run.count; i += kStep) {
    const uint64_t bit = run.bit0 + uint64_t{i} * 4;
    if ((bit & 7) != 0 || (bit >> 3) + 16 > run.index_bytes) break;
    const uint8_t* p = run.indices + (bit >> 3);
    uint8_t* out = run.out + i * elem;
    if (elem == 2) {
      Lookup4Planes16(p, planes, reinterpret_cast<uint16_t*>(out));
    } else {
      VecArray<DF, 4> w;
      Lookup4Planes(p, planes, w);
      float* q = reinterpret_cast<float*>(out);
      for (size_t j = 0; j < 4; ++j) hn::StoreU(VF(w[j]), DF(), q + j * kLanes);
    }
  }
  return i;
}

// Leading 6-bit entries of 2 bytes through the run's byte planes, kSplit6StepChunks chunks a
// step, while the indices start on a byte and 16 bytes are readable from the step's last chunk
// on: the staged GEMV's sub-table look-ups in column order, where the scalar look-ups ran at
// 0.35-0.67 of a copy's rate (Zen 3). Returns the entries written.
template <size_t kL = kLanes>  // a template: instantiated only on targets of 4 or 8 lanes
HWY_INLINE size_t GatherPlanes6(const LutRun& run) {
  constexpr size_t kStep = kChunk * kSplit6StepChunks;
  if ((run.bit0 & 7) != 0) return 0;
  const uint8_t* indices = run.indices + run.bit0 / 8;
  const size_t readable = run.index_bytes - run.bit0 / 8;
  const uint8_t* planes = run.planes;
  uint16_t* out = reinterpret_cast<uint16_t*>(run.out);
  size_t i = 0;
  // Chunk c's indices start at byte 12 c.
  for (; i + kStep <= run.count && i / kChunk * 12 + 12 * (kSplit6StepChunks - 1) + 16 <= readable; i += kStep) {
    Lookup6PlanesNatural<kL>(indices + i / kChunk * 12, planes, out + i);
  }
  return i;
}

#if HWY_TARGET == HWY_AVX3_DL
// Leading 6- or 8-bit entries of 2 or 4 bytes through the run's byte planes, 64 at a time while
// the step's indices start on a byte: the GEMV's VBMI look-ups (lut_matrix-inl.h). Returns the
// entries written. The 6-bit indices are prefetched 1 KiB ahead: their 48-byte masked loads did
// not start the hardware prefetcher on a Zen 5 (lut6 4096 x 4096: 1937 -> 875 us, 71 % of the
// loop's samples had been on the first use of the loaded indices).
template <int kBits>
HWY_INLINE size_t GatherWide(const LutRun& run) {
  constexpr size_t kStep = 64;
  constexpr size_t kEntries = size_t{1} << kBits;
  const size_t elem = run.elem_bytes;
  const uint8_t* planes = run.planes;
  size_t i = 0;
  for (; i + kStep <= run.count; i += kStep) {
    const uint64_t bit = run.bit0 + uint64_t{i} * kBits;
    if ((bit & 7) != 0 || (bit >> 3) + kStep * kBits / 8 > run.index_bytes) break;
    const uint8_t* p = run.indices + (bit >> 3);
    if constexpr (kBits == 6) hwy::Prefetch(p + 1024);
    uint8_t* out = run.out + i * elem;
    if (elem == 2) {
      const __m512i idx = WideIndices<kBits, 2>(p);
      StoreHalfWords(hn::Vec<D8>{WidePlane<kBits>(idx, planes)},
                     hn::Vec<D8>{WidePlane<kBits>(idx, planes + kEntries)}, reinterpret_cast<uint16_t*>(out));
    } else {
      VecArray<DF, 4> w;
      LookupWide<kBits>(p, planes, w);
      float* q = reinterpret_cast<float*>(out);
      for (size_t j = 0; j < 4; ++j) hn::StoreU(VF(w[j]), DF(), q + j * kLanes);
    }
  }
  return i;
}

// Leading 1- to 4-bit entries of 2 bytes, 64 at a time while the step's indices start on a byte:
// Fields64, then one vpermb per byte plane (16 bytes each, repeated across the register, so the
// neighbour bits above a field select a repeat), StoreWords64. Returns the entries written.
// Prefetched as GatherWide's 6-bit indices (lut1-lut4 4096 x 4096 on Zen 5: 1.4-1.8x faster).
template <int kBits>
HWY_INLINE size_t GatherNarrowF16(const LutRun& run) {
  constexpr size_t kStep = 64;
  const __m512i low = BroadcastPlane(run.planes);
  const __m512i high = BroadcastPlane(run.planes + 16);
  size_t i = 0;
  for (; i + kStep <= run.count; i += kStep) {
    const uint64_t bit = run.bit0 + uint64_t{i} * kBits;
    if ((bit & 7) != 0 || (bit >> 3) + kStep * kBits / 8 > run.index_bytes) break;
    hwy::Prefetch(run.indices + (bit >> 3) + 1024);
    const __m512i idx = Fields64(run.indices + (bit >> 3), kBits, 0, kStep * kBits / 8);
    StoreWords64(_mm512_permutexvar_epi8(idx, low), _mm512_permutexvar_epi8(idx, high), run.out + i * 2);
  }
  return i;
}
#endif

template <int kBits>
void LutGatherBits(const LutRun& run_ref) {
  // A local copy: the output's byte stores could alias the caller's struct, whose fields would
  // then be reloaded after every store.
  const LutRun run = run_ref;
  size_t first = 0;
  if constexpr (kBits == 4 && kPlanes4) {
    if (run.planes != nullptr) first = GatherPlanes4(run) / kChunk;
  }
#if HWY_TARGET == HWY_AVX3_DL
  if constexpr (kBits >= 6) {
    if (run.planes != nullptr) first = GatherWide<kBits>(run) / kChunk;
  } else {
    if (run.planes != nullptr && run.elem_bytes == 2) first = GatherNarrowF16<kBits>(run) / kChunk;
  }
#endif
  if constexpr (kBits == 6 && kPlanes4) {
    if (run.planes != nullptr && run.elem_bytes == 2) first = GatherPlanes6<kLanes>(run) / kChunk;
  }
  if constexpr (kBits == 8) {
    const size_t at = first * kChunk;
    if (run.elem_bytes == 4) first = CopyWhole8<uint32_t>(run, at) / kChunk;
    if (run.elem_bytes == 2) first = CopyWhole8<uint16_t>(run, at) / kChunk;
    if (run.elem_bytes == 1) first = CopyWhole8<uint8_t>(run, at) / kChunk;
  }
  const size_t chunks = (run.count + kChunk - 1) / kChunk;
  for (size_t c = first; c < chunks; ++c) {
    const uint64_t bit = run.bit0 + uint64_t{c} * kChunk * kBits;
    const bool fast = (bit & 7) == 0 && (bit >> 3) + 16 <= run.index_bytes;
    VecArray<DU, kVecs> v;
    if constexpr (kBits >= 6) {
      // The scalar look-ups: several times the gather's rate on Zen 3.
      HWY_ALIGN uint8_t aligned[16];
      const uint8_t* p = run.indices + (bit >> 3);
      if (!fast) {
        SafeChunkBytes<kBits>(run.indices, run.index_bytes, bit, aligned);
        p = aligned;
      }
      VecArray<DF, kVecs> w;
      LookupScalar<kBits>(p, run.table, w);
      for (size_t j = 0; j < kVecs; ++j) v[j] = hn::BitCast(DU(), VF(w[j]));
    } else {
      VecArray<DU, kVecs> idx;
      if (fast) {
        DecodeIndices<kBits>(run.indices + (bit >> 3), idx);
      } else {
        DecodeIndicesSafe<kBits>(run.indices, run.index_bytes, bit, idx);
      }
      for (size_t j = 0; j < kVecs; ++j) v[j] = Lookup<kBits>(run.table, idx[j]);
    }
    uint8_t* out = run.out + c * kChunk * run.elem_bytes;
    const size_t valid = std::min(kChunk, run.count - c * kChunk);
    if (valid == kChunk) {
      StoreEntries(v, run.elem_bytes, out);
    } else {
      HWY_ALIGN uint8_t t[kChunk * 4];
      StoreEntries(v, run.elem_bytes, t);
      std::memcpy(out, t, valid * run.elem_bytes);
    }
  }
}

void LutGather(const LutRun& run) {
  switch (run.nbits) {
    case 1: return LutGatherBits<1>(run);
    case 2: return LutGatherBits<2>(run);
    case 3: return LutGatherBits<3>(run);
    case 4: return LutGatherBits<4>(run);
    case 6: return LutGatherBits<6>(run);
    default: return LutGatherBits<8>(run);
  }
}

template <int kBits>
void LutMatrixDecompressBits(const LutMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  const size_t elem = plan.weight_dtype == WK_DTYPE_FP16 ? 2 : 4;
  switch (plan.scale_mode) {
    case LutScaleMode::kNone: {
      // Unscaled weights are LUT entries copied bit for bit: one run per row and column group,
      // with the plan's planes of those bits (fp32 values are their entries' bits).
      const PlaneBytes& planes = elem == 2 ? plan.half_planes : plan.byte_planes;
      for (size_t r = r0; r < r1; ++r) {
        for (size_t c0 = 0; c0 < plan.cols; c0 += plan.group_cols) {
          const size_t table = plan.row_info[r].table_offset + (c0 / plan.group_cols) * plan.table_stride;
          LutRun run;
          run.indices = plan.indices;
          run.index_bytes = plan.index_bytes;
          run.bit0 = (uint64_t{r} * plan.cols + c0) * kBits;
          run.count = plan.group_cols;
          run.table = plan.raw_tables.data() + table;
          run.planes = planes.empty() ? nullptr : planes.data() + table * elem;
          run.nbits = kBits;
          run.elem_bytes = static_cast<uint32_t>(elem);
          run.out = out + (r * plan.cols + c0) * elem;
          LutGatherBits<kBits>(run);
        }
      }
      return;
    }
    case LutScaleMode::kPerRow:
    case LutScaleMode::kPerColumn: {
      // Scaled weights: the product's decoder in its exact form.
      const bool f16 = plan.weight_dtype == WK_DTYPE_FP16;
      if (LayoutOf(plan) == LutLayout::kColumnScaleF16) {
        const LutMatrixDecoder<kBits, LutLayout::kColumnScaleF16, true> dec(plan);
        return DecompressRows(dec, plan.cols, f16, out, r0, r1);
      }
      const LutMatrixDecoder<kBits, LutLayout::kGeneral, true> dec(plan);
      return DecompressRows(dec, plan.cols, f16, out, r0, r1);
    }
  }
}

void LutMatrixDecompress(const LutMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  switch (plan.nbits) {
    case 1: return LutMatrixDecompressBits<1>(plan, out, r0, r1);
    case 2: return LutMatrixDecompressBits<2>(plan, out, r0, r1);
    case 3: return LutMatrixDecompressBits<3>(plan, out, r0, r1);
    case 4: return LutMatrixDecompressBits<4>(plan, out, r0, r1);
    case 6: return LutMatrixDecompressBits<6>(plan, out, r0, r1);
    default: return LutMatrixDecompressBits<8>(plan, out, r0, r1);
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(LutGather);
HWY_EXPORT(LutMatrixDecompress);

void RunLutGather(uint64_t target, const LutRun& run) {
  KernelFor(HWY_DISPATCH_TABLE(LutGather), target)(run);
}

void RunLutMatrixDecompress(uint64_t target, const LutMatrixPlan& plan, uint8_t* out, size_t r0,
                            size_t r1) {
  KernelFor(HWY_DISPATCH_TABLE(LutMatrixDecompress), target)(plan, out, r0, r1);
}

}  // namespace wk
#endif  // HWY_ONCE
