// Internal: the prepared forms the palettization kernels (lut_kernels.cc) consume. Built and
// validated by lut_api.cc; the kernels trust them.
#ifndef WK_PALETTIZATION_LUT_PLAN_H_
#define WK_PALETTIZATION_LUT_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gemv/gemv_operands.h"

namespace wk {

// Entries stored per table: 2^n, with n < 4 tables repeated up to 16 entries so that lane
// permutes may ignore the index bits above n.
inline size_t LutTableStride(uint32_t nbits) { return nbits < 4 ? 16 : size_t{1} << nbits; }

// A contiguous run of n-bit indices that all use one table: out[i] = table[index(bit0 + n i)],
// each entry truncated to elem_bytes (1, 2 or 4; tables hold the element's bits zero-extended).
struct LutRun {
  const uint8_t* indices;  // the whole index buffer, for bounds
  size_t index_bytes;
  uint64_t bit0;
  size_t count;
  const uint32_t* table;  // LutTableStride(nbits) entries
  uint32_t nbits;
  uint32_t elem_bytes;
  uint8_t* out;
};

enum class LutScaleMode : uint8_t { kNone, kPerRow, kPerColumn };

// Per matrix row: where its LUT group's tables start and where its scale row is.
struct LutRowInfo {
  size_t table_offset;
  size_t scale_offset;
};

// A palettized [rows, cols] matrix reduced to: weight = value_table[group][index] (then
// optionally scaled in-register, W = RN_T(value * s)).
struct LutMatrixPlan {
  const uint8_t* indices;  // borrowed, [rows, cols] packed n-bit
  size_t index_bytes;
  uint32_t nbits;
  size_t rows;
  size_t cols;
  size_t table_stride;
  size_t group_cols;                   // columns per LUT column group
  std::vector<uint32_t> value_tables;  // fp32 bits of each entry's value, [Gr][Gc][stride]
  std::vector<uint32_t> raw_tables;    // the entry's bits in weight_dtype, same layout
  // 4-, 6- and 8-bit tables as byte planes: per table of stride entries, byte b of every entry's
  // fp32 value in bytes [stride b, stride (b + 1)), for byte-permute look-ups. Empty for n < 4.
  std::vector<uint8_t> byte_planes;
  // Unscaled 4-, 6- and 8-bit fp16 weights: per table, the low bytes of every entry's binary16
  // bits (stride bytes), then the high bytes, for look-ups that produce the weights' fp16 bits
  // (the staged GEMV's 4 and 6 bits; AVX3_DL's 8 bits).
  // Empty otherwise.
  std::vector<uint8_t> half_planes;
  // Column groups that start on chunk boundaries pick one table per 16-column chunk; any other
  // grouping picks a table per lane.
  bool chunk_aligned_groups;
  std::vector<size_t> chunk_table_offset;  // [ceil(cols/16)], aligned groups
  std::vector<int32_t> lane_table_offset;  // [16 ceil(cols/16)], per-lane groups
  std::vector<LutRowInfo> row_info;        // [rows]
  LutScaleMode scale_mode;
  bool round_f16;                          // W = RN16(value * s) rather than RN32
  std::vector<float> scale_values;         // per-row: [Sr]; per-column: [Sr][16 ceil(cols/16)]
  int32_t weight_dtype;
  uint64_t compressed_bytes;
};

void RunLutGather(uint64_t target, const LutRun& run);
// Fused GEMV: n in {1, 2, 3} (lut_gemv_narrow.cc) and n in {4, 6, 8} (lut_gemv_wide.cc).
void RunLutMatrixGemvNarrow(uint64_t target, const LutMatrixPlan& plan, const GemvOperands& io);
void RunLutMatrixGemvWide(uint64_t target, const LutMatrixPlan& plan, const GemvOperands& io);
// Rows [r0, r1) of the dense weights in plan.weight_dtype into out ([rows, cols]).
void RunLutMatrixDecompress(uint64_t target, const LutMatrixPlan& plan, uint8_t* out, size_t r0,
                            size_t r1);

}  // namespace wk

#endif  // WK_PALETTIZATION_LUT_PLAN_H_
