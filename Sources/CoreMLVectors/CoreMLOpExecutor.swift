import WeightKernels
import WeightKernelsReference

/// Errors of the vector suite itself (not of the library under test).
public enum VectorSuiteError: Error, Equatable, Sendable, CustomStringConvertible {
  /// The executor does not implement this op: the case is skipped, not failed.
  case notImplemented(String)
  /// The manifest does not describe something the runner can execute.
  case malformedManifest(String)
  /// A file could not be read.
  case io(String)
  /// An operand file does not form a valid tensor (the library's own `Tensor` validation).
  case invalidTensor(id: String, WeightKernelsError)

  public var description: String {
    switch self {
    case .notImplemented(let op): return "not implemented: \(op)"
    case .malformedManifest(let m): return "malformed manifest: \(m)"
    case .io(let m): return "I/O: \(m)"
    case .invalidTensor(let id, let error): return "tensor \(id): \(error)"
    }
  }
}

/// Something that can run Core ML's constexpr ops: the library, the reference, a C shim...
/// Every method has the signature of the corresponding `Reference` function. Default
/// implementations throw `VectorSuiteError.notImplemented`, so an executor implements only
/// what it supports (cases using the rest are reported as skipped).
public protocol CoreMLOpExecutor {
  /// A name for reports.
  var name: String { get }

  /// iOS16 `constexpr_lut_to_dense` (FORMATS.md §3).
  func lutToDenseIOS16(indices: Tensor, lut: Tensor, shape: Tensor) throws -> Tensor
  /// iOS18 `constexpr_lut_to_dense` (§7.1).
  func lutToDenseIOS18(indices: Tensor, lut: Tensor, vectorAxis: Int?) throws -> Tensor
  /// `constexpr_cast` (§6).
  func cast(_ source: Tensor, to outputType: DType) throws -> Tensor
  /// `constexpr_blockwise_shift_scale` (§7.3).
  func blockwiseShiftScale(data: Tensor, scale: Tensor, offset: Tensor?) throws -> Tensor
  /// iOS16 `constexpr_affine_dequantize` (§5).
  func affineDequantize(quantizedData: Tensor, zeroPoint: Tensor, scale: Tensor, axis: Int) throws -> Tensor
  /// iOS16 `constexpr_sparse_to_dense` (§4).
  func sparseToDenseIOS16(nonzeroData: Tensor, mask: Tensor, shape: Tensor) throws -> Tensor
  /// iOS18 `constexpr_sparse_to_dense` (§7.2).
  func sparseToDenseIOS18(nonzeroData: Tensor, mask: Tensor) throws -> Tensor
  /// `constexpr_lut_to_sparse` (§7.4).
  func lutToSparse(indicesMask: Tensor, indicesNonzeroData: Tensor, lut: Tensor, vectorAxis: Int?) throws
    -> (mask: Tensor, nonzeroData: Tensor)
  /// `constexpr_sparse_blockwise_shift_scale` (§7.5).
  func sparseBlockwiseShiftScale(dataMask: Tensor, nonzeroData: Tensor, scale: Tensor, offset: Tensor?) throws
    -> (mask: Tensor, nonzeroData: Tensor)
}

extension CoreMLOpExecutor {
  public var name: String { String(describing: Self.self) }

  public func lutToDenseIOS16(indices: Tensor, lut: Tensor, shape: Tensor) throws -> Tensor {
    throw VectorSuiteError.notImplemented("constexpr_lut_to_dense (iOS16)")
  }
  public func lutToDenseIOS18(indices: Tensor, lut: Tensor, vectorAxis: Int?) throws -> Tensor {
    throw VectorSuiteError.notImplemented("constexpr_lut_to_dense (iOS18)")
  }
  public func cast(_ source: Tensor, to outputType: DType) throws -> Tensor {
    throw VectorSuiteError.notImplemented("constexpr_cast")
  }
  public func blockwiseShiftScale(data: Tensor, scale: Tensor, offset: Tensor?) throws -> Tensor {
    throw VectorSuiteError.notImplemented("constexpr_blockwise_shift_scale")
  }
  public func affineDequantize(quantizedData: Tensor, zeroPoint: Tensor, scale: Tensor, axis: Int) throws -> Tensor {
    throw VectorSuiteError.notImplemented("constexpr_affine_dequantize")
  }
  public func sparseToDenseIOS16(nonzeroData: Tensor, mask: Tensor, shape: Tensor) throws -> Tensor {
    throw VectorSuiteError.notImplemented("constexpr_sparse_to_dense (iOS16)")
  }
  public func sparseToDenseIOS18(nonzeroData: Tensor, mask: Tensor) throws -> Tensor {
    throw VectorSuiteError.notImplemented("constexpr_sparse_to_dense (iOS18)")
  }
  public func lutToSparse(indicesMask: Tensor, indicesNonzeroData: Tensor, lut: Tensor, vectorAxis: Int?) throws
    -> (mask: Tensor, nonzeroData: Tensor)
  {
    throw VectorSuiteError.notImplemented("constexpr_lut_to_sparse")
  }
  public func sparseBlockwiseShiftScale(dataMask: Tensor, nonzeroData: Tensor, scale: Tensor, offset: Tensor?) throws
    -> (mask: Tensor, nonzeroData: Tensor)
  {
    throw VectorSuiteError.notImplemented("constexpr_sparse_blockwise_shift_scale")
  }
}

/// Runs every op on the scalar reference (`WeightKernelsReference.Reference`).
public struct ReferenceExecutor: CoreMLOpExecutor, Sendable {
  public init() {}

  public var name: String { "reference" }

  public func lutToDenseIOS16(indices: Tensor, lut: Tensor, shape: Tensor) throws -> Tensor {
    try Reference.lutToDenseIOS16(indices: indices, lut: lut, shape: shape)
  }
  public func lutToDenseIOS18(indices: Tensor, lut: Tensor, vectorAxis: Int?) throws -> Tensor {
    try Reference.lutToDenseIOS18(indices: indices, lut: lut, vectorAxis: vectorAxis)
  }
  public func cast(_ source: Tensor, to outputType: DType) throws -> Tensor {
    try Reference.cast(source, to: outputType)
  }
  public func blockwiseShiftScale(data: Tensor, scale: Tensor, offset: Tensor?) throws -> Tensor {
    try Reference.blockwiseShiftScale(data: data, scale: scale, offset: offset)
  }
  public func affineDequantize(quantizedData: Tensor, zeroPoint: Tensor, scale: Tensor, axis: Int) throws -> Tensor {
    try Reference.affineDequantize(quantizedData: quantizedData, zeroPoint: zeroPoint, scale: scale, axis: axis)
  }
  public func sparseToDenseIOS16(nonzeroData: Tensor, mask: Tensor, shape: Tensor) throws -> Tensor {
    try Reference.sparseToDenseIOS16(nonzeroData: nonzeroData, mask: mask, shape: shape)
  }
  public func sparseToDenseIOS18(nonzeroData: Tensor, mask: Tensor) throws -> Tensor {
    try Reference.sparseToDenseIOS18(nonzeroData: nonzeroData, mask: mask)
  }
  public func lutToSparse(indicesMask: Tensor, indicesNonzeroData: Tensor, lut: Tensor, vectorAxis: Int?) throws
    -> (mask: Tensor, nonzeroData: Tensor)
  {
    try Reference.lutToSparse(
      indicesMask: indicesMask, indicesNonzeroData: indicesNonzeroData, lut: lut, vectorAxis: vectorAxis)
  }
  public func sparseBlockwiseShiftScale(dataMask: Tensor, nonzeroData: Tensor, scale: Tensor, offset: Tensor?) throws
    -> (mask: Tensor, nonzeroData: Tensor)
  {
    try Reference.sparseBlockwiseShiftScale(dataMask: dataMask, nonzeroData: nonzeroData, scale: scale, offset: offset)
  }
}
