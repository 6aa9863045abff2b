import Foundation

/// A coremltools reference-vector manifest (`manifest.json`, FORMATS.md §12).
///
/// Decoded with `JSONDecoder.KeyDecodingStrategy.convertFromSnakeCase`. Fields the runner needs
/// are required; descriptive ones are optional so that a manifest with fewer keys still loads.
public struct VectorManifest: Decodable, Sendable {
  public var schemaVersion: Int?
  public var generator: String?
  public var coremltoolsVersion: String?
  public var numpyVersion: String?
  public var seed: Int?
  public var extended: Bool?
  public var conventions: [String: String]?
  public var notes: [String]?
  public var blobFile: BlobFile?
  public var cases: [Case]

  /// The shared blob-storage example (`blobfile/weight.bin`, FORMATS.md §8.2).
  public struct BlobFile: Decodable, Sendable {
    public var file: String
    public var headerCount: Int?
    public var headerVersion: Int?
    public var fileSize: Int?
    public var blobs: [Blob]?
    public var note: String?
  }

  public struct Blob: Decodable, Sendable {
    public var metadataOffset: Int
    public var dtype: String
    public var dtypeCode: Int?
    public var count: Int?
    public var sizeInBytes: Int?
    public var dataOffset: Int?
    public var paddingBits: Int?
    public var valuesFile: String?
    public var valuesDtype: String?
  }

  /// One test case: a chain of constexpr ops and the tensors they read and produce.
  public struct Case: Decodable, Sendable {
    public var name: String
    /// Folder of the case's tensor files, relative to the manifest's directory.
    public var dir: String
    /// "iOS16" or "iOS18" (iOS17 behaves as iOS16).
    public var opset: String
    public var specVersion: Int?
    public var description: String?
    public var tags: [String]?
    /// True for a case coremltools rejected: some step must throw.
    public var expectedError: Bool
    public var error: CaseError?
    public var steps: [Step]
    public var tensors: [TensorSpec]
    public var finalOutputs: [String]?
    /// `weight.bin` in the case folder, for inputs stored as blobs.
    public var weightFile: String?

    /// Whether the case uses the iOS16 forms of `lut_to_dense` / `sparse_to_dense`
    /// (opsets iOS16 and iOS17, MIL spec versions 7 and 8).
    public var usesIOS16Ops: Bool {
      if opset.hasPrefix("iOS"), let version = Int(opset.dropFirst(3)) { return version < 18 }
      if let specVersion { return specVersion < 9 }
      return false
    }

    public func tensor(_ id: String) -> TensorSpec? { tensors.first { $0.id == id } }
  }

  /// What coremltools raised for an invalid case.
  public struct CaseError: Decodable, Sendable {
    public var stage: String?
    public var exception: String?
    public var message: String?
    public var reason: String?
  }

  /// One op application. Scalar arguments (`axis`, `vector_axis`, `output_dtype`) are fields;
  /// tensor operands are `inputs`, bound by parameter name to tensor ids.
  public struct Step: Decodable, Sendable {
    public var op: String
    public var inputs: [StepInput]
    /// Tensor ids of the op's outputs, in the op's output order (empty for invalid cases).
    public var outputs: [String]
    public var axis: Int?
    public var vectorAxis: Int?
    public var outputDtype: String?
    public var nbits: Int?
    public var vectorSize: Int?
    public var blockSizes: [Int]?

    public func input(_ param: String) -> String? { inputs.first { $0.param == param }?.tensor }
  }

  public struct StepInput: Decodable, Sendable {
    public var param: String
    public var tensor: String
  }

  /// A tensor of a case: an operand file, or an expected intermediate / final output.
  public struct TensorSpec: Decodable, Sendable {
    public var id: String
    /// "input", "intermediate" (expected output of a non-final step) or "expected".
    public var role: String
    /// File in the case folder with the Core ML encoding (sub-byte dtypes packed).
    public var file: String
    public var dtype: String
    public var shape: [Int]
    public var count: Int?
    public var bitsPerElement: Int?
    public var packed: Bool?
    public var nbytes: Int?
    public var paddingBits: Int?
    public var unpackedFile: String?
    /// "blob" or "immediate" for inputs of valid cases.
    public var storage: String?
    /// Metadata offset of the blob in the case's `weight.bin`.
    public var blobOffset: Int?

    /// Whether the runner compares a computed tensor with this one.
    public var isCompared: Bool { role == "intermediate" || role == "expected" }
  }

  /// Loads `manifest.json` from a vector directory.
  /// - Throws: Foundation's file and decoding errors.
  public static func load(directory: String) throws -> VectorManifest {
    let url = URL(fileURLWithPath: directory).appendingPathComponent("manifest.json")
    guard FileManager.default.fileExists(atPath: url.path) else {
      throw VectorSuiteError.io("no manifest.json in \(directory)")
    }
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(VectorManifest.self, from: Data(contentsOf: url))
  }
}
