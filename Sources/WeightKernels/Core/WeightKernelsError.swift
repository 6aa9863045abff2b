/// Every error the library (and the reference) throws. The cases mirror the C ABI's `wk_status`;
/// the message names the operand at fault.
public enum WeightKernelsError: Error, Equatable, Sendable, CustomStringConvertible {
  case nullArgument(String)
  case invalidDType(String)
  case invalidShape(String)
  case sizeMismatch(String)
  case invalidArgument(String)
  case aliasing(String)
  case unsupportedTarget(String)
  case unsupported(String)
  case outOfMemory(String)
  /// A model file cannot be opened, read or mapped (the message names the file).
  case io(String)
  /// A malformed model package, manifest, program or weight blob (the message names the weight
  /// or the file part at fault).
  case invalidModel(String)

  /// The kind without the message, for comparing what the library and the reference rejected.
  public enum Kind: Int32, Sendable {
    case nullArgument = 1, invalidDType, invalidShape, sizeMismatch, invalidArgument, aliasing,
      unsupportedTarget, unsupported, outOfMemory, io, invalidModel
  }

  public var kind: Kind {
    switch self {
    case .nullArgument: return .nullArgument
    case .invalidDType: return .invalidDType
    case .invalidShape: return .invalidShape
    case .sizeMismatch: return .sizeMismatch
    case .invalidArgument: return .invalidArgument
    case .aliasing: return .aliasing
    case .unsupportedTarget: return .unsupportedTarget
    case .unsupported: return .unsupported
    case .outOfMemory: return .outOfMemory
    case .io: return .io
    case .invalidModel: return .invalidModel
    }
  }

  public var message: String {
    switch self {
    case .nullArgument(let m), .invalidDType(let m), .invalidShape(let m), .sizeMismatch(let m),
      .invalidArgument(let m), .aliasing(let m), .unsupportedTarget(let m), .unsupported(let m),
      .outOfMemory(let m), .io(let m), .invalidModel(let m):
      return m
    }
  }

  public var description: String { "\(kind): \(message)" }

  init(kind: Kind, message: String) {
    switch kind {
    case .nullArgument: self = .nullArgument(message)
    case .invalidDType: self = .invalidDType(message)
    case .invalidShape: self = .invalidShape(message)
    case .sizeMismatch: self = .sizeMismatch(message)
    case .invalidArgument: self = .invalidArgument(message)
    case .aliasing: self = .aliasing(message)
    case .unsupportedTarget: self = .unsupportedTarget(message)
    case .unsupported: self = .unsupported(message)
    case .outOfMemory: self = .outOfMemory(message)
    case .io: self = .io(message)
    case .invalidModel: self = .invalidModel(message)
    }
  }
}
