// The one driver every format's decoder plugs into (the seam between formats and operations):
// y = W·x over a range of rows, in the canonical order of docs/ARITHMETIC.md §2, for one batch
// row (GEMV: weights decoded in registers) or many (each weight decoded once into an L1 panel and
// applied to every batch row; for 2-4 rows the GEMV's blocks for all of them, on decoders that
// stage binary16 weights or whose decode is a load). Compiled once per target: include after
// hwy/foreach_target.h.
//
// Decoder interface:
//   static constexpr size_t kStepChunks;  // chunks DecodeStep produces at once (divides 16)
//   static constexpr bool kMultiRow;      // worth the kBlockRows-row GEMV fast path
//   static constexpr size_t kBlockRows;   // rows decoded together by the GEMV
//   using Cursor = ...;                   // per-row state, e.g. the row index
//   Cursor Begin(size_t row) const;
//   template <bool kSafe> void DecodeStep(Cursor&, size_t chunk, VecSpan<DF> w) const;
//   template <bool kSafe> void Decode(Cursor&, size_t chunk, VecSpan<DF> w) const;  // one chunk
//   void DecodeTail(Cursor&, size_t chunk, VecSpan<DF> w) const;  // the partial last chunk (safe)
//   void Prefetch(const Cursor&, size_t chunk) const;
//   size_t FastRows() const;  // rows whose full chunks may use kSafe = false (no over-read)
// Optionally, decoders of binary16 weights:
//   static constexpr bool kF16Steps = true;
//   static constexpr size_t kF16StepChunks;  // chunks per DecodeStepF16
//   static constexpr size_t F16Offset(size_t s, size_t j);  // where vector j (split order) of chunk s is
//   bool F16Steps() const;  // whether this matrix's weights are binary16
//   void DecodeStepF16(Cursor&, size_t chunk, uint16_t* out) const;  // DecodeStep<false>'s bits
//   static constexpr bool kF16Panels;  // the batch product's panels decode through it (faster)
// Optionally, decoders whose GEMV steps come out cheapest in paired order (PairedColumn,
// gemv_operands.h; 16-lane targets):
//   static constexpr bool kPairedSteps = true;
//   void DecodeStepPaired(Cursor&, size_t chunk, VecSpan<DF> w) const;  // DecodeStep<false>'s
//                                                                       // lanes in paired order
// Optionally, from the row index alone:
//   template <bool kL2> void PrefetchPanel(size_t row, size_t chunk, size_t n) const;
//     // what row's chunks [chunk, chunk + n) read, into L1 or with kL2 into L2 (PrefetchLine)
// which the batch product then calls once per panel row instead of Prefetch per step.
// Chunks of a row are decoded in increasing order, so a cursor may carry a running position
// (sparse formats). With kSafe the decoder must never read outside its buffers. Decoders whose
// cursor is the row index take it by value. Decoded lanes are in natural column order: lane i of
// vector j of chunk c is column 16 c + N j + i.

#if defined(WK_COMMON_MATMUL_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WK_COMMON_MATMUL_INL_H_
#undef WK_COMMON_MATMUL_INL_H_
#else
#define WK_COMMON_MATMUL_INL_H_
#endif

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "common/simd-inl.h"
#include "gemv/gemv_operands.h"
#include "hwy/cache_control.h"
#include "hwy/highway.h"

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// Decoders whose weights are binary16 can hand the GEMV their bits instead (DecodeStepF16): a
// step of every row of a block is decoded into an L1 buffer while the previous step is consumed
// by memory-operand conversions (vcvtph2ps m128 runs twice per cycle on Zen 3, its register form
// once, on the unit vcvtps2ph and vextracti128 also need). The bits are those DecodeStep widens, so
// the products are too. Only where the conversion is an instruction.
constexpr bool kF16Staging = WK_NATIVE_F16;

template <class Decoder, class = void>
struct HasF16Steps : std::false_type {};
template <class Decoder>
struct HasF16Steps<Decoder, std::void_t<decltype(Decoder::kF16Steps)>>
    : std::bool_constant<Decoder::kF16Steps> {};

template <class Decoder, class = void>
struct HasPanelPrefetch : std::false_type {};
template <class Decoder>
struct HasPanelPrefetch<Decoder, std::void_t<decltype(&Decoder::template PrefetchPanel<false>)>>
    : std::true_type {};

template <class Decoder, class = void>
struct HasF16Panels : std::false_type {};
template <class Decoder>
struct HasF16Panels<Decoder, std::void_t<decltype(Decoder::kF16Panels)>>
    : std::bool_constant<HasF16Steps<Decoder>::value && Decoder::kF16Panels> {};

// Decoders whose decode is a load and a conversion (dense) read small batches as plain rows.
template <class Decoder, class = void>
struct HasDirectBatches : std::false_type {};
template <class Decoder>
struct HasDirectBatches<Decoder, std::void_t<decltype(Decoder::kDirectBatches)>>
    : std::bool_constant<Decoder::kDirectBatches> {};

template <class Decoder, class = void>
struct HasPairedSteps : std::false_type {};
template <class Decoder>
struct HasPairedSteps<Decoder, std::void_t<decltype(Decoder::kPairedSteps)>>
    : std::bool_constant<Decoder::kPairedSteps> {};

// Paired steps meet x permuted alike, one chunk at a time as it is loaded (one permute per chunk
// and block of rows): lane p of an accumulator then holds the partial of column PairedColumn(p),
// and goes back to lane PairedColumn(p) before any other chunk is added. Both moves permute lanes;
// no bit changes.
struct PairedLanes {
  alignas(64) int32_t to_paired[16];
  alignas(64) int32_t to_natural[16];

  static constexpr PairedLanes Make() {
    PairedLanes t{};
    for (size_t p = 0; p < 16; ++p) {
      t.to_paired[p] = static_cast<int32_t>(PairedColumn(p));
      t.to_natural[p] = static_cast<int32_t>(SplitColumn(p));
    }
    return t;
  }
};

constexpr PairedLanes kPairedLanes = PairedLanes::Make();

// kToPaired: natural to paired order, else back.
template <bool kToPaired, size_t kL = kLanes>
HWY_INLINE VF PermutePaired(VF v) {
  static_assert(kL == 16, "paired steps exist for 16-lane targets");
  return hn::TableLookupLanes(
      v, hn::SetTableIndices(DF(), kToPaired ? kPairedLanes.to_paired : kPairedLanes.to_natural));
}

// Rows per staged block: the accumulators of 4 rows and one step of x fill 12 of AVX2's 16
// registers.
constexpr size_t kStagedRows = kVecs >= 4 ? 2 : 4;

// The rows GemvRows reads together: the staged blocks' where the decoder stages, else its
// kBlockRows. A decoder's RowPrefetch skips these past a row's end; sized by kBlockRows (2) under
// 4-row staged blocks, it sent rows 0-1 of a block into rows 2-3, read at the same time, and left
// rows 2-3 of the next block to demand misses (lut4 cold on Zen 3: 21 % of the loop's samples on
// their index loads).
template <class Decoder>
HWY_INLINE size_t GemvReadRows(const Decoder& dec) {
  if constexpr (HasF16Steps<Decoder>::value && kF16Staging) {
    if (dec.F16Steps()) return kStagedRows;
  }
  return Decoder::kBlockRows;
}

// Staged weights come in split order (SplitColumn, gemv_operands.h: how 4- and 6-bit look-ups
// come out cheapest) and meet x split alike, once per call (GemvOperands::x_split): lane i of
// accumulator j holds the partial of the column split position N j + i names. The partials go
// back to column order before any other chunk is added: both moves permute lanes, no bit changes.
// In registers, for the 4- and 8-lane targets that stage (a template: no other instantiates it).
template <size_t kL = kLanes>
HWY_INLINE void UnsplitChunk(VecSpan<DF> v) {
  static_assert(kL == 4 || kL == 8, "staged steps exist for 4- and 8-lane targets");
  const DF df;
  if constexpr (kL == 8) {
    const VF lo = hn::InterleaveLower(df, v[0], v[1]);  // columns 0-3 | 8-11
    const VF hi = hn::InterleaveUpper(df, v[0], v[1]);  // columns 4-7 | 12-15
    v[0] = hn::ConcatLowerLower(df, hi, lo);
    v[1] = hn::ConcatUpperUpper(df, hi, lo);
  } else {
    // Columns 0 2 4 6 | 8 10 12 14 | 1 3 5 7 | 9 11 13 15.
    const VF even_lo = v[0];
    const VF even_hi = v[1];
    const VF odd_lo = v[2];
    const VF odd_hi = v[3];
    v[0] = hn::InterleaveLower(df, even_lo, odd_lo);
    v[1] = hn::InterleaveUpper(df, even_lo, odd_lo);
    v[2] = hn::InterleaveLower(df, even_hi, odd_hi);
    v[3] = hn::InterleaveUpper(df, even_hi, odd_hi);
  }
}

// The full steps of kRows rows (< FastRows) through fp16 staging, for kBatch batch rows x[b]
// (each binary16 word widened once for all of them), into acc[(b * kRows + r) * kVecs + j];
// returns the chunks done.
template <size_t kRows, size_t kBatch, class Decoder>
HWY_INLINE size_t GemvStagedSteps(const Decoder& dec, typename Decoder::Cursor* cur,
                                  const XRow* x, VecSpan<DF> acc) {
  constexpr size_t kStep = Decoder::kF16StepChunks;
  constexpr size_t kStepCols = kStep * kChunk;
  const DU16 d16;
  const size_t steps = x[0].cols / kStepCols;
  if (steps == 0) return 0;
  // Double-buffered: step i + 1 is decoded before step i is consumed, so a load never reads what
  // the same iteration stored (which the compiler would forward into a register conversion).
  HWY_ALIGN uint16_t buf[2][kRows * kStepCols];
#pragma clang loop unroll(full)
  for (size_t r = 0; r < kRows; ++r) dec.DecodeStepF16(cur[r], 0, buf[0] + r * kStepCols);
  for (size_t i = 0; i < steps; ++i) {
    if (i + 1 < steps) {
      uint16_t* next = buf[(i + 1) & 1];
#pragma clang loop unroll(full)
      for (size_t r = 0; r < kRows; ++r) {
        dec.Prefetch(cur[r], (i + 1) * kStep);
        dec.DecodeStepF16(cur[r], (i + 1) * kStep, next + r * kStepCols);
      }
    }
    const uint16_t* w = buf[i & 1];
    // Chunk by chunk, so that one chunk of each x is live beside the accumulators.
#pragma clang loop unroll(full)
    for (size_t s = 0; s < kStep; ++s) {
      VecArray<DF, kBatch * kVecs> xv;
#pragma clang loop unroll(full)
      for (size_t b = 0; b < kBatch; ++b) x[b].LoadSplit(i * kStep + s, xv + b * kVecs);
#pragma clang loop unroll(full)
      for (size_t r = 0; r < kRows; ++r) {
#pragma clang loop unroll(full)
        for (size_t j = 0; j < kVecs; ++j) {
          const VF wv = WidenF16(hn::Load(d16, w + r * kStepCols + Decoder::F16Offset(s, j)));
#pragma clang loop unroll(full)
          for (size_t b = 0; b < kBatch; ++b) {
            const size_t a = (b * kRows + r) * kVecs + j;
            acc[a] = FusedMulAdd(wv, xv[b * kVecs + j], acc[a]);
          }
        }
      }
    }
  }
#pragma clang loop unroll(full)
  for (size_t i = 0; i < kBatch * kRows; ++i) UnsplitChunk(acc + i * kVecs);
  return steps * kStep;
}

// kChunks chunks of row r's weights w into its partials of every batch row (x chunks xv[b]) of
// GemvRowBlock's accumulators, each partial's columns in increasing order. The arrays come by
// reference: as pointers (VecSpan), sparse50's AVX2 loop lost two x registers to the stack (7 %
// slower hot), its accumulators allocated differently across the remainder loop.
template <size_t kRows, size_t kBatch, size_t kChunks, class W, class X, class Acc>
HWY_INLINE void FmaChunks(size_t r, W& w, X& xv, Acc& acc) {
#pragma clang loop unroll(full)
  for (size_t s = 0; s < kChunks; ++s) {
#pragma clang loop unroll(full)
    for (size_t j = 0; j < kVecs; ++j) {
#pragma clang loop unroll(full)
      for (size_t b = 0; b < kBatch; ++b) {
        const size_t a = (b * kRows + r) * kVecs + j;
        acc[a] = FusedMulAdd(w[s * kVecs + j], xv[(b * kChunks + s) * kVecs + j], acc[a]);
      }
    }
  }
}

// A block of kRows rows x kBatch batch rows x[b], out[b * kRows + r]: each weight is decoded once,
// in registers (kStaged: the full steps through GemvStagedSteps), and fma'd into every batch row's
// partials. Each output takes the batch-1 block's steps (the same chunks into the same partials in
// column order, the same tail and reduction), so its bits are the batch-1 call's.
template <size_t kRows, size_t kBatch, bool kSafe, class Decoder, bool kStaged = false>
HWY_INLINE void GemvRowBlock(const Decoder& dec, size_t row0, const XRow* x, float* out) {
  const DF df;
  constexpr size_t kStep = Decoder::kStepChunks;
  constexpr size_t kAcc = kBatch * kRows;
  // Every loop over rows and vectors is fully unrolled: indexed dynamically, the accumulators
  // would live on the stack and each fma would wait for a store-to-load round trip.
  VecArray<DF, kAcc * kVecs> acc;
  typename Decoder::Cursor cur[kRows];
#pragma clang loop unroll(full)
  for (size_t r = 0; r < kRows; ++r) cur[r] = dec.Begin(row0 + r);
#pragma clang loop unroll(full)
  for (size_t i = 0; i < kAcc * kVecs; ++i) acc[i] = hn::Zero(df);
  const size_t cols = x[0].cols;
  const size_t full = cols / kChunk;
  constexpr bool kPaired = HasPairedSteps<Decoder>::value && !kSafe && !kStaged;
  size_t c = 0;
  if constexpr (kStaged) {
    c = GemvStagedSteps<kRows, kBatch>(dec, cur, x, acc);
  } else {
    for (; c + kStep <= full; c += kStep) {
      VecArray<DF, kBatch * kStep * kVecs> xv;
#pragma clang loop unroll(full)
      for (size_t b = 0; b < kBatch; ++b) {
#pragma clang loop unroll(full)
        for (size_t s = 0; s < kStep; ++s) {
          const size_t i = (b * kStep + s) * kVecs;
          x[b].Load(c + s, xv + i);
          if constexpr (kPaired) xv[i] = PermutePaired<true>(xv[i]);
        }
      }
#pragma clang loop unroll(full)
      for (size_t r = 0; r < kRows; ++r) {
        VecArray<DF, kStep * kVecs> w;
        dec.Prefetch(cur[r], c);
        if constexpr (kPaired) {
          dec.DecodeStepPaired(cur[r], c, w);
        } else {
          dec.template DecodeStep<kSafe>(cur[r], c, w);
        }
        FmaChunks<kRows, kBatch, kStep>(r, w, xv, acc);
      }
    }
  }
  if constexpr (kPaired) {
#pragma clang loop unroll(full)
    for (size_t i = 0; i < kAcc; ++i) acc[i * kVecs] = PermutePaired<false>(acc[i * kVecs]);
  }
  // Staged batches are whole steps (GemvRows): nothing is left after them.
  if constexpr (!kStaged || kBatch == 1) {
    VecArray<DF, kBatch * kVecs> xv;
    VecArray<DF, kVecs> w;
    for (; c < full; ++c) {
#pragma clang loop unroll(full)
      for (size_t b = 0; b < kBatch; ++b) x[b].Load(c, xv + b * kVecs);
#pragma clang loop unroll(full)
      for (size_t r = 0; r < kRows; ++r) {
        dec.template Decode<kSafe>(cur[r], c, w);
        FmaChunks<kRows, kBatch, 1>(r, w, xv, acc);
      }
    }
    if (full * kChunk != cols) {
#pragma clang loop unroll(full)
      for (size_t b = 0; b < kBatch; ++b) x[b].LoadTail(full, xv + b * kVecs);
#pragma clang loop unroll(full)
      for (size_t r = 0; r < kRows; ++r) {
        dec.DecodeTail(cur[r], full, w);
        ZeroBeyond(cols - full * kChunk, w);
        FmaChunks<kRows, kBatch, 1>(r, w, xv, acc);
      }
    }
  }
#pragma clang loop unroll(full)
  for (size_t i = 0; i < kAcc; ++i) out[i] = ReduceCanonical(acc + i * kVecs);
}

// Rows from io.row_begin for kBatch batch rows x[b], in blocks whose weights are decoded once for
// all of them: staged blocks where the decoder stages (of whole steps past batch 1), then
// kBlockRows rows at a time where the decoder may read without bounds checks, the rest one at a
// time, unchecked while it may (the checked path costs many times as much per row: with the last
// 8 rows checked, a quarter of lut6's time at 512 rows hot), and the last few rows on the checked
// path. A block of kBatch batch rows holds the accumulators of kBlockRows (or kStagedRows) row-
// batch pairs. Past batch 1 only decoders with kDirectBatches take the unstaged blocks; the others
// leave those rows to the panel product. Returns the first row left.
template <size_t kBatch, class Decoder>
HWY_INLINE size_t GemvRows(const Decoder& dec, const XRow* x, const GemvOperands& io) {
  const size_t fast_end = std::min(io.row_end, dec.FastRows());
  float out[kBatch * std::max(Decoder::kBlockRows, kStagedRows)];
  const auto store = [&](size_t r, size_t n) {
    for (size_t b = 0; b < kBatch; ++b) {
      for (size_t i = 0; i < n; ++i) {
        StoreResult(out[b * n + i], io.y, b * io.rows + r + i, io.y_f16);
      }
    }
  };
  size_t r = io.row_begin;
  if constexpr (HasF16Steps<Decoder>::value && kF16Staging) {
    constexpr size_t kStepCols = Decoder::kF16StepChunks * kChunk;
    if (dec.F16Steps() && x[0].split != nullptr && (kBatch == 1 || x[0].cols % kStepCols == 0)) {
      constexpr size_t kRows = std::max<size_t>(1, kStagedRows / kBatch);
      static_assert(kStagedRows % kRows == 0, "row blocks tile the staged block");
      for (; r + kRows <= fast_end; r += kRows) {
        GemvRowBlock<kRows, kBatch, false, Decoder, true>(dec, r, x, out);
        store(r, kRows);
      }
    }
  }
  if constexpr (kBatch == 1 || HasDirectBatches<Decoder>::value) {
    if (x[0].x == nullptr) return r;  // packed batch rows: the panel product's
    // Past batch 1 on 32-register targets (AVX-512), twice the batch-1 block's accumulators, so
    // that each activation vector loaded serves more rows: dense-f16 4096 x 4096 on Zen 5, batch
    // 3 2285 -> 1463 us, batch 4 2445 -> 1664, batch 2 1518 -> 1267 (batch 1: 1230).
    constexpr size_t kPairs = (kBatch > 1 && kVecs == 1 ? 2 : 1) * Decoder::kBlockRows;
    constexpr size_t kRows = std::max<size_t>(1, kPairs / kBatch);
    static_assert(kRows * kBatch <= sizeof(out) / sizeof(out[0]), "a block's outputs fit out");
    // Decoders for rare layouts skip the multi-row block: one instantiation instead of two.
    if constexpr (Decoder::kMultiRow) {
      for (; r + kRows <= fast_end; r += kRows) {
        GemvRowBlock<kRows, kBatch, false>(dec, r, x, out);
        store(r, kRows);
      }
      for (; kRows > 1 && r < fast_end; ++r) {
        GemvRowBlock<1, kBatch, false>(dec, r, x, out);
        store(r, 1);
      }
    }
    for (; r < io.row_end; ++r) {
      GemvRowBlock<1, kBatch, true>(dec, r, x, out);
      store(r, 1);
    }
  }
  return r;
}

// Products of batches: a panel of rows x 16 or 32 chunks is decoded once into fp32 (in L1) and
// every batch row is applied to it from there, in register tiles. Each output keeps its 16 partial
// sums (kVecs vectors) in an accumulator scratch between panels, so its bits are those of the
// GEMV: the same weights, fma'd into the same partials in the same column order, reduced by the
// same tree.
// Panels of 8 rows. From batch kWidePanelBatch on, of kPanelCols = 512 columns (16 KiB), so that
// a tile call runs 32 chunks (768 fmas on AVX-512) per load and store of its accumulators, and the
// panel, one tile's activations (12 KiB at 6 batch rows) and the accumulators (16 KiB) fit L1
// together. Intel Xeon (AVX3_DL), cold 4096 x 4096, batch 32, 1 thread, against 16 rows of 256
// columns: int8 10.3 -> 9.3 ms, int4-b32 10.5 -> 9.7, lut4 9.7 -> 8.5, dense fp16 9.9 -> 9.7.
// Smaller batches keep 256 columns (PanelCols): with 512, dense fp16 batch 8 3.45 -> 3.94 ms.
constexpr size_t kPanelRows = 8;
constexpr size_t kPanelChunks = kPanelCols / kChunk;
// Batches from which the tiles outlast the panel decode: PrefetchPanel's calls are then spread
// over the tile calls, into L2 (a burst of every row's lines waits on the L1 miss buffers, and
// lines brought into L1 while the tiles run evict their accumulators and activations). Smaller
// batches prefetch each row beside its decode, into L1. Intel Xeon (AVX3_DL), cold 4096 x 4096,
// spread against beside the decode: dense fp16 batch 8 4.2 -> 3.5 ms, batch 32 11.0 -> 9.9;
// at batch 2 spread lost (int4-b32 2.65 -> 2.96, int8 2.30 -> 2.43).
constexpr size_t kSpreadBatch = 4;
// Batch rows per pass over the weights: bounds the accumulators (8 x 32 x 64 B = 16 KiB, on the
// stack); a larger batch decodes the weights once per 32 batch rows.
constexpr size_t kBatchGroup = 32;
// Register tile: kTileRows panel rows x kTileBatch batch rows, one vector of the 16 partials at a
// time (the kVecs vectors of an output's partials are independent sums), weights and activations
// both from registers: kTileRows * kTileBatch fmas per kTileRows + kTileBatch loads. 16 registers
// (AVX2, 128-bit): 4 x 3 accumulators + 3 activations + 1 weight; 32 (AVX-512): 4 x 6 + 6 + 1.
// Both cover the 2 FMA pipes x 4 cycles of latency.
constexpr size_t kTileRows = 4;
constexpr size_t kTileBatch = kLanes >= 16 ? 6 : 3;

// acc[i][b] += panel row i (chunks chunks, rows kStride floats apart) times batch row x + b *
// kStride, for i < kR, b < kB; acc[i][b] at acc + (i * kBatchGroup + b) * kChunk. The stride is a
// constant so that every load addresses from one base register and an immediate offset.
template <size_t kR, size_t kB, size_t kStride>
HWY_NOINLINE void PanelTile(const float* HWY_RESTRICT w, size_t chunks,
                            const float* HWY_RESTRICT x, float* HWY_RESTRICT acc) {
  const DF df;
#pragma clang loop unroll(full)
  for (size_t j = 0; j < kVecs; ++j) {
    VecArray<DF, kR * kB> a;
#pragma clang loop unroll(full)
    for (size_t i = 0; i < kR; ++i) {
#pragma clang loop unroll(full)
      for (size_t b = 0; b < kB; ++b) {
        a[i * kB + b] = hn::Load(df, acc + (i * kBatchGroup + b) * kChunk + j * kLanes);
      }
    }
    for (size_t c = 0; c < chunks; ++c) {
      VecArray<DF, kB> xv;
#pragma clang loop unroll(full)
      for (size_t b = 0; b < kB; ++b) {
        xv[b] = hn::LoadU(df, x + b * kStride + c * kChunk + j * kLanes);
      }
#pragma clang loop unroll(full)
      for (size_t i = 0; i < kR; ++i) {
        const VF wv = hn::Load(df, w + i * kStride + c * kChunk + j * kLanes);
#pragma clang loop unroll(full)
        for (size_t b = 0; b < kB; ++b) a[i * kB + b] = FusedMulAdd(wv, xv[b], a[i * kB + b]);
      }
    }
#pragma clang loop unroll(full)
    for (size_t i = 0; i < kR; ++i) {
#pragma clang loop unroll(full)
      for (size_t b = 0; b < kB; ++b) {
        hn::Store(VF(a[i * kB + b]), df, acc + (i * kBatchGroup + b) * kChunk + j * kLanes);
      }
    }
  }
}

// PanelTile<kR, n, kStride> for a tile of n <= kTileBatch batch rows.
template <size_t kR, size_t kStride, size_t kB = kTileBatch>
HWY_INLINE void PanelTileN(size_t n, const float* w, size_t chunks, const float* x, float* acc) {
  if constexpr (kB >= 1) {
    if (n == kB) return PanelTile<kR, kB, kStride>(w, chunks, x, acc);
    if constexpr (kB > 1) PanelTileN<kR, kStride, kB - 1>(n, w, chunks, x, acc);
  }
}

// PanelTileN for panels (and packed activations) `width` columns wide: PanelCols of the batch.
template <size_t kR>
HWY_INLINE void PanelTileAt(size_t width, size_t n, const float* w, size_t chunks, const float* x,
                            float* acc) {
  if (width == kPanelCols) return PanelTileN<kR, kPanelCols>(n, w, chunks, x, acc);
  PanelTileN<kR, kPanelCols / 2>(n, w, chunks, x, acc);
}

// Decodes chunks [c0, c0 + n) of one row into panel (16 floats per chunk), the tail chunk with
// its padding lanes +0.
template <bool kSafe, class Decoder>
HWY_INLINE void DecodePanelRow(const Decoder& dec, typename Decoder::Cursor& cur, size_t c0,
                               size_t n, size_t cols, float* HWY_RESTRICT panel) {
  const DF df;
  constexpr size_t kStep = Decoder::kStepChunks;
  const size_t full = cols / kChunk;
  const size_t end = c0 + n;
  size_t c = c0;
  for (; c + kStep <= std::min(end, full); c += kStep) {
    VecArray<DF, kStep * kVecs> w;
    if constexpr (!HasPanelPrefetch<Decoder>::value) dec.Prefetch(cur, c);
    dec.template DecodeStep<kSafe>(cur, c, w);
#pragma clang loop unroll(full)
    for (size_t v = 0; v < kStep * kVecs; ++v) {
      hn::Store(VF(w[v]), df, panel + (c - c0) * kChunk + v * kLanes);
    }
  }
  VecArray<DF, kVecs> w;
  for (; c < std::min(end, full); ++c) {
    dec.template Decode<kSafe>(cur, c, w);
    for (size_t j = 0; j < kVecs; ++j) {
      hn::Store(VF(w[j]), df, panel + (c - c0) * kChunk + j * kLanes);
    }
  }
  if (c < end) {
    dec.DecodeTail(cur, c, w);
    ZeroBeyond(cols - c * kChunk, w);
    for (size_t j = 0; j < kVecs; ++j) {
      hn::Store(VF(w[j]), df, panel + (c - c0) * kChunk + j * kLanes);
    }
  }
}

// One chunk of staged binary16 words (split order, vector j at w + Decoder::F16Offset(s, j))
// widened into 16 floats in column order at out: the panel's order, which x is packed in.
template <class Decoder>
HWY_INLINE void WidenUnsplit(const uint16_t* HWY_RESTRICT w, size_t s, float* HWY_RESTRICT out) {
  const DF df;
  const DU16 d16;
  VecArray<DF, kVecs> v;
#pragma clang loop unroll(full)
  for (size_t j = 0; j < kVecs; ++j) v[j] = WidenF16(hn::Load(d16, w + Decoder::F16Offset(s, j)));
  UnsplitChunk(v);
#pragma clang loop unroll(full)
  for (size_t j = 0; j < kVecs; ++j) hn::Store(VF(v[j]), df, out + j * kLanes);
}

// DecodePanelRow<false> (a row < FastRows) through DecodeStepF16, which gives the same bits: the
// full steps staged, the rest as DecodePanelRow does.
template <class Decoder>
HWY_INLINE void DecodePanelRowF16(const Decoder& dec, typename Decoder::Cursor& cur, size_t c0,
                                  size_t n, size_t cols, float* HWY_RESTRICT panel) {
  constexpr size_t kStep = Decoder::kF16StepChunks;
  const size_t full = std::min(c0 + n, cols / kChunk);
  size_t c = c0;
  for (; c + kStep <= full; c += kStep) {
    HWY_ALIGN uint16_t buf[kStep * kChunk];
    if constexpr (!HasPanelPrefetch<Decoder>::value) dec.Prefetch(cur, c);
    dec.DecodeStepF16(cur, c, buf);
#pragma clang loop unroll(full)
    for (size_t s = 0; s < kStep; ++s) {
      WidenUnsplit<Decoder>(buf, s, panel + (c - c0 + s) * kChunk);
    }
  }
  if (c < c0 + n) DecodePanelRow<false>(dec, cur, c, c0 + n - c, cols, panel + (c - c0) * kChunk);
}

// Every batch row (io.packed), rows [row_begin, row_end).
template <class Decoder>
HWY_INLINE void GemmRows(const Decoder& dec, size_t cols, const GemvOperands& io) {
  const DF df;
  const size_t chunks = (cols + kChunk - 1) / kChunk;
  const size_t fast_rows = dec.FastRows();
  bool staged = false;
  if constexpr (kF16Staging && HasF16Panels<Decoder>::value) staged = dec.F16Steps();
  // At page boundaries: the stack's start moves within a page from one process to the next, and
  // with it where the panel and the accumulators fall against the activations and the weights
  // (which loads 4 KiB-alias their stores). Unaligned, int8 batch 32 took 12.4-12.8 ms instead of
  // 9.2-9.3 in most processes (Intel Xeon AVX3_DL, cold 4096 x 4096, 1 thread).
  alignas(4096) float panel[kPanelRows * kPanelChunks * kChunk];
  alignas(4096) float acc[kPanelRows * kBatchGroup * kChunk];
  const size_t panel_cols = PanelCols(io.batch);
  const size_t panel_chunks = panel_cols / kChunk;
  for (size_t r0 = io.row_begin; r0 < io.row_end; r0 += kPanelRows) {
    const size_t nr = std::min(kPanelRows, io.row_end - r0);
    for (size_t b0 = 0; b0 < io.batch; b0 += kBatchGroup) {
      const size_t nb = std::min(kBatchGroup, io.batch - b0);
      typename Decoder::Cursor cur[kPanelRows];
      for (size_t i = 0; i < nr; ++i) cur[i] = dec.Begin(r0 + i);
      for (size_t i = 0; i < nr * kBatchGroup * kChunk; i += kLanes) {
        hn::Store(hn::Zero(df), df, acc + i);
      }
      const bool spread = nb >= kSpreadBatch;
      for (size_t c0 = 0; c0 < chunks; c0 += panel_chunks) {
        const size_t nc = std::min(panel_chunks, chunks - c0);
        // Row i's panel two ahead; past the row's end, the same row of the next panel group
        // (which Prefetch's row blocks do not know: its wrap lands in the group being decoded).
        // Panel rows interleave 8 row streams and their scale grids, which hardware
        // prefetchers follow poorly. Zen 5, cold, against Prefetch per step: int4-b32 batch 8
        // 7.2 -> 4.6 ms, batch 32 17.2 -> 13.2; lut4 batch 32 14.2 -> 12.6; int8 13.8 -> 13.0.
        const auto prefetch_row = [&](size_t i, auto to_l2) {
          if constexpr (HasPanelPrefetch<Decoder>::value) {
            size_t ahead = c0 + 2 * panel_chunks;
            size_t row = r0 + i;
            if (ahead >= chunks) {
              ahead -= chunks;
              row += kPanelRows;
            }
            if (ahead < chunks && row < io.row_end) {
              dec.template PrefetchPanel<decltype(to_l2)::value>(row, ahead, panel_chunks);
            }
          }
        };
        for (size_t i = 0; i < nr; ++i) {
          float* row_panel = panel + i * panel_cols;
          if (!spread) prefetch_row(i, std::false_type());
          if constexpr (kF16Staging && HasF16Panels<Decoder>::value) {
            if (staged && r0 + i < fast_rows) {
              DecodePanelRowF16(dec, cur[i], c0, nc, cols, row_panel);
              continue;
            }
          }
          if (r0 + i < fast_rows) {
            DecodePanelRow<false>(dec, cur[i], c0, nc, cols, row_panel);
          } else {
            DecodePanelRow<true>(dec, cur[i], c0, nc, cols, row_panel);
          }
        }
        // The activations of a tile (kTileBatch rows x nc chunks) stay in L1 across the rows.
        // Tiles of near-equal size (32 = 6+6+5+5+5+5, not 6 x 5 + 2): a small tile costs
        // almost a full one's loads per chunk.
        const size_t tiles = (nb + kTileBatch - 1) / kTileBatch;
        const size_t calls = tiles * (nr / kTileRows + nr % kTileRows);
        size_t call = 0;
        size_t prefetched = 0;
        // A few rows before each tile call.
        const auto prefetch = [&] {
          if (spread) {
            for (const size_t upto = ++call * nr / calls; prefetched < upto; ++prefetched) {
              prefetch_row(prefetched, std::true_type());
            }
          }
        };
        for (size_t t = 0, bt = 0; t < tiles; ++t) {
          const size_t kb = nb / tiles + (t < nb % tiles ? 1 : 0);
          const float* xt = io.x + ((c0 / panel_chunks) * io.batch + b0 + bt) * panel_cols;
          size_t i = 0;
          for (; i + kTileRows <= nr; i += kTileRows) {
            prefetch();
            PanelTileAt<kTileRows>(panel_cols, kb, panel + i * panel_cols, nc, xt,
                                   acc + (i * kBatchGroup + bt) * kChunk);
          }
          for (; i < nr; ++i) {
            prefetch();
            PanelTileAt<1>(panel_cols, kb, panel + i * panel_cols, nc, xt,
                           acc + (i * kBatchGroup + bt) * kChunk);
          }
          bt += kb;
        }
      }
      const size_t y_row = io.rows * (io.y_f16 ? 2 : 4);
      for (size_t i = 0; i < nr; ++i) {
        for (size_t b = 0; b < nb; ++b) {
          VecArray<DF, kVecs> p;
          const float* a = acc + (i * kBatchGroup + b) * kChunk;
          for (size_t j = 0; j < kVecs; ++j) p[j] = hn::Load(df, a + j * kLanes);
          StoreResult(ReduceCanonical(p), io.y + (b0 + b) * y_row, r0 + i, io.y_f16);
        }
      }
    }
  }
}

// Decompression outputs of at least this many bytes per call are written with streaming stores.
constexpr size_t kStreamBytes = size_t{4} << 20;

// One chunk's weights in the weight dtype at p (f16: RN16 of each fp32 weight).
template <bool kF16, bool kStream>
HWY_INLINE void StoreWeights(VecSpan<DF> w, uint8_t* p) {
  for (size_t j = 0; j < kVecs; ++j) {
    if constexpr (kF16) {
      uint16_t* q = reinterpret_cast<uint16_t*>(p) + j * kLanes;
      if constexpr (kStream) {
        hn::Stream(RoundToF16(w[j]), DU16(), q);
      } else {
        hn::StoreU(RoundToF16(w[j]), DU16(), q);
      }
    } else {
      float* q = reinterpret_cast<float*>(p) + j * kLanes;
      if constexpr (kStream) {
        hn::Stream(VF(w[j]), DF(), q);
      } else {
        hn::StoreU(VF(w[j]), DF(), q);
      }
    }
  }
}

// Row r from chunk c0 on (a multiple of the decoder's step; c0 > 0 only for decoders whose
// cursor does not advance).
template <bool kSafe, bool kF16, bool kStream, class Decoder>
HWY_INLINE void DecompressRow(const Decoder& dec, size_t r, size_t cols, uint8_t* row_out,
                              size_t c0 = 0) {
  constexpr size_t kStep = Decoder::kStepChunks;
  constexpr size_t kElem = kF16 ? 2 : 4;
  const size_t full = cols / kChunk;
  typename Decoder::Cursor cur = dec.Begin(r);
  size_t c = c0;
  for (; c + kStep <= full; c += kStep) {
    VecArray<DF, kStep * kVecs> w;
    dec.Prefetch(cur, c);
    dec.template DecodeStep<kSafe>(cur, c, w);
    for (size_t s = 0; s < kStep; ++s) {
      StoreWeights<kF16, kStream>(w + s * kVecs, row_out + (c + s) * kChunk * kElem);
    }
  }
  VecArray<DF, kVecs> w;
  for (; c < full; ++c) {
    dec.template Decode<kSafe>(cur, c, w);
    StoreWeights<kF16, kStream>(w, row_out + c * kChunk * kElem);
  }
  if (full * kChunk != cols) {
    HWY_ALIGN uint8_t t[kChunk * 4];
    dec.DecodeTail(cur, full, w);
    StoreWeights<kF16, false>(w, t);
    std::memcpy(row_out + full * kChunk * kElem, t, (cols - full * kChunk) * kElem);
  }
}

template <bool kF16, bool kStream, class Decoder>
HWY_INLINE void DecompressRowRange(const Decoder& dec, size_t cols, uint8_t* out, size_t r0,
                                   size_t r1) {
  const size_t row_bytes = cols * (kF16 ? 2 : 4);
  const size_t fast_end = std::max(r0, std::min(r1, dec.FastRows()));
  for (size_t r = r0; r < fast_end; ++r) {
    DecompressRow<false, kF16, kStream>(dec, r, cols, out + r * row_bytes);
  }
  for (size_t r = fast_end; r < r1; ++r) {
    DecompressRow<true, kF16, kStream>(dec, r, cols, out + r * row_bytes);
  }
  if (kStream) hwy::FlushStream();
}

// Decompression through a product decoder: rows [r0, r1) of the weights the decoder computes,
// in the weight dtype (f16: RN16 of each fp32 weight, so the decoder should leave them unrounded),
// rows of `cols` at out. For the bits of decompression the decoder applies the NaN rule of
// docs/ARITHMETIC.md where two NaNs can meet.
template <class Decoder>
HWY_INLINE void DecompressRows(const Decoder& dec, size_t cols, bool f16, uint8_t* out, size_t r0,
                               size_t r1) {
  // Outputs far beyond the caches bypass them (as memcpy does), saving the read of each line
  // before it is written, when every full chunk's stores are aligned vectors.
  const size_t row_bytes = cols * (f16 ? 2 : 4);
  // A streaming store writes at least 16 bytes: fp16 halves of 4-lane vectors may not stream.
  const size_t vector_bytes = kLanes * (f16 ? 2 : 4);
  const bool stream = (r1 - r0) * row_bytes >= kStreamBytes && vector_bytes >= 16 &&
                      row_bytes % vector_bytes == 0 &&
                      reinterpret_cast<uintptr_t>(out) % vector_bytes == 0;
  if (f16) {
    if (stream) return DecompressRowRange<true, true>(dec, cols, out, r0, r1);
    return DecompressRowRange<true, false>(dec, cols, out, r0, r1);
  }
  if (stream) return DecompressRowRange<false, true>(dec, cols, out, r0, r1);
  DecompressRowRange<false, false>(dec, cols, out, r0, r1);
}

// y = W·x over io's rows: GemvRows for one batch row and for small batches (up to
// kStagedBatchMax) on decoders that stage or read plain rows directly, the panel product for the
// rest.
template <class Decoder>
HWY_INLINE void MatrixProduct(const Decoder& dec, size_t cols, const GemvOperands& io) {
  // Batch rows: plain (batch 1's packed row is the plain row padded) and split, where given.
  const auto row = [&](size_t b) {
    return XRow{io.packed && io.batch > 1 ? nullptr : io.x + b * cols, cols,
                io.x_split == nullptr ? nullptr : io.x_split + b * cols};
  };
  if (io.batch == 1) {
    const XRow x = row(0);
    GemvRows<1>(dec, &x, io);
    return;
  }
  GemvOperands rest = io;
  if constexpr (HasDirectBatches<Decoder>::value || (HasF16Steps<Decoder>::value && kF16Staging)) {
    if (io.batch <= kStagedBatchMax) {
      XRow x[kStagedBatchMax];
      for (size_t b = 0; b < io.batch; ++b) x[b] = row(b);
      static_assert(kStagedBatchMax == 4, "batches 2, 3 and 4");
      if (io.batch == 2) rest.row_begin = GemvRows<2>(dec, x, io);
      if (io.batch == 3) rest.row_begin = GemvRows<3>(dec, x, io);
      if (io.batch == 4) rest.row_begin = GemvRows<4>(dec, x, io);
    }
  }
  if (rest.row_begin < rest.row_end) GemmRows(dec, cols, rest);
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#endif  // WK_COMMON_MATMUL_INL_H_
