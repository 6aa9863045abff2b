import WeightKernels

/// Runs every Core ML op through the library (WeightKernels) on one target.
public struct LibraryExecutor: CoreMLOpExecutor, Sendable {
  /// nil: the best target this CPU supports.
  public let target: SIMDTarget?

  public init(target: SIMDTarget? = nil) { self.target = target }

  public var name: String { "library (\(target?.name ?? SIMDTarget.best.name))" }

  public func lutToDenseIOS16(indices: Tensor, lut: Tensor, shape: Tensor) throws -> Tensor {
    try CoreMLOps.lutToDenseIOS16(indices: indices, lut: lut, shape: shape, target: target)
  }
  public func lutToDenseIOS18(indices: Tensor, lut: Tensor, vectorAxis: Int?) throws -> Tensor {
    try CoreMLOps.lutToDenseIOS18(indices: indices, lut: lut, vectorAxis: vectorAxis, target: target)
  }
  public func cast(_ source: Tensor, to outputType: DType) throws -> Tensor {
    try CoreMLOps.cast(source, to: outputType, target: target)
  }
  public func blockwiseShiftScale(data: Tensor, scale: Tensor, offset: Tensor?) throws -> Tensor {
    try CoreMLOps.blockwiseShiftScale(data: data, scale: scale, offset: offset, target: target)
  }
  public func sparseToDenseIOS16(nonzeroData: Tensor, mask: Tensor, shape: Tensor) throws -> Tensor {
    try CoreMLOps.sparseToDenseIOS16(nonzeroData: nonzeroData, mask: mask, shape: shape, target: target)
  }
  public func sparseToDenseIOS18(nonzeroData: Tensor, mask: Tensor) throws -> Tensor {
    try CoreMLOps.sparseToDenseIOS18(nonzeroData: nonzeroData, mask: mask, target: target)
  }
  public func lutToSparse(indicesMask: Tensor, indicesNonzeroData: Tensor, lut: Tensor, vectorAxis: Int?) throws
    -> (mask: Tensor, nonzeroData: Tensor)
  {
    try CoreMLOps.lutToSparse(
      indicesMask: indicesMask, indicesNonzeroData: indicesNonzeroData, lut: lut, vectorAxis: vectorAxis,
      target: target)
  }
  public func affineDequantize(quantizedData: Tensor, zeroPoint: Tensor, scale: Tensor, axis: Int) throws -> Tensor {
    try CoreMLOps.affineDequantize(
      quantizedData: quantizedData, zeroPoint: zeroPoint, scale: scale, axis: axis, target: target)
  }
  public func sparseBlockwiseShiftScale(dataMask: Tensor, nonzeroData: Tensor, scale: Tensor, offset: Tensor?) throws
    -> (mask: Tensor, nonzeroData: Tensor)
  {
    try CoreMLOps.sparseBlockwiseShiftScale(
      dataMask: dataMask, nonzeroData: nonzeroData, scale: scale, offset: offset, target: target)
  }
}
