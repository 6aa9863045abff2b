// Per-target decoder for sparse + quantized weights (constexpr_sparse_blockwise_shift_scale ->
// sparse_to_dense, FORMATS.md §7.5, §7.6): each chunk's non-zero integers are scattered to their
// mask bits (sparse_expand-inl.h), dequantized with the blocks of their dense positions
// (quantization/quant_matrix-inl.h), and the pruned lanes set to +0. Included by
// sparse_quant_gemv.cc and sparse_quant_decompress.cc, which compile in parallel.

#if defined(WK_SPARSITY_SPARSE_QUANT_MATRIX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WK_SPARSITY_SPARSE_QUANT_MATRIX_INL_H_
#undef WK_SPARSITY_SPARSE_QUANT_MATRIX_INL_H_
#else
#define WK_SPARSITY_SPARSE_QUANT_MATRIX_INL_H_
#endif

#include <array>
#include <type_traits>

#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "quantization/quant_matrix-inl.h"
#include "sparsity/sparse_expand-inl.h"
#include "sparsity/sparse_plan.h"

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// The general scale layout is decoded one row at a time. kExact: the decompression form
// (QuantMatrixDecoder's).
template <int32_t kDType, bool kF16, ScaleLayout kLayout, bool kExact = false>
struct SparseQuantDecoder : SparseMaskDecoder<SparseQuantDecoder<kDType, kF16, kLayout, kExact>> {
  static constexpr bool kMultiRow = kLayout != ScaleLayout::kGeneral;
  static constexpr bool kNibbles = QuantDataType<kDType>::kNibbles;
  using T = typename QuantDataType<kDType>::T;
  using D16 = hn::Full128<T>;

  // One-byte integers with one scale per row and fp16 weights on AVX3_DL: the non-zeros of the
  // next kPanelChunks chunks are dequantized packed, once each, into the row's binary16 panel,
  // and each 32 columns are then scattered from it as sparse fp16's are (ExpandPairF16).
  // Dequantizing the expanded chunks converted every pruned lane too: sparse50-int8 took 1.6 times
  // int8's hot time for half the non-zeros. Exact: the same RN16 of the same product per value,
  // and a pruned lane +0 (see zero_pruned_ below).
#if HWY_TARGET == HWY_AVX3_DL
  static constexpr bool kPanels = !kNibbles && kLayout == ScaleLayout::kRow && kF16;
#else
  static constexpr bool kPanels = false;
#endif
  // 1024 columns: the fill's loop exit mispredicts once per panel (256 columns ran 13 % slower).
  static constexpr size_t kPanelChunks = 64;
  // Panels live in the decoder (one per task and thread), one slot per row in flight: a block's
  // rows or the batch product's panel rows, consecutive. Held in the cursors instead, they made
  // them arrays in memory: hot 67.0 against 64.1 us, cold batch 8 3880 against 3487 (Zen 5).
  static constexpr size_t kPanelSlots = kPanelRows;
  static_assert(SparseMaskDecoder<SparseQuantDecoder>::kBlockRows <= kPanelSlots, "a slot per row");
  struct PanelSlot {
    // A step reads 32 words from any of its values on.
    alignas(64) uint16_t values[kPanelChunks * kChunk + 32];
  };
  struct NoPanel {};
  struct Panel {
    size_t end;         // first chunk past the panel
    uint64_t first_nz;  // ordinal of values[0]
    uint16_t* values;   // the row's slot
  };

  struct Cursor : std::conditional_t<kPanels, Panel, NoPanel> {
    uint64_t bit;  // mask stream position of the next chunk
    uint64_t nz;   // ordinal of the next non-zero
    ScaleRow scales;
    uint64_t next_block;  // NextBlockOffset of the row
  };

  using SparseMaskDecoder<SparseQuantDecoder>::plan;

  explicit SparseQuantDecoder(const SparseMatrixPlan& p)
      : SparseMaskDecoder<SparseQuantDecoder>(p),
        zero_pruned_(kExact || !p.quant.zero_offset || !p.quant.finite_scale) {}

  // One-byte integers on AVX3_DL: four chunks a step, their integers scattered to the step's 64
  // mask bits by one 512-bit vpexpandb (two port-5 uops on an Intel core, as the 128-bit one per
  // chunk was) and the mask moved once; each chunk's 16 bytes then taken by vextracti32x4 and
  // widened. On every target, the pruned lanes' q = 0 weigh s * (0 - 0) = +-0 when every offset
  // is zero and every scale finite, and fma(-0, x, p) = fma(+0, x, p) bit for bit (p is never
  // -0, see ZeroBeyond; 0 * inf is the same NaN for either zero): those lanes then need no
  // clearing (zero_pruned_), which takes a mask move per chunk here and a lane-bit test and
  // blend per vector without AVX-512. Decompression (kExact) stores +0 there.
#if HWY_TARGET == HWY_AVX3_DL
  static constexpr bool kQuadBytes = !kNibbles;
#else
  static constexpr bool kQuadBytes = false;
#endif
  static constexpr size_t kStepChunks =
      kQuadBytes ? 4 : SparseMaskDecoder<SparseQuantDecoder>::kStepChunks;

  template <bool kSafe>
  HWY_INLINE void DecodeStep(Cursor& cur, size_t c, VecSpan<DF> w) const {
    using Base = SparseMaskDecoder<SparseQuantDecoder>;
    if constexpr (kQuadBytes && kSafe) {
      static_assert(Base::kStepChunks == 2, "two base steps");
      Base::template DecodeStep<true>(cur, c, w);
      Base::template DecodeStep<true>(cur, c + 2, w + 2 * kVecs);
    } else if constexpr (kPanels) {
#if HWY_TARGET == HWY_AVX3_DL
      if (c >= cur.end) FillPanel(cur, c);
      const uint64_t m = StepMaskBits64(plan.mask, cur.bit);
      cur.bit += 4 * kChunk;
      uint64_t at = cur.nz - cur.first_nz;
      const uint8_t* values = reinterpret_cast<const uint8_t*>(cur.values);
      ExpandPairF16<false>(values, at, static_cast<uint32_t>(m), w);
      ExpandPairF16<false>(values, at, static_cast<uint32_t>(m >> 32), w + 2);
      cur.nz = cur.first_nz + at;
#endif
    } else if constexpr (kQuadBytes) {
#if HWY_TARGET == HWY_AVX3_DL
      // Fast rows: 64 bytes from the step's first value are readable.
      const uint64_t m = StepMaskBits64(plan.mask, cur.bit);
      cur.bit += 4 * kChunk;
      const __m512i q = _mm512_maskz_expand_epi8(m, LoadForExpand(plan.values + cur.nz));
      cur.nz += hwy::PopCount(m);
      const __m128i bytes[4] = {_mm512_castsi512_si128(q), _mm512_extracti32x4_epi32(q, 1),
                                _mm512_extracti32x4_epi32(q, 2), _mm512_extracti32x4_epi32(q, 3)};
#pragma clang loop unroll(full)
      for (size_t s = 0; s < 4; ++s) {
        VecArray<DI, kVecs> qi;
        WidenChunkInts<T>(hn::Vec<D16>{bytes[s]}, qi);
        DequantizeChunk<kLayout, kExact>(plan.quant, cur.scales, kF16, c + s, qi, w + s);
        if (zero_pruned_) ZeroUnmasked(static_cast<uint32_t>(m >> (16 * s)) & 0xFFFFu, w + s);
      }
#endif
    } else {
      Base::template DecodeStep<kSafe>(cur, c, w);
    }
  }

  HWY_INLINE Cursor Begin(size_t r) const {
    Cursor cur;
    cur.bit = static_cast<uint64_t>(r) * plan.cols;
    cur.nz = plan.row_start[r];
    cur.scales = ScaleRowOf(plan.quant, r);
    cur.next_block = this->NextBlockOffset(r);
    if constexpr (kPanels) {
      cur.end = 0;
      cur.values = panels_[r % kPanelSlots].values;
    }
    return cur;
  }

  HWY_INLINE void Prefetch(const Cursor& cur, size_t) const {
    this->PrefetchNextBlock(cur, kNibbles ? 4 : 8);
  }

  template <bool kSafe>
  HWY_INLINE void Expand(Cursor& cur, size_t c, uint32_t bits, VecSpan<DF> w) const {
    const hn::Vec<D16> q = ExpandChunkBytes<T>(LoadValues<kSafe>(cur.nz), bits);
    cur.nz += hwy::PopCount(bits);
    VecArray<DI, kVecs> qi;
    WidenChunkInts<T>(q, qi);
    DequantizeChunk<kLayout, kExact>(plan.quant, cur.scales, kF16, c, qi, w);
    if (zero_pruned_) ZeroUnmasked(bits, w);
  }

 private:
  // The panel of the steps from chunk c on (at most kPanelChunks chunks, whole steps of a fast
  // row: its values and 64 bytes past them are readable), 16 values at a time.
  HWY_INLINE void FillPanel(Cursor& cur, size_t c) const {
    const size_t steps_end = c + (plan.cols / kChunk - c) / 4 * 4;
    cur.end = HWY_MIN(c + kPanelChunks, steps_end);
    uint64_t count = 0;
    for (size_t s = c; s < cur.end; s += 4) {
      count += hwy::PopCount(StepMaskBits64(plan.mask, cur.bit + (s - c) * kChunk));
    }
    cur.first_nz = cur.nz;
    const T* q = reinterpret_cast<const T*>(plan.values) + cur.nz;
    for (uint64_t i = 0; i < count; i += kChunk) {
      VecArray<DI, kVecs> qi;
      LoadChunkInts(q + i, qi);
      VecArray<DF, kVecs> w;
      DequantizeChunk<kLayout>(plan.quant, cur.scales, false, 0, qi, w);
      hn::Store(RoundToF16(VF(w[0])), DU16(), cur.values + i);
    }
  }

  bool zero_pruned_;  // pruned lanes must be cleared (a q = 0 weight may not be +-0)
  mutable std::array<PanelSlot, kPanels ? kPanelSlots : 0> panels_;

  // The 16 integers from value ordinal nz on (lanes past the last value are unspecified).
  template <bool kSafe>
  HWY_INLINE hn::Vec<D16> LoadValues(uint64_t nz) const {
    HWY_ALIGN uint8_t scratch[16];
    if constexpr (kNibbles) {
      const uint8_t* p = GroupSource<kSafe>(plan.values, plan.value_bytes, nz / 2, scratch);
      return UnpackNibbles<T>(NibblesAt(p, nz & 1));
    } else {
      const uint8_t* p = GroupSource<kSafe>(plan.values, plan.value_bytes, nz, scratch);
      return hn::LoadU(D16(), reinterpret_cast<const T*>(p));
    }
  }
};

// Calls run(decoder) with the decoder for this plan's scale layout (kExact: decompression's).
template <int32_t kDType, bool kExact, class Run>
void WithSparseQuantDecoder(const SparseMatrixPlan& plan, const Run& run) {
  WithScaleLayout(plan.quant, [&](auto layout) {
    constexpr ScaleLayout kLayout = decltype(layout)::value;
    if (!kExact && plan.quant.round_f16) {
      return run(SparseQuantDecoder<kDType, true, kLayout>(plan));
    }
    run(SparseQuantDecoder<kDType, false, kLayout, kExact>(plan));
  });
}

// The same for this plan's value type.
template <bool kExact, class Run>
void WithSparseQuantDecoder(const SparseMatrixPlan& plan, const Run& run) {
  switch (plan.value_dtype) {
    case WK_DTYPE_INT4: return WithSparseQuantDecoder<WK_DTYPE_INT4, kExact>(plan, run);
    case WK_DTYPE_UINT4: return WithSparseQuantDecoder<WK_DTYPE_UINT4, kExact>(plan, run);
    case WK_DTYPE_INT8: return WithSparseQuantDecoder<WK_DTYPE_INT8, kExact>(plan, run);
    case WK_DTYPE_UINT8: return WithSparseQuantDecoder<WK_DTYPE_UINT8, kExact>(plan, run);
    default: return;
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#endif  // WK_SPARSITY_SPARSE_QUANT_MATRIX_INL_H_
