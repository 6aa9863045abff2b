import WeightKernels

/// Runs every op the library implements (WeightKernels' SIMD kernels) on one target; the others
/// throw `VectorSuiteError.notImplemented`, which reports their cases as skipped.
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
}
