// Per-target fused dequantize decoder for int4/uint4/int8/uint8 weights with per-block scales
// and offsets: each chunk's 16 integers are widened, shifted, scaled and (fp16 weights) rounded
// to binary16 in registers, then accumulated in the canonical order. Included by
// quant_gemv_bytes.cc (int8/uint8) and quant_gemv_nibbles.cc (int4/uint4), which compile in
// parallel, and by sparsity/sparse_quant_matrix-inl.h (the same dequantization of sparse
// non-zeros).

#if defined(WK_QUANTIZATION_QUANT_MATRIX_INL_H_) == defined(HWY_TARGET_TOGGLE)
#ifdef WK_QUANTIZATION_QUANT_MATRIX_INL_H_
#undef WK_QUANTIZATION_QUANT_MATRIX_INL_H_
#else
#define WK_QUANTIZATION_QUANT_MATRIX_INL_H_
#endif

#include <cstring>
#include <type_traits>

#include "common/matmul-inl.h"
#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "palettization/lut_decode-inl.h"
#include "quantization/quant_plan.h"

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

using VI = hn::Vec<DI>;

// 16 lanes of T (int8_t or uint8_t) widened to kVecs int32 vectors.
template <typename T>
WK_DECODE_INLINE void WidenChunkInts(hn::Vec<hn::Full128<T>> q, VecSpan<DI> out) {
  const auto widen = [](auto d_narrow, auto v) -> VI {
    (void)d_narrow;
    if constexpr (std::is_signed_v<T>) {
      return hn::PromoteTo(DI(), v);
    } else {
      return hn::BitCast(DI(), hn::PromoteTo(DU(), v));
    }
  };
#if HWY_MAX_BYTES >= 64
  out[0] = widen(0, q);
#elif HWY_MAX_BYTES == 32
  const hn::Full64<T> dh;
  out[0] = widen(0, hn::LowerHalf(dh, q));
  out[1] = widen(0, hn::UpperHalf(dh, q));
#else
  const hn::Full64<T> dh;
  const hn::Half<hn::Full64<T>> dq;
  const auto lo = hn::LowerHalf(dh, q);
  const auto hi = hn::UpperHalf(dh, q);
  out[0] = widen(0, hn::LowerHalf(dq, lo));
  out[1] = widen(0, hn::UpperHalf(dq, lo));
  out[2] = widen(0, hn::LowerHalf(dq, hi));
  out[3] = widen(0, hn::UpperHalf(dq, hi));
#endif
}

// Where a chunk's scale and offset come from. kGeneral: per-lane blocks, or a float offset
// rounded to fp16 first (layouts coremltools does not emit). kChunk: one block per 16-column
// chunk. kRow: one scale per row and no offset (coremltools' per-channel symmetric default), so
// the scale is loop-invariant and the subtraction goes.
enum class ScaleLayout { kGeneral, kChunk, kRow };

template <ScaleLayout kLayout>
HWY_INLINE bool LayoutFits(const QuantScaleGrid& grid) {
  switch (kLayout) {
    case ScaleLayout::kGeneral: return true;
    case ScaleLayout::kChunk: return grid.chunk_uniform && !grid.round_difference;
    case ScaleLayout::kRow: return grid.scale_cols == 1 && grid.zero_offset;
  }
  return false;
}

// Calls body(std::integral_constant<ScaleLayout, L>) with the fastest layout L that fits grid:
// the one choice of layout for every decoder that dequantizes through a QuantScaleGrid.
template <class Body>
HWY_INLINE void WithScaleLayout(const QuantScaleGrid& grid, const Body& body) {
  if (LayoutFits<ScaleLayout::kRow>(grid)) {
    return body(std::integral_constant<ScaleLayout, ScaleLayout::kRow>());
  }
  if (LayoutFits<ScaleLayout::kChunk>(grid)) {
    return body(std::integral_constant<ScaleLayout, ScaleLayout::kChunk>());
  }
  body(std::integral_constant<ScaleLayout, ScaleLayout::kGeneral>());
}

// 16 integers of T at p, widened straight from memory (one load-and-extend per vector, no
// shuffle to split a 16-byte load).
template <typename T>
WK_DECODE_INLINE void LoadChunkInts(const T* p, VecSpan<DI> out) {
  const hn::Rebind<T, DI> dn;
  for (size_t j = 0; j < kVecs; ++j) {
    if constexpr (std::is_signed_v<T>) {
      out[j] = hn::PromoteTo(DI(), hn::LoadU(dn, p + j * kLanes));
    } else {
      out[j] = hn::BitCast(DI(), hn::PromoteTo(DU(), hn::LoadU(dn, p + j * kLanes)));
    }
  }
}

// The Sc scales and offsets of weight row r's block row. Fixed along a row, so decoders keep
// them in the row's cursor: found per chunk, the division and its guard were a third of
// sparse50-int8's loop instructions.
struct ScaleRow {
  const float* scale;
  const float* offset;
};

HWY_INLINE ScaleRow ScaleRowOf(const QuantScaleGrid& grid, size_t r) {
  // Per-row scales are the common case: skip the division (tens of cycles on Zen 3).
  const size_t at = (grid.rows_per_block == 1 ? r : r / grid.rows_per_block) * grid.scale_cols;
  return ScaleRow{grid.scale.data() + at, grid.offset.data() + at};
}

// The 16 weights of chunk c of a row from their integers qi (grid fits kLayout; row: the row's
// ScaleRowOf). round_f16 is the grid's (a constant where the caller knows it), or false for
// decompression, which rounds once when it stores. kNaNRule (decompression): a NaN difference (a
// NaN float offset) wins over a NaN scale, whichever the hardware would return.
template <ScaleLayout kLayout, bool kNaNRule = false>
WK_DECODE_INLINE void DequantizeChunk(const QuantScaleGrid& grid, ScaleRow row, bool round_f16,
                                      size_t c, VecSpan<DI> qi, VecSpan<DF> w) {
  const DF df;
  const float* scale = row.scale;
  const float* offset = row.offset;
  VecArray<DF, kVecs> s;
  VecArray<DF, kVecs> o;
  if (kLayout == ScaleLayout::kRow) {
    for (size_t j = 0; j < kVecs; ++j) s[j] = hn::Set(df, scale[0]);
  } else if (kLayout == ScaleLayout::kChunk || grid.chunk_uniform) {
    const size_t b = grid.chunk_block[c];
    for (size_t j = 0; j < kVecs; ++j) {
      s[j] = hn::Set(df, scale[b]);
      o[j] = hn::Set(df, offset[b]);
    }
  } else {
    for (size_t j = 0; j < kVecs; ++j) {
      const VI idx = hn::LoadU(DI(), grid.lane_block.data() + c * kChunk + j * kLanes);
      s[j] = hn::GatherIndex(df, scale, idx);
      o[j] = hn::GatherIndex(df, offset, idx);
    }
  }
  for (size_t j = 0; j < kVecs; ++j) {
    // Exact: |q| <= 255, and an integer offset leaves |y| <= 510; y - (+-0) is y.
    VF y = hn::ConvertTo(df, qi[j]);
    if (kLayout != ScaleLayout::kRow) y = hn::Sub(y, o[j]);
    if (kLayout == ScaleLayout::kGeneral && grid.round_difference) y = RoundThroughF16(y);
    VF p = hn::Mul(s[j], y);
    if (kNaNRule && kLayout != ScaleLayout::kRow) p = PreferDataNaN(p, y);
    w[j] = round_f16 ? RoundThroughF16(p) : p;
  }
}

template <int32_t kDType>
struct QuantDataType {
  static constexpr bool kNibbles = kDType == WK_DTYPE_INT4 || kDType == WK_DTYPE_UINT4;
  static constexpr bool kSigned = kDType == WK_DTYPE_INT4 || kDType == WK_DTYPE_INT8;
  // The lane type of unpacked integers.
  using T = std::conditional_t<kSigned, int8_t, uint8_t>;
};

// The integer each nibble value 0..15 stands for: table entry n of a block is its weight.
template <typename T>
struct NibbleValues {
  alignas(64) int32_t q[kChunk];
  static constexpr NibbleValues Make() {
    NibbleValues t{};
    for (int32_t n = 0; n < static_cast<int32_t>(kChunk); ++n) {
      t.q[n] = std::is_signed_v<T> && n >= 8 ? n - 16 : n;
    }
    return t;
  }
};

template <typename T>
constexpr NibbleValues<T> kNibbleValues = NibbleValues<T>::Make();

// Byte planes (16 low bytes, then 16 high bytes) of 16 binary16 values.
HWY_INLINE void F16Planes(const uint16_t* values, uint8_t* planes) {
  const hn::Full128<uint8_t> d8;
  const hn::Full128<uint64_t> d64;
  alignas(16) static constexpr uint8_t kSplit[16] = {0, 2, 4, 6, 8, 10, 12, 14,
                                                     1, 3, 5, 7, 9, 11, 13, 15};
  const auto split = hn::Load(d8, kSplit);
  const uint8_t* bytes = reinterpret_cast<const uint8_t*>(values);
  const auto a = hn::BitCast(d64, hn::TableLookupBytes(hn::Load(d8, bytes), split));
  const auto b = hn::BitCast(d64, hn::TableLookupBytes(hn::Load(d8, bytes + 16), split));
  hn::Store(hn::BitCast(d8, hn::InterleaveLower(d64, a, b)), d8, planes);
  hn::Store(hn::BitCast(d8, hn::InterleaveUpper(d64, a, b)), d8, planes + 16);
}

// Whether every step of two chunks (0-1, 2-3, ...) lies in one scale block, so that the
// 16-entry table of a block serves 32 weights (kTable below).
template <ScaleLayout kLayout>
HWY_INLINE bool ChunkPairsShareBlock(const QuantScaleGrid& grid, size_t cols) {
  if (kLayout == ScaleLayout::kRow) return true;
  if (kLayout != ScaleLayout::kChunk) return false;
  const size_t full = cols / kChunk;
  for (size_t c = 0; c + 1 < full; c += 2) {
    if (grid.chunk_block[c] != grid.chunk_block[c + 1]) return false;
  }
  return true;
}

// kTable (4-bit data, chunk pairs in one block): a block's weights take at most 16 values, so
// DecodeStep dequantizes those 16 once (the same DequantizeChunk arithmetic on the integers
// 0..15 / -8..7, hence the same bits) and looks the 32 nibbles up as lut4 indices: one fp16
// round trip per 2 weights instead of per weight (F16C has one conversion pipe on Zen 3).
// kExact: the decompression form (kF16 false, NaN rule).
template <int32_t kDType, bool kF16, ScaleLayout kLayout, bool kTable = false, bool kExact = false>
struct QuantMatrixDecoder {
  static constexpr bool kNibbles = QuantDataType<kDType>::kNibbles;
  using T = typename QuantDataType<kDType>::T;
  static constexpr uint64_t kElementBits = kNibbles ? 4 : 8;
  static_assert(!kTable || (kNibbles && kLayout != ScaleLayout::kGeneral), "table path");

  static constexpr size_t kStepChunks = kTable ? 2 : 1;
  static constexpr bool kMultiRow = kLayout != ScaleLayout::kGeneral;
  // Scale and offset vectors per row: more rows would spill the accumulators. The 16-lane table
  // path builds a table per row and step: 2 rows against 4, int4-b32 ran 16 % faster (Zen 5, cold).
  static constexpr size_t kBlockRows = kVecs >= 4 || (kTable && kVecs == 1) ? 2 : kLatencyBlockRows / 2;

  const QuantMatrixPlan& plan;
  RowPrefetch<1024> prefetch;

  explicit QuantMatrixDecoder(const QuantMatrixPlan& p)
      : plan(p), prefetch(uint64_t{p.cols} * kElementBits, GemvReadRows(*this)) {}  // F16Steps() reads `plan` only

  struct Cursor {
    size_t r;
    ScaleRow scales;
  };
  Cursor Begin(size_t r) const { return Cursor{r, ScaleRowOf(plan.grid, r)}; }
  // A full chunk never reads outside its own bytes: no over-read, no safe rows needed.
  size_t FastRows() const { return plan.rows; }

  HWY_INLINE void Prefetch(const Cursor& cur, size_t c) const {
    prefetch.At(plan.data, uint64_t{plan.cols} * kElementBits, cur.r,
                uint64_t{c} * kChunk * kElementBits);
  }

  // With the scale and offset of chunk c's block (per-block grids: per-row scales stream with
  // the rows, and the per-lane layout is rare).
  template <bool kL2>
  HWY_INLINE void PrefetchPanel(size_t r, size_t c, size_t n) const {
    PrefetchLines<kL2>(plan.data, (uint64_t{r} * plan.cols + c * kChunk) * kElementBits / 8,
                       uint64_t{n} * kChunk * kElementBits / 8);
    if constexpr (kLayout == ScaleLayout::kChunk) {
      const ScaleRow row = ScaleRowOf(plan.grid, r);
      PrefetchLine<kL2>(row.scale + plan.grid.chunk_block[c]);
      PrefetchLine<kL2>(row.offset + plan.grid.chunk_block[c]);
    }
  }

  template <bool kSafe>
  HWY_INLINE void DecodeStep(const Cursor& cur, size_t c, VecSpan<DF> w) const {
    if constexpr (kTable) {
      const DF df;
      const DU du;
      VecArray<DI, kVecs> qi;
      for (size_t j = 0; j < kVecs; ++j) qi[j] = hn::LoadU(DI(), kNibbleValues<T>.q + j * kLanes);
      VecArray<DF, kVecs> values;
      DequantizeChunk<kLayout, kExact>(plan.grid, cur.scales, kF16, c, qi, values);
      HWY_ALIGN uint32_t table[kChunk];
      for (size_t j = 0; j < kVecs; ++j) {
        hn::Store(hn::BitCast(du, VF(values[j])), du, table + j * kLanes);
      }
      for (size_t s = 0; s < kStepChunks; ++s) {
        VecArray<DI, kVecs> idx;
        WidenChunkInts<uint8_t>(UnpackNibbles<uint8_t>(ChunkBits(cur.r, c + s)), idx);
        for (size_t j = 0; j < kVecs; ++j) {
          w[s * kVecs + j] = hn::BitCast(df, Lookup<4>(table, hn::BitCast(du, VI(idx[j]))));
        }
      }
    } else {
      Decode<kSafe>(cur, c, w);
    }
  }

  // The table path with fp16 weights: the nibbles looked up in byte planes of the block's 16
  // weights (RN16 of the unrounded products: the bits RoundThroughF16 widens), in split order.
  // Measured on Zen 3 against the register path: int4-b32 7.5 against 4.0 G weights/s hot; int8
  // (an RN16 store per 8 weights) ran slower staged and stays in registers. On 4-lane targets the
  // look-up would read 8 bytes past a step.
  static constexpr bool kF16Steps = kTable && kLanes == 8;
  static constexpr bool kF16Panels = true;
  static constexpr size_t kF16StepChunks = 2;
  static constexpr size_t F16Offset(size_t s, size_t j) { return SplitOffset<2>(s, j); }
  bool F16Steps() const { return QuantHalfWeights(plan); }

  WK_DECODE_INLINE void DecodeStepF16(const Cursor& cur, size_t c, uint16_t* out) const {
    HWY_ALIGN uint8_t planes[32];
    BlockPlanesF16(cur, c, planes);
    Lookup4PlanesSplit<2>(plan.data + (uint64_t{cur.r} * plan.cols + c * kChunk) / 2, planes, out);
  }

  // Table path: byte planes of the binary16 weights nibbles 0 ... 15 stand for in the block of
  // chunk c of the cursor's row.
  WK_DECODE_INLINE void BlockPlanesF16(const Cursor& cur, size_t c, uint8_t* planes) const {
    VecArray<DI, kVecs> qi;
    for (size_t j = 0; j < kVecs; ++j) qi[j] = hn::LoadU(DI(), kNibbleValues<T>.q + j * kLanes);
    VecArray<DF, kVecs> w;
    DequantizeChunk<kLayout, kExact>(plan.grid, cur.scales, false, c, qi, w);
    HWY_ALIGN uint16_t values[kChunk];
    for (size_t j = 0; j < kVecs; ++j) hn::Store(RoundToF16(VF(w[j])), DU16(), values + j * kLanes);
    F16Planes(values, planes);
  }

  // 16 nibbles: 8 bytes, or 9 when the chunk starts mid-byte (all inside the chunk).
  HWY_INLINE uint64_t ChunkBits(size_t r, size_t c) const {
    const uint64_t element = uint64_t{r} * plan.cols + c * kChunk;
    const uint8_t* p = plan.data + element / 2;
    uint64_t bits;
    std::memcpy(&bits, p, 8);
    if (element & 1) bits = (bits >> 4) | (static_cast<uint64_t>(p[8]) << 60);
    return bits;
  }

  template <bool kSafe>
  HWY_INLINE void Decode(const Cursor& cur, size_t c, VecSpan<DF> w) const {
    VecArray<DI, kVecs> qi;
    if constexpr (kNibbles) {
      WidenChunkInts<T>(UnpackNibbles<T>(ChunkBits(cur.r, c)), qi);
    } else {
      const uint64_t element = uint64_t{cur.r} * plan.cols + c * kChunk;
      LoadChunkInts(reinterpret_cast<const T*>(plan.data + element), qi);
    }
    DequantizeChunk<kLayout, kExact>(plan.grid, cur.scales, kF16, c, qi, w);
  }

  HWY_INLINE void DecodeTail(const Cursor& cur, size_t c, VecSpan<DF> w) const {
    const uint64_t element = uint64_t{cur.r} * plan.cols + c * kChunk;
    const size_t valid = plan.cols - c * kChunk;
    HWY_ALIGN T t[kChunk] = {};
    for (size_t i = 0; i < valid; ++i) {
      const uint32_t raw = ReadRawElement(plan.data, plan.data_dtype, element + i);
      t[i] = static_cast<T>(raw);
    }
    VecArray<DI, kVecs> qi;
    LoadChunkInts(t, qi);
    DequantizeChunk<kLayout, kExact>(plan.grid, cur.scales, kF16, c, qi, w);
  }
};

// Calls body(decoder) with the decoder for this plan's scale layout: the product's (weights
// rounded as the grid says), or with kExact decompression's (unrounded, NaN rule).
template <int32_t kDType, bool kExact, class Body>
HWY_INLINE void WithQuantDecoder(const QuantMatrixPlan& plan, const Body& body) {
  WithScaleLayout(plan.grid, [&](auto layout) {
    constexpr ScaleLayout kLayout = decltype(layout)::value;
    const auto with_f16 = [&](auto table) {
      constexpr bool kTable = decltype(table)::value;
      if (!kExact && plan.grid.round_f16) {
        return body(QuantMatrixDecoder<kDType, true, kLayout, kTable, kExact>(plan));
      }
      body(QuantMatrixDecoder<kDType, false, kLayout, kTable, kExact>(plan));
    };
    if constexpr (QuantDataType<kDType>::kNibbles && kLayout != ScaleLayout::kGeneral) {
      if (ChunkPairsShareBlock<kLayout>(plan.grid, plan.cols)) return with_f16(std::true_type());
    }
    with_f16(std::false_type());
  });
}

template <int32_t kDType>
HWY_INLINE void GemvFor(const QuantMatrixPlan& plan, const GemvOperands& io) {
  WithQuantDecoder<kDType, false>(plan, [&](const auto& dec) { MatrixProduct(dec, plan.cols, io); });
}

// Rows [r0, r1) of the weights in weight dtype: the product's arithmetic, bit for bit
// constexpr_blockwise_shift_scale's (docs/ARITHMETIC.md §1).
template <int32_t kDType>
HWY_INLINE void DecompressFor(const QuantMatrixPlan& plan, uint8_t* out, size_t r0, size_t r1) {
  WithQuantDecoder<kDType, true>(plan, [&](const auto& dec) {
    DecompressRows(dec, plan.cols, plan.grid.round_f16, out, r0, r1);
  });
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#endif  // WK_QUANTIZATION_QUANT_MATRIX_INL_H_
