/// A tensor as Core ML stores it: dtype, shape and the exact little-endian bytes (sub-byte dtypes
/// packed LSB-first, FORMATS.md §2.1). A value type; the initialiser validates that the byte count
/// is exactly what dtype and shape imply.
public struct Tensor: Equatable, Sendable, CustomStringConvertible {
  public static let maxRank = 8

  public let dtype: DType
  public let shape: [Int]
  public let bytes: [UInt8]

  /// - Throws: `WeightKernelsError.invalidShape` for a rank above `maxRank`, a negative extent or
  ///   an element count that overflows; `.sizeMismatch` when `bytes.count` is not
  ///   `Tensor.byteCount(dtype:count:)`.
  public init(dtype: DType, shape: [Int], bytes: [UInt8]) throws {
    let count = try Tensor.elementCount(shape, name: "tensor")
    let expected = Tensor.byteCount(dtype: dtype, count: count)
    guard bytes.count == expected else {
      throw WeightKernelsError.sizeMismatch(
        "tensor \(dtype)\(shape) needs \(expected) bytes, got \(bytes.count)")
    }
    self.dtype = dtype
    self.shape = shape
    self.bytes = bytes
  }

  /// Number of elements (1 for a scalar, rank 0).
  public var count: Int { shape.reduce(1, *) }
  public var rank: Int { shape.count }

  public var description: String { "Tensor(\(dtype)\(shape), \(bytes.count) bytes)" }

  /// Bytes that `count` elements of `dtype` occupy: ceil(bits · count / 8).
  public static func byteCount(dtype: DType, count: Int) -> Int {
    (dtype.bits * count + 7) / 8
  }

  /// Product of the extents, validated (rank ≤ 8, extents ≥ 0, no overflow of 2⁶² elements).
  public static func elementCount(_ shape: [Int], name: String) throws -> Int {
    guard shape.count <= maxRank else {
      throw WeightKernelsError.invalidShape("\(name): rank \(shape.count) exceeds \(maxRank)")
    }
    var count = 1
    for extent in shape {
      guard extent >= 0 else {
        throw WeightKernelsError.invalidShape("\(name): negative extent in \(shape)")
      }
      let (product, overflow) = count.multipliedReportingOverflow(by: extent)
      guard !overflow, product <= (1 << 58) else {
        throw WeightKernelsError.invalidShape("\(name): element count of \(shape) overflows")
      }
      count = product
    }
    return count
  }
}

// MARK: - Building tensors from values

extension Tensor {
  /// Packs integer element values (one per element, in range for `dtype`) into a tensor.
  /// - Throws: `.invalidArgument` when a value is out of the dtype's range or `dtype` is a float.
  public init(integers values: [Int], dtype: DType, shape: [Int]) throws {
    guard let range = dtype.integerRange else {
      throw WeightKernelsError.invalidDType("integers cannot be stored as \(dtype)")
    }
    guard try Tensor.elementCount(shape, name: "tensor") == values.count else {
      throw WeightKernelsError.sizeMismatch("\(values.count) values for shape \(shape)")
    }
    if let bad = values.first(where: { !range.contains($0) }) {
      throw WeightKernelsError.invalidArgument("value \(bad) out of range for \(dtype)")
    }
    try self.init(dtype: dtype, shape: shape, bytes: BitPacking.pack(values, dtype: dtype))
  }

  /// An fp16 tensor from raw binary16 bit patterns.
  public init(fp16Bits values: [UInt16], shape: [Int]) throws {
    var bytes = [UInt8]()
    bytes.reserveCapacity(values.count * 2)
    for v in values { bytes.append(UInt8(v & 0xFF)); bytes.append(UInt8(v >> 8)) }
    try self.init(dtype: .fp16, shape: shape, bytes: bytes)
  }

  /// An fp32 tensor from raw binary32 bit patterns.
  public init(fp32Bits values: [UInt32], shape: [Int]) throws {
    var bytes = [UInt8]()
    bytes.reserveCapacity(values.count * 4)
    for v in values {
      for i in 0..<4 { bytes.append(UInt8((v >> (8 * UInt32(i))) & 0xFF)) }
    }
    try self.init(dtype: .fp32, shape: shape, bytes: bytes)
  }

  /// An fp32 tensor from values.
  public init(floats values: [Float], shape: [Int]) throws {
    try self.init(fp32Bits: values.map(\.bitPattern), shape: shape)
  }
}

// MARK: - Reading elements

extension Tensor {
  /// Integer element values (sub-byte fields unpacked; int4 sign-extended).
  /// - Precondition: `dtype` is an integer type.
  public func integers() -> [Int] {
    precondition(!dtype.isFloatingPoint, "integers() of a \(dtype) tensor")
    return BitPacking.unpack(bytes, dtype: dtype, count: count)
  }

  /// Raw binary16 bit patterns. - Precondition: `dtype == .fp16`.
  public func fp16Bits() -> [UInt16] {
    precondition(dtype == .fp16, "fp16Bits() of a \(dtype) tensor")
    return (0..<count).map { UInt16(bytes[2 * $0]) | UInt16(bytes[2 * $0 + 1]) << 8 }
  }

  /// Raw binary32 bit patterns. - Precondition: `dtype == .fp32`.
  public func fp32Bits() -> [UInt32] {
    precondition(dtype == .fp32, "fp32Bits() of a \(dtype) tensor")
    return (0..<count).map { i in
      (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[4 * i + $1]) << (8 * UInt32($1)) }
    }
  }

  /// Element values widened to Float (fp16 exactly; integers exactly).
  public func floats() -> [Float] {
    switch dtype {
    case .fp32: return fp32Bits().map(Float.init(bitPattern:))
    case .fp16: return fp16Bits().map { Float(Float16(bitPattern: $0)) }
    default: return integers().map { Float($0) }
    }
  }
}
