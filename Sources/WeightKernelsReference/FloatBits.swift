import WeightKernels

/// The executable specification of every kernel in WeightKernels: plain scalar Swift, no SIMD, no C.
/// Each function validates its operands like coremltools 9.0 does (FORMATS.md) and computes the
/// exact bits a kernel must reproduce. Extended per format family in the other files.
public enum Reference {}

// MARK: - Float bit helpers
//
// fp16 conversions are written with explicit bit manipulation (not `Float16(x)`) so that the
// rounding and NaN rules are visible and do not depend on the platform's conversion instruction.

extension Reference {
  /// Exact widening of an IEEE binary16 bit pattern to binary32 bits.
  ///
  /// Every fp16 value is representable in fp32, so this never rounds. NaNs keep their sign and
  /// payload (`payload << 13`) and the quiet bit is **not** forced: a signalling fp16 NaN stays
  /// signalling, as numpy's `astype(np.float32)` does (this is what `constexpr_cast` produces).
  public static func widenF16(_ h: UInt16) -> UInt32 {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32(h >> 10) & 0x1F
    let mantissa = UInt32(h & 0x3FF)
    if exponent == 0x1F {
      // ±inf (mantissa 0) or NaN: the payload moves to the top of the fp32 mantissa.
      return sign | 0x7F80_0000 | (mantissa << 13)
    }
    if exponent == 0 {
      if mantissa == 0 { return sign }  // ±0
      // Subnormal: value = mantissa · 2^-24. Normalise around its leading one at bit p
      // (0...9): value = 2^(p-24) · 1.f, so the fp32 biased exponent is p - 24 + 127.
      let p = 31 - UInt32(mantissa.leadingZeroBitCount)
      let fraction = (mantissa << (23 - p)) & 0x7F_FFFF
      return sign | ((p + 103) << 23) | fraction
    }
    // Normal: rebias the exponent (127 - 15 = 112) and widen the mantissa.
    return sign | ((exponent + 112) << 23) | (mantissa << 13)
  }

  /// RN16: rounds binary32 bits to the nearest binary16, ties to even; overflow gives ±inf,
  /// results below the normal range are rounded as subnormals (gradual underflow, no flush).
  ///
  /// NaN → `sign | 0x7E00 | ((mantissa >> 13) & 0x1FF)`: the quiet bit is set and the top nine
  /// payload bits are kept, exactly like x86 `vcvtps2ph` (and Arm `fcvt`).
  public static func roundToF16(_ f: UInt32) -> UInt16 {
    let sign = UInt16((f >> 16) & 0x8000)
    let exponent = Int((f >> 23) & 0xFF)
    let mantissa = f & 0x7F_FFFF

    if exponent == 0xFF {
      if mantissa == 0 { return sign | 0x7C00 }  // ±inf
      return sign | 0x7E00 | UInt16((mantissa >> 13) & 0x1FF)
    }
    // fp32 zeros and subnormals (< 2^-126) are far below half the smallest fp16 subnormal
    // (2^-25): they round to ±0.
    if exponent == 0 { return sign }

    let significand = mantissa | 0x80_0000  // 24 bits, value = significand · 2^(exponent - 150)
    let halfExponent = exponent - 127 + 15
    if halfExponent >= 31 { return sign | 0x7C00 }  // ≥ 2^16: beyond 65504 even before rounding

    // Number of low significand bits dropped: 13 for fp16 normals; more for subnormals, whose
    // unit is 2^-24 (value / 2^-24 = significand · 2^(exponent - 126)).
    let shift = halfExponent >= 1 ? 13 : 126 - exponent
    if shift > 24 { return sign }  // below 2^-25 (half the smallest subnormal, never a tie): ±0

    var kept = significand >> UInt32(shift)
    let dropped = significand & ((1 << UInt32(shift)) - 1)
    let halfway: UInt32 = 1 << UInt32(shift - 1)
    if dropped > halfway || (dropped == halfway && kept & 1 == 1) { kept += 1 }

    if halfExponent >= 1 {
      // `kept` holds the implicit bit (0x400); a carry out of the mantissa (kept = 0x800)
      // correctly bumps the exponent, and 0x7BFF + 1 becomes 0x7C00 = inf.
      return sign | UInt16(truncatingIfNeeded: (UInt32(halfExponent - 1) << 10) + kept)
    }
    // Subnormal: `kept` is the mantissa; rounding up to 0x400 yields the smallest normal.
    return sign | UInt16(kept)
  }
}

// MARK: - Internal arithmetic used by the dequantizers

extension Reference {
  /// The exact value of an fp16 bit pattern as a Float (used for arithmetic).
  @inline(__always)
  static func floatOfF16(_ h: UInt16) -> Float { Float(bitPattern: widenF16(h)) }

  /// A NaN with its quiet bit set (payload and sign kept), as the hardware returns it.
  @inline(__always)
  static func quieted(_ nan: Float) -> Float { Float(bitPattern: nan.bitPattern | 0x0040_0000) }

  /// `a − b` in fp32 (one IEEE rounding) with the NaN rule: a NaN data-side operand `a` wins
  /// (quieted), else a NaN parameter `b` (quieted). Made explicit because the IEEE standard
  /// leaves the choice between two NaN operands open.
  @inline(__always)
  static func subtract(_ a: Float, _ b: Float) -> Float {
    if a.isNaN { return quieted(a) }
    if b.isNaN { return quieted(b) }
    return a - b
  }

  /// `data · parameter` in fp32 (one IEEE rounding) with the same NaN rule as `subtract`:
  /// the data-side operand's NaN first.
  @inline(__always)
  static func multiply(_ data: Float, _ parameter: Float) -> Float {
    if data.isNaN { return quieted(data) }
    if parameter.isNaN { return quieted(parameter) }
    return data * parameter
  }

  /// fp32 data narrowed to fp16 the way numpy's `astype(float16)` does: RN16, except that a NaN
  /// keeps its quiet bit as it is (a signalling NaN whose payload truncates to 0 gets payload 1).
  static func narrowedToF16LikeNumpy(_ x: Float) -> Float {
    guard x.isNaN else { return roundedToF16(x) }
    let bits = x.bitPattern
    var h = UInt16((bits >> 16) & 0x8000) | 0x7C00 | UInt16((bits >> 13) & 0x3FF)
    if h & 0x3FF == 0 { h |= 1 }
    return floatOfF16(h)
  }

  /// RN16 of a Float, as a Float again (the fp16 value, exactly widened).
  @inline(__always)
  static func roundedToF16(_ x: Float) -> Float { floatOfF16(roundToF16(x.bitPattern)) }
}
