// Fused sparse GEMV (fp16, fp32 and LUT-coded non-zeros) and the sparse expansion behind
// constexpr_sparse_to_dense, compiled for every target (the expand itself: sparse_expand-inl.h).
#include "common/hwy_config.h"

#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "sparsity/sparse_kernels.cc"
#include "hwy/foreach_target.h"  // IWYU pragma: keep

#include <cstring>

#include "common/simd-inl.h"
#include "hwy/highway.h"
#include "sparsity/sparse_expand-inl.h"
#include "sparsity/sparse_plan.h"

#pragma clang fp contract(off)

HWY_BEFORE_NAMESPACE();
namespace wk {
namespace HWY_NAMESPACE {

// Weights of a sparse matrix row by row: mask bits, then the row's next values scattered to
// them. The cursor carries the running value ordinal, started from the prepared row offsets.
template <bool kLut, bool kF16>
struct SparseMatrixDecoder : SparseMaskDecoder<SparseMatrixDecoder<kLut, kF16>> {
  struct Cursor {
    uint64_t bit;    // mask stream position of the next chunk
    uint64_t nz;     // ordinal of the next non-zero
    size_t table;    // kLut: offset of the row group's tables
  };

  static constexpr uint32_t kElemBytes = kF16 ? 2 : 4;

  using SparseMaskDecoder<SparseMatrixDecoder>::SparseMaskDecoder;
  using SparseMaskDecoder<SparseMatrixDecoder>::plan;

  HWY_INLINE Cursor Begin(size_t r) const {
    const size_t table = kLut ? (r / plan.rows_per_group) * plan.column_groups * plan.entries : 0;
    return Cursor{static_cast<uint64_t>(r) * plan.cols, plan.row_start[r], table};
  }

  HWY_INLINE void Prefetch(const Cursor& cur, size_t) const {
    PrefetchAt(plan.mask, (cur.bit >> 3) + 512);
    if constexpr (!kLut) PrefetchAt(plan.values, cur.nz * kElemBytes + 1024);
  }

  template <bool kSafe>
  HWY_INLINE void Expand(Cursor& cur, size_t c, uint32_t bits, VecSpan<DF> w) const {
    if constexpr (kLut) {
      // The chunk's values looked up into a small buffer, then scattered like stored values.
      HWY_ALIGN uint8_t buffer[16 * kElemBytes];
      size_t k = 0;
      for (uint32_t m = bits; m != 0; m &= m - 1, ++k) {
        size_t t = cur.table;
        if (!plan.column_table_offset.empty()) {
          t += plan.column_table_offset[c * kChunk + hwy::Num0BitsBelowLS1Bit_Nonzero32(m)];
        }
        const uint32_t index =
            ReadPackedField(plan.values, plan.value_bytes, cur.nz + k, plan.nbits);
        std::memcpy(buffer + k * kElemBytes, &plan.tables[t + index], kElemBytes);
      }
      cur.nz += k;
      uint64_t local = 0;
      if constexpr (kF16) {
        ExpandChunkF16<false>(buffer, sizeof(buffer), local, bits, w);
      } else {
        ExpandChunkF32<false>(buffer, sizeof(buffer), local, bits, w);
      }
    } else if constexpr (kF16) {
      ExpandChunkF16<kSafe>(plan.values, plan.value_bytes, cur.nz, bits, w);
    } else {
      ExpandChunkF32<kSafe>(plan.values, plan.value_bytes, cur.nz, bits, w);
    }
  }
};

void SparseMatrixGemv(const SparseMatrixPlan& plan, const GemvOperands& io) {
  const auto run = [&](const auto& dec) {
    MatrixProduct(dec, plan.cols, io);
  };
  const bool f16 = plan.weight_dtype == WK_DTYPE_FP16;
  if (plan.kind == SparseValueKind::kLut) {
    if (f16) return run(SparseMatrixDecoder<true, true>(plan));
    return run(SparseMatrixDecoder<true, false>(plan));
  }
  if (f16) return run(SparseMatrixDecoder<false, true>(plan));
  return run(SparseMatrixDecoder<false, false>(plan));
}

void SparseExpand(const uint8_t* mask, uint64_t count, const uint8_t* values, uint64_t value_count,
                  uint32_t elem_bytes, uint8_t* out) {
  const size_t value_bytes = static_cast<size_t>(value_count * elem_bytes);
  HWY_ALIGN uint8_t scratch[16];
  HWY_ALIGN uint8_t last[16];
  uint64_t nz = 0;
  uint64_t i = 0;
  if (elem_bytes == 2) {
    for (; i + 8 <= count; i += 8) {
      const uint32_t m = mask[i >> 3];
      hn::StoreU(ExpandF16Group(GroupSource<true>(values, value_bytes, 2 * nz, scratch), m),
                 D16x8(), reinterpret_cast<uint16_t*>(out + 2 * i));
      nz += hwy::PopCount(m);
    }
    if (i < count) {
      const uint32_t m = mask[i >> 3] & ((1u << (count - i)) - 1);
      hn::Store(ExpandF16Group(GroupSource<true>(values, value_bytes, 2 * nz, scratch), m),
                D16x8(), reinterpret_cast<uint16_t*>(last));
      std::memcpy(out + 2 * i, last, static_cast<size_t>(2 * (count - i)));
    }
    return;
  }
  for (; i + 4 <= count; i += 4) {
    const uint32_t m = (mask[i >> 3] >> (i & 4)) & 0xFu;
    hn::StoreU(ExpandF32Group(GroupSource<true>(values, value_bytes, 4 * nz, scratch), m),
               DF32x4(), reinterpret_cast<float*>(out + 4 * i));
    nz += hwy::PopCount(m);
  }
  if (i < count) {
    const uint32_t m = (mask[i >> 3] >> (i & 4)) & ((1u << (count - i)) - 1);
    hn::Store(ExpandF32Group(GroupSource<true>(values, value_bytes, 4 * nz, scratch), m),
              DF32x4(), reinterpret_cast<float*>(last));
    std::memcpy(out + 4 * i, last, static_cast<size_t>(4 * (count - i)));
  }
}

}  // namespace HWY_NAMESPACE
}  // namespace wk
HWY_AFTER_NAMESPACE();

#if HWY_ONCE
#include "common/targets.h"

namespace wk {

HWY_EXPORT(SparseMatrixGemv);
HWY_EXPORT(SparseExpand);

void RunSparseMatrixGemv(uint64_t target, const SparseMatrixPlan& plan, const GemvOperands& io) {
  KernelFor(HWY_DISPATCH_TABLE(SparseMatrixGemv), target)(plan, io);
}

void RunSparseExpand(uint64_t target, const uint8_t* mask, uint64_t count, const uint8_t* values,
                     uint64_t value_count, uint32_t elem_bytes, uint8_t* out) {
  KernelFor(HWY_DISPATCH_TABLE(SparseExpand), target)(mask, count, values, value_count,
                                                      elem_bytes, out);
}

}  // namespace wk
#endif  // HWY_ONCE
