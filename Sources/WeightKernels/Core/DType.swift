/// Element type of a tensor. Raw values are Core ML's blob dtype codes (FORMATS.md §2), which are
/// also the C ABI's `wk_dtype` values.
public enum DType: Int32, CaseIterable, Sendable, CustomStringConvertible {
  case fp16 = 1
  case fp32 = 2
  case uint8 = 3
  case int8 = 4
  case int16 = 6
  case uint16 = 7
  case int4 = 8
  case uint1 = 9
  case uint2 = 10
  case uint4 = 11
  case uint3 = 12
  case uint6 = 13
  case int32 = 14
  case uint32 = 15

  /// Bits per element.
  public var bits: Int {
    switch self {
    case .uint1: return 1
    case .uint2: return 2
    case .uint3: return 3
    case .int4, .uint4: return 4
    case .uint6: return 6
    case .uint8, .int8: return 8
    case .fp16, .int16, .uint16: return 16
    case .fp32, .int32, .uint32: return 32
    }
  }

  public var isFloatingPoint: Bool { self == .fp16 || self == .fp32 }
  public var isSigned: Bool { self == .int4 || self == .int8 || self == .int16 || self == .int32 }
  /// Sub-byte types are packed LSB-first into one bit stream (FORMATS.md §2.1).
  public var isSubByte: Bool { bits < 8 }

  /// The name used by Core ML and the vector manifests ("fp16", "uint4"...).
  public var description: String {
    switch self {
    case .fp16: return "fp16"
    case .fp32: return "fp32"
    case .uint8: return "uint8"
    case .int8: return "int8"
    case .int16: return "int16"
    case .uint16: return "uint16"
    case .int4: return "int4"
    case .uint1: return "uint1"
    case .uint2: return "uint2"
    case .uint4: return "uint4"
    case .uint3: return "uint3"
    case .uint6: return "uint6"
    case .int32: return "int32"
    case .uint32: return "uint32"
    }
  }

  public init?(name: String) {
    guard let match = DType.allCases.first(where: { $0.description == name }) else { return nil }
    self = match
  }

  /// The unsigned index type of an n-bit palette (n ∈ {1, 2, 3, 4, 6, 8}).
  public static func indexType(bits: Int) -> DType? {
    switch bits {
    case 1: return .uint1
    case 2: return .uint2
    case 3: return .uint3
    case 4: return .uint4
    case 6: return .uint6
    case 8: return .uint8
    default: return nil
    }
  }

  /// Inclusive range of the integer values this type holds (nil for floating point).
  public var integerRange: ClosedRange<Int>? {
    if isFloatingPoint { return nil }
    if isSigned { return -(1 << (bits - 1))...((1 << (bits - 1)) - 1) }
    return 0...((1 << bits) - 1)
  }
}
