// Scalar binary16 conversions with the exact semantics of docs/ARITHMETIC.md. The SIMD versions in
// simd-inl.h produce the same bits; the Swift reference implements the same rules.
#ifndef WK_COMMON_FLOAT16_H_
#define WK_COMMON_FLOAT16_H_

#include <cstdint>
#include <cstring>

namespace wk {

inline uint32_t FloatBits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

inline float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// Exact widening, bit for bit as numpy: a NaN keeps its payload and its quiet bit (an sNaN stays
// signalling). Used by constexpr_cast, whose output is observable bit for bit.
inline uint32_t WidenF16Bits(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t mant = h & 0x3FFu;
  if (exp == 0x1F) return sign | 0x7F800000u | (mant << 13);
  if (exp != 0) return sign | ((exp + 112) << 23) | (mant << 13);
  if (mant == 0) return sign;
  // Subnormal: mant * 2^-24 is exact in binary32.
  return sign | FloatBits(static_cast<float>(mant) * 0x1p-24f);
}

inline float F16ToF32(uint16_t h) { return BitsFloat(WidenF16Bits(h)); }

// RN16: round to nearest even, overflow to infinity, gradual underflow. A NaN becomes
// sign | 0x7E00 | (payload >> 13): quiet, payload truncated (what x86 F16C's vcvtps2ph does).
inline uint16_t F32ToF16(float f) {
  const uint32_t bits = FloatBits(f);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
  const uint32_t abs = bits & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return sign | 0x7E00u | static_cast<uint16_t>((abs >> 13) & 0x1FFu);
  if (abs >= 0x477FF000u) return sign | 0x7C00u;  // >= 65520 rounds to infinity
  if (abs < 0x38800000u) {
    // Below 2^-14: adding 0.5 aligns the subnormal's last place with binary32's, so the hardware
    // addition rounds to nearest even exactly where binary16 would.
    const float shifted = BitsFloat(abs) + 0.5f;
    return sign | static_cast<uint16_t>(FloatBits(shifted) - 0x3F000000u);
  }
  const uint32_t odd = (abs >> 13) & 1u;
  return sign | static_cast<uint16_t>((abs - 0x38000000u + 0xFFFu + odd) >> 13);
}

// The canonical NaN every GEMV output NaN is replaced by (docs/ARITHMETIC.md).
constexpr uint32_t kCanonicalNaNBits = 0x7FC00000u;

}  // namespace wk

#endif  // WK_COMMON_FLOAT16_H_
