// Internal: the prepared forms the sparsity kernels (sparse_kernels.cc) consume, built and
// validated by sparse_api.cc, and the expansion tables every target shares.
#ifndef WK_SPARSITY_SPARSE_PLAN_H_
#define WK_SPARSITY_SPARSE_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gemv/gemv_operands.h"
#include "palettization/lut_plan.h"
#include "quantization/bss_spec.h"
#include "quantization/quant_scale_grid.h"

namespace wk {

// Byte-shuffle patterns that scatter packed values to the set bits of a mask: for fp16, the 8
// columns of a mask byte (lane i takes value popcount(m & ((1 << i) - 1)) when bit i is set);
// for fp32, the 4 columns of a nibble; for 1-byte integers, the 8 columns of a mask byte (byte i
// of u8[m]). 0x80 selects zero.
struct SparseExpandTables {
  alignas(16) uint8_t f16[256][16];
  alignas(16) uint8_t f32[16][16];
  uint64_t u8[256];
};

constexpr SparseExpandTables MakeSparseExpandTables() {
  SparseExpandTables t{};
  for (uint32_t m = 0; m < 256; ++m) {
    uint32_t next = 0;
    for (uint32_t lane = 0; lane < 8; ++lane) {
      const bool set = (m >> lane) & 1u;
      t.f16[m][2 * lane] = set ? static_cast<uint8_t>(2 * next) : 0x80;
      t.f16[m][2 * lane + 1] = set ? static_cast<uint8_t>(2 * next + 1) : 0x80;
      t.u8[m] |= static_cast<uint64_t>(set ? next : 0x80) << (8 * lane);
      if (m < 16 && lane < 4) {
        for (uint32_t b = 0; b < 4; ++b) {
          t.f32[m][4 * lane + b] = set ? static_cast<uint8_t>(4 * next + b) : 0x80;
        }
      }
      next += set ? 1 : 0;
    }
  }
  return t;
}

inline constexpr SparseExpandTables kSparseExpandTables = MakeSparseExpandTables();

// Field `i` of a packed n-bit stream (n <= 8) of `bytes` bytes; never reads past the last byte.
inline uint32_t ReadPackedField(const uint8_t* p, size_t bytes, uint64_t i, uint32_t nbits) {
  const uint64_t bit = i * nbits;
  const size_t byte = static_cast<size_t>(bit >> 3);
  uint32_t word = p[byte];
  if (byte + 1 < bytes) word |= static_cast<uint32_t>(p[byte + 1]) << 8;
  return (word >> (bit & 7)) & ((1u << nbits) - 1);
}

// How the non-zero values of a sparse matrix are stored.
enum class SparseValueKind : uint8_t {
  kF16,  // fp16 values (constexpr_sparse_to_dense)
  kF32,  // fp32 values
  kLut,  // n-bit LUT indices of the non-zeros (constexpr_lut_to_sparse -> sparse_to_dense)
  kQuant,  // int4/uint4/int8/uint8 non-zeros (constexpr_sparse_blockwise_shift_scale -> ...)
};

// A sparse [rows, cols] matrix: a uint1 mask over rows * cols and the values of its ones in
// row-major order.
struct SparseMatrixPlan {
  const uint8_t* mask;  // borrowed
  size_t mask_bytes;
  size_t rows;
  size_t cols;
  const uint8_t* values;  // borrowed: fp16/fp32 values or packed n-bit indices
  size_t value_bytes;
  uint64_t nonzeros;
  SparseValueKind kind;
  int32_t value_dtype;
  // kLut: weight = tables[row group][column group][index], raw bits of weight_dtype.
  uint32_t nbits;
  size_t entries;
  size_t rows_per_group;
  size_t column_groups;
  std::vector<uint32_t> tables;
  // Table offset of each column's group, [16 ceil(cols / 16)] (0 past the last column); empty
  // with one column group.
  std::vector<uint32_t> column_table_offset;
  // At most 16 entries and one column group: per row group, BytePlanes of 16 bytes of the
  // entries' bits (2 or 4 planes), for byte-shuffle lookups. Else empty.
  PlaneBytes byte_planes;
  // kQuant: weight = the dequantized non-zero, with the block of its (row, column).
  QuantScaleGrid quant;
  // Ordinal of each row's first non-zero, [rows + 1]: computed once, never per call.
  std::vector<uint64_t> row_start;
  // Rows whose full chunks may read 8 mask bytes and 64 bytes from the next value's byte without
  // a bounds check.
  size_t fast_rows;
  int32_t weight_dtype;  // fp16 or fp32
  uint64_t compressed_bytes;
};

void RunSparseMatrixGemv(uint64_t target, const SparseMatrixPlan& plan, const GemvOperands& io);
// Rows [r0, r1) of the dense weights of a kLut matrix into out ([rows, cols] of weight_dtype).
void RunSparseLutDecompress(uint64_t target, const SparseMatrixPlan& plan, uint8_t* out,
                            size_t r0, size_t r1);
// kQuant matrices (sparse_quant_gemv.cc, sparse_quant_decompress.cc): the product, and rows
// [r0, r1) of the dense weights.
void RunSparseQuantMatrixGemv(uint64_t target, const SparseMatrixPlan& plan, const GemvOperands& io);
void RunSparseQuantMatrixDecompress(uint64_t target, const SparseMatrixPlan& plan, uint8_t* out,
                                    size_t r0, size_t r1);
// Scatters `count` mask bits' values (2 or 4 bytes each, `value_count` of them) into out, zeros
// elsewhere: constexpr_sparse_to_dense for fp16 and fp32 data.
void RunSparseExpand(uint64_t target, const uint8_t* mask, uint64_t count, const uint8_t* values,
                     uint64_t value_count, uint32_t elem_bytes, uint8_t* out);

}  // namespace wk

#endif  // WK_SPARSITY_SPARSE_PLAN_H_
