// What every libFuzzer target of Fuzz/ shares: the input read as a stream of choices, operands
// in heap blocks of exactly their size (so any out-of-bounds access faults under ASan), and the
// two checks — a valid call gives the portable EMU128 bytes on every supported target, and a
// malformed call fails with its documented status without writing.
#ifndef WK_FUZZ_FUZZ_SUPPORT_H_
#define WK_FUZZ_FUZZ_SUPPORT_H_

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <vector>

#include "include/weightkernels.h"

namespace wk_fuzz {

// Reads fuzzer bytes as a stream of choices; past the end it yields zeros.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t Below(uint32_t n) { return n == 0 ? 0 : (Byte() | (uint32_t{Byte()} << 8)) % n; }
  bool Flip(uint32_t one_in) { return Below(one_in) == 0; }

  // Fills n bytes from the input, wrapping around it (zeros for an empty input).
  void Fill(uint8_t* out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = size_ == 0 ? 0 : data_[(pos_++) % size_];
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// A heap block of exactly n bytes (n = 0 gives a null pointer, as a caller might pass).
struct Block {
  std::unique_ptr<uint8_t[]> bytes;
  size_t n = 0;

  explicit Block(size_t size) : bytes(size ? new uint8_t[size] : nullptr), n(size) {}
  uint8_t* data() const { return bytes.get(); }
};

[[noreturn]] inline void Fatal(const char* what, const char* detail) {
  std::fprintf(stderr, "MISMATCH: %s: %s\n", what, detail);
  std::abort();
}

[[noreturn]] inline void Mismatch(const char* what, uint64_t target) {
  std::fprintf(stderr, "MISMATCH: %s on %s differs from EMU128\n", what, wk_target_name(target));
  std::abort();
}

inline std::vector<uint64_t> SupportedTargets() {
  uint64_t all[64];
  const size_t n = wk_compiled_targets(all, 64);
  std::vector<uint64_t> out;
  for (size_t i = 0; i < n && i < 64; ++i) {
    if (wk_supported_targets() & all[i]) out.push_back(all[i]);
  }
  return out;
}

inline uint64_t Portable() {
  uint64_t all[64];
  const size_t n = wk_compiled_targets(all, 64);
  return all[n - 1];  // the portable fallback is listed last
}

inline uint64_t PackedBytes(int32_t dtype, uint64_t count) {
  return (uint64_t{wk_dtype_bits(dtype)} * count + 7) / 8;
}

inline uint64_t Count(uint32_t rank, const int64_t* shape) {
  uint64_t count = 1;
  for (uint32_t d = 0; d < rank; ++d) count *= static_cast<uint64_t>(shape[d]);
  return count;
}

// Raw field i of a packed 4-, 8-, 16- or 32-bit stream.
inline uint32_t GetField(const uint8_t* p, uint32_t bits, uint64_t i) {
  if (bits == 4) return (p[i / 2] >> (4 * (i % 2))) & 0xFu;
  uint32_t v = 0;
  std::memcpy(&v, p + i * (bits / 8), bits / 8);
  return v;
}

// A tensor of exactly its dtype and shape's size (or `nbytes` when given), filled from the input.
struct OwnedTensor {
  Block block;
  wk_tensor t;

  OwnedTensor(Input& in, int32_t dtype, uint32_t rank, const int64_t* shape, int64_t nbytes = -1)
      : block(nbytes >= 0 ? static_cast<size_t>(nbytes)
                          : static_cast<size_t>(PackedBytes(dtype, Count(rank, shape)))),
        t{} {
    in.Fill(block.data(), block.n);
    t.data = block.data();
    t.nbytes = block.n;
    t.dtype = dtype;
    t.rank = rank;
    for (uint32_t d = 0; d < rank; ++d) t.shape[d] = shape[d];
  }

  uint32_t Raw(uint64_t i) const { return GetField(block.data(), wk_dtype_bits(t.dtype), i); }
};

// A copy of a tensor for an operand a matrix copies at create (LUTs, scales, offsets): freed
// right after the create call, so that a matrix still reading it faults under ASan.
struct CopiedTensor {
  Block block;
  wk_tensor t;

  explicit CopiedTensor(const wk_tensor* src) : block(src ? src->nbytes : 0), t{} {
    if (src == nullptr) return;
    t = *src;
    if (block.n) std::memcpy(block.data(), src->data, block.n);
    t.data = block.data();
  }

  const wk_tensor* get(const wk_tensor* src) const { return src ? &t : nullptr; }
};

// Runs `op(ctx, outs)` on every supported target and compares every output with the portable
// result. Returns the portable outputs.
template <class Op>
std::vector<Block> Differential(const char* what, std::initializer_list<size_t> sizes, const Op& op) {
  std::vector<Block> expected;
  for (size_t n : sizes) expected.emplace_back(n);
  wk_context ctx;
  wk_context_init(&ctx);
  ctx.target = Portable();
  if (op(&ctx, expected.data()) != WK_OK) {
    std::fprintf(stderr, "%s: portable target rejected a call that validated: %s\n", what, ctx.message);
    std::abort();
  }
  for (uint64_t target : SupportedTargets()) {
    std::vector<Block> got;
    for (size_t n : sizes) got.emplace_back(n);
    wk_context_init(&ctx);
    ctx.target = target;
    if (op(&ctx, got.data()) != WK_OK) Mismatch(what, target);
    for (size_t i = 0; i < got.size(); ++i) {
      if (got[i].n && std::memcmp(got[i].data(), expected[i].data(), got[i].n) != 0) Mismatch(what, target);
    }
  }
  return expected;
}

// A malformed call: `op(outs)` must return `want` and leave every output byte untouched.
template <class Op>
void ExpectFailure(const char* what, wk_status want, std::initializer_list<size_t> sizes, const Op& op) {
  std::vector<Block> outs;
  for (size_t n : sizes) {
    outs.emplace_back(n);
    if (n) std::memset(outs.back().data(), 0xA5, n);
  }
  const wk_status got = op(outs.data());
  if (got != want) {
    std::fprintf(stderr, "MISMATCH: %s: status %s, expected %s\n", what, wk_status_name(got),
                 wk_status_name(want));
    std::abort();
  }
  for (const Block& out : outs) {
    for (size_t i = 0; i < out.n; ++i) {
      if (out.data()[i] != 0xA5) Fatal(what, "a failing call wrote to its output");
    }
  }
}

}  // namespace wk_fuzz

#endif  // WK_FUZZ_FUZZ_SUPPORT_H_
