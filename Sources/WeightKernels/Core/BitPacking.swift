/// Core ML's sub-byte packing (FORMATS.md §2.1): element i occupies bits [b·i, b·i + b) of one
/// little-endian bit stream, least significant bit first; unused high bits of the last byte are 0.
/// Byte-sized and wider integer types are stored little-endian, one element after another.
public enum BitPacking {
  /// Packs integer values of `dtype` (each already in range) into Core ML's byte encoding.
  public static func pack(_ values: [Int], dtype: DType) -> [UInt8] {
    let bits = dtype.bits
    var out = [UInt8](repeating: 0, count: Tensor.byteCount(dtype: dtype, count: values.count))
    if bits >= 8 {
      let width = bits / 8
      for (i, v) in values.enumerated() {
        let u = UInt64(bitPattern: Int64(v))
        for j in 0..<width { out[i * width + j] = UInt8((u >> (8 * UInt64(j))) & 0xFF) }
      }
      return out
    }
    let mask = (1 << bits) - 1
    for (i, v) in values.enumerated() {
      let field = v & mask
      for j in 0..<bits where field & (1 << j) != 0 {
        let bit = i * bits + j
        out[bit / 8] |= UInt8(1 << (bit % 8))
      }
    }
    return out
  }

  /// Reads `count` integer elements of `dtype` from Core ML's byte encoding (int types
  /// sign-extended).
  public static func unpack(_ bytes: [UInt8], dtype: DType, count: Int) -> [Int] {
    (0..<count).map { element(bytes, dtype: dtype, index: $0) }
  }

  /// One integer element of a packed stream.
  @inline(__always)
  public static func element(_ bytes: [UInt8], dtype: DType, index i: Int) -> Int {
    let bits = dtype.bits
    var raw: UInt64 = 0
    if bits >= 8 {
      let width = bits / 8
      for j in 0..<width { raw |= UInt64(bytes[i * width + j]) << (8 * UInt64(j)) }
    } else {
      for j in 0..<bits {
        let bit = i * bits + j
        if bytes[bit / 8] & UInt8(1 << (bit % 8)) != 0 { raw |= 1 << UInt64(j) }
      }
    }
    if dtype.isSigned && raw & (1 << UInt64(bits - 1)) != 0 {
      return Int(Int64(bitPattern: raw | ~((1 << UInt64(bits)) - 1)))
    }
    return Int(raw)
  }
}
