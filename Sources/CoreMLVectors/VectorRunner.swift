import Foundation
import WeightKernels
import WeightKernelsReference

/// The outcome of one vector case.
public enum CaseOutcome: Equatable, Sendable, CustomStringConvertible {
  case passed
  /// Why the case failed (case name, tensor id, first differing element and both values...).
  case failed(String)
  /// The executor does not implement an op the case needs.
  case skipped(String)

  public var description: String {
    switch self {
    case .passed: return "passed"
    case .failed(let message): return "FAILED: \(message)"
    case .skipped(let reason): return "skipped: \(reason)"
    }
  }
}

/// Results of a run, in manifest order.
public struct VectorReport: Sendable {
  public var results: [(name: String, outcome: CaseOutcome)]

  public init(results: [(name: String, outcome: CaseOutcome)] = []) { self.results = results }

  public var passed: Int { results.filter { $0.outcome == .passed }.count }
  public var failed: Int { results.filter { if case .failed = $0.outcome { return true } else { return false } }.count }
  public var skipped: Int { results.filter { if case .skipped = $0.outcome { return true } else { return false } }.count }

  /// "N passed, N failed, N skipped".
  public var summaryLine: String { "\(passed) passed, \(failed) failed, \(skipped) skipped" }

  /// Failure messages, one per failed case.
  public var failures: [String] {
    results.compactMap { if case .failed(let message) = $0.outcome { return message } else { return nil } }
  }
}

/// Runs the cases of a coremltools vector manifest through a `CoreMLOpExecutor` (FORMATS.md §12).
///
/// For each case: operand tensors are read from the case folder (`file`: Core ML encoding,
/// sub-byte packed); steps run in order, an input whose tensor id is an earlier step's output
/// being bound to the computed tensor; every output whose tensor has role "intermediate" or
/// "expected" must equal the file byte for byte (dtype and shape too).
/// A valid case passes when all comparisons hold. An invalid case (`expected_error`) passes
/// when a step (or the library's `Tensor` validation of an operand) throws a
/// `WeightKernelsError`, and fails when every step succeeds. `VectorSuiteError.notImplemented`
/// from the executor makes a case skipped.
public struct VectorRunner {
  public let manifest: VectorManifest
  /// The folder holding `manifest.json` and the case folders.
  public let directory: String
  /// Also check, for every operand stored as a blob, that the case's `weight.bin` holds a
  /// well-formed blob record (FORMATS.md §8.2) at `blob_offset` with exactly the file's bytes.
  public var verifyBlobStorage = false

  public init(manifest: VectorManifest, directory: String) {
    self.manifest = manifest
    self.directory = directory
  }

  /// Loads `manifest.json` from `directory`.
  public init(directory: String) throws {
    self.init(manifest: try VectorManifest.load(directory: directory), directory: directory)
  }

  /// Runs the cases selected by `include` (all by default), in manifest order.
  public func run(
    _ executor: some CoreMLOpExecutor, where include: (VectorManifest.Case) -> Bool = { _ in true }
  ) -> VectorReport {
    VectorReport(results: manifest.cases.filter(include).map { ($0.name, run($0, with: executor)) })
  }

  /// Runs one case.
  public func run(_ testCase: VectorManifest.Case, with executor: some CoreMLOpExecutor) -> CaseOutcome {
    let name = testCase.name
    let computed: [(id: String, tensor: Tensor)]
    do {
      if verifyBlobStorage && !testCase.expectedError { try verifyBlobs(of: testCase) }
      computed = try execute(testCase, with: executor)
    } catch let error as WeightKernelsError {
      if testCase.expectedError { return .passed }
      return .failed("\(name): \(executor.name) threw \(error)")
    } catch VectorSuiteError.invalidTensor(let id, let error) {
      if testCase.expectedError { return .passed }
      return .failed("\(name): operand \(id) is not a valid tensor: \(error)")
    } catch VectorSuiteError.notImplemented(let op) {
      return .skipped("\(name): \(executor.name) does not implement \(op)")
    } catch {
      return .failed("\(name): \(error)")
    }

    if testCase.expectedError {
      let raised = testCase.error.map { "\($0.exception ?? "error"): \($0.message ?? $0.reason ?? "")" } ?? "an error"
      return .failed("\(name): coremltools raised \(raised), but \(executor.name) accepted every step")
    }

    // Compare in step order, so the first reported difference is the earliest one in the chain.
    var produced = Set<String>()
    for (id, tensor) in computed {
      produced.insert(id)
      guard let spec = testCase.tensor(id), spec.isCompared else { continue }
      do {
        if let difference = try compare(tensor, with: spec, of: testCase) {
          return .failed("\(name): tensor \(id): \(difference)")
        }
      } catch {
        return .failed("\(name): tensor \(id): \(error)")
      }
    }
    if let missing = testCase.tensors.first(where: { $0.isCompared && !produced.contains($0.id) }) {
      return .failed("\(name): no step produced the \(missing.role) tensor \(missing.id)")
    }
    return .passed
  }

  /// Executes the steps of a case and returns every step output, in step order, keyed by the
  /// step's output tensor ids (outputs of steps without ids, as in invalid cases, are dropped).
  /// - Throws: whatever a step throws (`WeightKernelsError`, `VectorSuiteError.notImplemented`),
  ///   `VectorSuiteError.invalidTensor` for an operand file that is not a valid tensor, other
  ///   `VectorSuiteError`s for manifest problems.
  public func execute(_ testCase: VectorManifest.Case, with executor: some CoreMLOpExecutor) throws
    -> [(id: String, tensor: Tensor)]
  {
    var bound: [String: Tensor] = [:]
    var outputs: [(id: String, tensor: Tensor)] = []
    for (index, step) in testCase.steps.enumerated() {
      let operands = StepOperands(step: step, testCase: testCase) { id in
        if let chained = bound[id] { return chained }  // an earlier step's output
        let tensor = try loadTensor(id, of: testCase)
        bound[id] = tensor
        return tensor
      }
      let results = try perform(step, operands: operands, testCase: testCase, executor: executor)
      guard step.outputs.isEmpty || step.outputs.count == results.count else {
        throw VectorSuiteError.malformedManifest(
          "step \(index) (\(step.op)) lists \(step.outputs.count) outputs, the op has \(results.count)")
      }
      for (id, tensor) in zip(step.outputs, results) {
        bound[id] = tensor
        outputs.append((id, tensor))
      }
    }
    return outputs
  }

  // MARK: - Ops

  /// Maps an op name and its parameters to an executor call.
  private func perform(
    _ step: VectorManifest.Step, operands: StepOperands, testCase: VectorManifest.Case,
    executor: some CoreMLOpExecutor
  ) throws -> [Tensor] {
    // The iOS16 forms take a `shape` operand; the opset decides when the manifest is silent.
    let iOS16Form = step.input("shape") != nil || testCase.usesIOS16Ops
    switch step.op {
    case "constexpr_lut_to_dense":
      if iOS16Form {
        return [
          try executor.lutToDenseIOS16(
            indices: operands.required("indices"), lut: operands.required("lut"),
            shape: operands.required("shape"))
        ]
      }
      return [
        try executor.lutToDenseIOS18(
          indices: operands.required("indices"), lut: operands.required("lut"),
          vectorAxis: operands.integer("vector_axis", field: step.vectorAxis))
      ]
    case "constexpr_sparse_to_dense":
      if iOS16Form {
        return [
          try executor.sparseToDenseIOS16(
            nonzeroData: operands.required("nonzero_data"), mask: operands.required("mask"),
            shape: operands.required("shape"))
        ]
      }
      return [
        try executor.sparseToDenseIOS18(
          nonzeroData: operands.required("nonzero_data"), mask: operands.required("mask"))
      ]
    case "constexpr_cast":
      guard let typeName = step.outputDtype else {
        throw VectorSuiteError.malformedManifest("constexpr_cast without output_dtype")
      }
      guard let outputType = DType(name: typeName) else {
        // Not a dtype the library can even name: rejected like coremltools rejects it.
        throw WeightKernelsError.invalidArgument("output_dtype: unknown dtype \(typeName)")
      }
      return [try executor.cast(operands.required("source_val"), to: outputType)]
    case "constexpr_affine_dequantize":
      guard let axis = try operands.integer("axis", field: step.axis) else {
        throw VectorSuiteError.malformedManifest("constexpr_affine_dequantize without axis")
      }
      return [
        try executor.affineDequantize(
          quantizedData: operands.required("quantized_data"), zeroPoint: operands.required("zero_point"),
          scale: operands.required("scale"), axis: axis)
      ]
    case "constexpr_blockwise_shift_scale":
      return [
        try executor.blockwiseShiftScale(
          data: operands.required("data"), scale: operands.required("scale"),
          offset: operands.optional("offset"))
      ]
    case "constexpr_lut_to_sparse":
      let result = try executor.lutToSparse(
        indicesMask: operands.required("indices_mask"),
        indicesNonzeroData: operands.required("indices_nonzero_data"), lut: operands.required("lut"),
        vectorAxis: operands.integer("vector_axis", field: step.vectorAxis))
      return [result.mask, result.nonzeroData]
    case "constexpr_sparse_blockwise_shift_scale":
      let result = try executor.sparseBlockwiseShiftScale(
        dataMask: operands.required("data_mask"), nonzeroData: operands.required("nonzero_data"),
        scale: operands.required("scale"), offset: operands.optional("offset"))
      return [result.mask, result.nonzeroData]
    default:
      throw VectorSuiteError.malformedManifest("unknown op \(step.op)")
    }
  }

  /// The operands of one step, loaded lazily by parameter name.
  private struct StepOperands {
    let step: VectorManifest.Step
    let testCase: VectorManifest.Case
    let resolve: (String) throws -> Tensor

    func optional(_ param: String) throws -> Tensor? {
      guard let id = step.input(param) else { return nil }
      return try resolve(id)
    }

    func required(_ param: String) throws -> Tensor {
      guard let tensor = try optional(param) else {
        throw VectorSuiteError.malformedManifest("\(step.op) has no input \(param)")
      }
      return tensor
    }

    /// A scalar integer argument: the step field, or a scalar integer tensor operand.
    func integer(_ param: String, field: Int?) throws -> Int? {
      guard let tensor = try optional(param) else { return field }
      guard !tensor.dtype.isFloatingPoint, tensor.count == 1 else {
        throw VectorSuiteError.malformedManifest("\(param) operand is not one integer: \(tensor)")
      }
      return tensor.integers()[0]
    }
  }

  // MARK: - Files

  private func caseURL(_ testCase: VectorManifest.Case) -> URL {
    URL(fileURLWithPath: directory).appendingPathComponent(testCase.dir)
  }

  private func readFile(_ url: URL) throws -> [UInt8] {
    do {
      return [UInt8](try Data(contentsOf: url))
    } catch {
      throw VectorSuiteError.io("cannot read \(url.path): \(error.localizedDescription)")
    }
  }

  private func dtype(of spec: VectorManifest.TensorSpec) throws -> DType {
    guard let dtype = DType(name: spec.dtype) else {
      throw VectorSuiteError.malformedManifest("tensor \(spec.id): unknown dtype \(spec.dtype)")
    }
    return dtype
  }

  /// Reads an operand's file as a tensor.
  private func loadTensor(_ id: String, of testCase: VectorManifest.Case) throws -> Tensor {
    guard let spec = testCase.tensor(id) else {
      throw VectorSuiteError.malformedManifest("input \(id) is neither a listed tensor nor an earlier output")
    }
    let bytes = try readFile(caseURL(testCase).appendingPathComponent(spec.file))
    do {
      return try Tensor(dtype: try dtype(of: spec), shape: spec.shape, bytes: bytes)
    } catch let error as WeightKernelsError {
      throw VectorSuiteError.invalidTensor(id: id, error)
    }
  }

  // MARK: - Comparison

  /// nil when `actual` equals the expected tensor file bit for bit, else a description of the
  /// first difference.
  private func compare(
    _ actual: Tensor, with spec: VectorManifest.TensorSpec, of testCase: VectorManifest.Case
  ) throws -> String? {
    let dtype = try dtype(of: spec)
    guard actual.dtype == dtype else { return "dtype \(actual.dtype), expected \(dtype)" }
    guard actual.shape == spec.shape else { return "shape \(actual.shape), expected \(spec.shape)" }
    let expected = try readFile(caseURL(testCase).appendingPathComponent(spec.file))
    guard expected.count == actual.bytes.count else {
      return "expected file has \(expected.count) bytes, \(dtype)\(spec.shape) needs \(actual.bytes.count)"
    }
    if expected == actual.bytes { return nil }

    let got = BitPacking.unpack(actual.bytes, dtype: dtype, count: actual.count)
    let want = BitPacking.unpack(expected, dtype: dtype, count: actual.count)
    if let i = got.indices.first(where: { got[$0] != want[$0] }) {
      let differing = got.indices.filter { got[$0] != want[$0] }.count
      return "first difference at element \(i) (coordinates \(coordinates(of: i, shape: actual.shape))): "
        + "got \(format(got[i], dtype)), expected \(format(want[i], dtype)) "
        + "(\(differing) of \(actual.count) elements differ)"
    }
    return "padding bits differ: last byte got 0x\(hex(actual.bytes.last ?? 0, 2)), "
      + "expected 0x\(hex(expected.last ?? 0, 2))"
  }

  private func coordinates(of linear: Int, shape: [Int]) -> [Int] {
    var result = [Int](repeating: 0, count: shape.count)
    var rest = linear
    for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] > 0 {
      result[axis] = rest % shape[axis]
      rest /= shape[axis]
    }
    return result
  }

  /// An element for messages: floats as bits and value, integers as numbers.
  private func format(_ field: Int, _ dtype: DType) -> String {
    switch dtype {
    case .fp16:
      let bits = UInt16(truncatingIfNeeded: field)
      return "0x\(hex(bits, 4)) (\(Float(bitPattern: Reference.widenF16(bits))))"
    case .fp32:
      let bits = UInt32(truncatingIfNeeded: field)
      return "0x\(hex(bits, 8)) (\(Float(bitPattern: bits)))"
    default:
      return "\(field)"
    }
  }

  private func hex<T: BinaryInteger>(_ value: T, _ digits: Int) -> String {
    let text = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, digits - text.count)) + text
  }

  // MARK: - Blob storage

  /// Checks the `weight.bin` records of the case's blob operands (FORMATS.md §8.2): sentinel,
  /// dtype code, size, data offset and the data bytes themselves.
  private func verifyBlobs(of testCase: VectorManifest.Case) throws {
    let blobs = testCase.tensors.filter { $0.storage == "blob" }
    guard !blobs.isEmpty else { return }
    guard let weightFile = testCase.weightFile else {
      throw VectorSuiteError.malformedManifest("blob operands but no weight_file")
    }
    let weights = try readFile(caseURL(testCase).appendingPathComponent(weightFile))
    func integer(at offset: Int, bytes count: Int) -> UInt64? {
      guard offset >= 0, offset + count <= weights.count else { return nil }
      return (0..<count).reduce(UInt64(0)) { $0 | UInt64(weights[offset + $1]) << (8 * UInt64($1)) }
    }
    guard integer(at: 4, bytes: 4) == 2 else {
      throw VectorSuiteError.malformedManifest("\(weightFile): storage version is not 2")
    }
    for spec in blobs {
      guard let metadata = spec.blobOffset else {
        throw VectorSuiteError.malformedManifest("blob tensor \(spec.id) has no blob_offset")
      }
      let bytes = try readFile(caseURL(testCase).appendingPathComponent(spec.file))
      let dtype = try dtype(of: spec)
      func fail(_ what: String) -> VectorSuiteError {
        .malformedManifest("\(weightFile) blob of \(spec.id) at \(metadata): \(what)")
      }
      guard integer(at: metadata, bytes: 4) == 0xDEAD_BEEF else { throw fail("no 0xDEADBEEF sentinel") }
      guard integer(at: metadata + 4, bytes: 4) == UInt64(dtype.rawValue) else {
        throw fail("dtype code \(integer(at: metadata + 4, bytes: 4) ?? 0), \(dtype) is \(dtype.rawValue)")
      }
      guard integer(at: metadata + 8, bytes: 8) == UInt64(bytes.count) else { throw fail("size differs from \(spec.file)") }
      guard integer(at: metadata + 16, bytes: 8) == UInt64(metadata + 64) else { throw fail("data offset is not metadata + 64") }
      let start = metadata + 64
      guard start + bytes.count <= weights.count, Array(weights[start..<(start + bytes.count)]) == bytes else {
        throw fail("data differs from \(spec.file)")
      }
    }
  }
}
