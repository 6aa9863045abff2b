// Internal: the prepared forms the palettization kernels (lut_kernels.cc) consume. Built and
// validated by lut_api.cc; the kernels trust them.
#ifndef WK_PALETTIZATION_LUT_PLAN_H_
#define WK_PALETTIZATION_LUT_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/cache_line.h"
#include "gemv/gemv_operands.h"

namespace wk {

// Entries stored per table: 2^n, with n < 4 tables repeated up to 16 entries so that lane
// permutes may ignore the index bits above n.
inline size_t LutTableStride(uint32_t nbits) { return nbits < 4 ? 16 : size_t{1} << nbits; }

// Byte planes are looked up 64 bytes at a time.
using PlaneBytes = CacheLineVector<uint8_t>;

// `count` tables of `entries` entries as byte planes of `plane` >= entries bytes (zero-padded), for
// byte-permute look-ups: byte b < width of entry e of table g at [(g width + b) plane + e].
inline PlaneBytes BytePlanes(const uint32_t* tables, size_t count, size_t entries, size_t plane, size_t width) {
  PlaneBytes planes(count * plane * width, 0);
  for (size_t g = 0; g < count; ++g) {
    for (size_t b = 0; b < width; ++b) {
      for (size_t e = 0; e < entries; ++e) {
        planes[(g * width + b) * plane + e] = static_cast<uint8_t>(tables[g * entries + e] >> (8 * b));
      }
    }
  }
  return planes;
}

// A contiguous run of n-bit indices that all use one table: out[i] = table[index(bit0 + n i)],
// each entry truncated to elem_bytes (1, 2 or 4; tables hold the element's bits zero-extended).
struct LutRun {
  const uint8_t* indices;  // the whole index buffer, for bounds
  size_t index_bytes;
  uint64_t bit0;
  size_t count;
  const uint32_t* table;  // LutTableStride(nbits) entries
  // The table as BytePlanes of width elem_bytes (the entries' own bits), or null: 1-byte entries,
  // and 4-byte ones of n < 4, which no byte-plane gather takes.
  const uint8_t* planes;
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
  CacheLineVector<uint32_t> value_tables;  // fp32 bits of each entry's value, [Gr][Gc][stride]
  std::vector<uint32_t> raw_tables;    // the entry's bits in weight_dtype, same layout
  // 4-, 6- and 8-bit tables as BytePlanes of the fp32 values (for unscaled fp32 weights, the
  // entries' own bits). Empty for n < 4.
  PlaneBytes byte_planes;
  // Unscaled fp16 weights: BytePlanes of the entries' binary16 bits, for look-ups that produce
  // the weights' fp16 bits (the staged GEMV's 4 and 6 bits, AVX3_DL's 8 bits, decompression).
  // Empty otherwise.
  PlaneBytes half_planes;
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
