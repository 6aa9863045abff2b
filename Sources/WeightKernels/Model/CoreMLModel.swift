import CKernels

/// An opened Core ML ML program (`wk_model`): the package's weight file stays memory-mapped, and
/// matrices of its weights point into that mapping, so it is freed only after the last model
/// value and the last such matrix. Opaque: only the library uses it.
final class ModelHandle: @unchecked Sendable {
  let pointer: OpaquePointer
  /// Memory a model opened from bytes borrows (`wk_model_open_memory`); freed after the model.
  private let borrowed: [UnsafeMutableRawBufferPointer]

  init(borrowing borrowed: [UnsafeMutableRawBufferPointer] = [], _ open: (inout OpaquePointer?) throws -> Void) throws {
    var model: OpaquePointer?
    do {
      try open(&model)
    } catch {
      borrowed.forEach { $0.deallocate() }
      throw error
    }
    guard let model else {
      borrowed.forEach { $0.deallocate() }
      throw WeightKernelsError.outOfMemory("model: open returned no model")
    }
    self.pointer = model
    self.borrowed = borrowed
  }

  deinit {
    wk_model_close(pointer)
    borrowed.forEach { $0.deallocate() }
  }
}

/// One weight of a model: a `const`, or the output of a chain of constexpr ops, as the program
/// stores it, with its compression and byte accounting (FORMATS.md §10).
public struct ModelWeight: Sendable, Equatable {
  /// Position in `CoreMLModel.weights` (the C index).
  public let index: Int
  /// The chain's final output name (what its consumer binds).
  public let name: String
  /// The MIL function holding it (`main` for single-function models).
  public let function: String
  /// Op type of its first consumer ("linear", "matmul", "conv"...), "" if none.
  public let consumer: String
  /// The consumer's parameter it binds ("weight", "y", "bias"...).
  public let consumerInput: String
  /// Ops from storage to output joined by "->" ("const" for an uncompressed weight).
  public let opChain: String
  /// Human-readable compression ("lut n=4 per-tensor", "int8 per-channel"...).
  public let scheme: String
  /// dtype of the dense weight.
  public let dtype: DType
  public let shape: [Int]
  /// Index or quantized bits, 0 if none.
  public let nbits: Int
  /// LUT vector size (1: scalar palettization).
  public let vectorSize: Int
  /// Whether a sparse mask is part of the chain, and its non-zeros.
  public let isSparse: Bool
  public let nonzeros: Int
  /// Payload bytes of the distinct `weight.bin` blobs the chain reads.
  public let blobBytes: Int
  /// Bytes of operands stored inline in the program.
  public let immediateBytes: Int
  /// Element count · 2: the weight in fp16.
  public let denseFP16Bytes: Int
  /// Whether `CoreMLModel.matrix(for:)` can make a fused matrix of it (rank ≥ 2 and a format with
  /// a fused kernel; vector-palettized weights only decompress).
  public let hasMatrix: Bool

  /// Bytes stored for this weight: blobs plus inline operands.
  public var storedBytes: Int { blobBytes + immediateBytes }
  /// Dense fp16 bytes over stored bytes (1 for an fp16 `const`).
  public var ratio: Double { storedBytes > 0 ? Double(denseFP16Bytes) / Double(storedBytes) : 0 }
  public var count: Int { shape.reduce(1, *) }
}

/// A fused matrix over one weight of a model, the library's one matrix API: GEMV with threads and
/// batches, decompression. It points into the model's mapped weight file and keeps the model open.
public struct ModelWeightMatrix: WeightMatrix {
  public let handle: MatrixHandle
  /// The weight it views ([shape0, product of the other extents]).
  public let weight: ModelWeight
}

/// A Core ML ML program read from an `.mlpackage` (Manifest.json → model.mlmodel and the
/// memory-mapped weight.bin; FORMATS.md §8): its weights, their compression and sizes, each as a
/// fused matrix or decompressed exactly as coremltools decompresses it. A value type: copies share
/// one opened model. Immutable; safe to share between threads.
public struct CoreMLModel: Sendable {
  let handle: ModelHandle
  /// Every weight in program order.
  public let weights: [ModelWeight]

  /// Opens a package directory. Takes a path, not a `URL`, so that the library needs no
  /// Foundation (pass `url.path`).
  /// - Throws: `.io` naming the file that cannot be opened or read; `.invalidModel` naming the
  ///   weight or file part at fault (manifest item, program field, blob offset, sentinel...).
  /// - Complexity: O(program size + number of weights); the weight file is mapped, not read.
  public init(path: String) throws {
    let handle = try ModelHandle { model in
      try CCall.run(target: nil) { wk_model_open(path, &model, $0) }
    }
    try self.init(handle)
  }

  /// Opens a model from the bytes of `model.mlmodel` and `weight.bin` (empty if none), copied
  /// once into memory the model owns: e.g. to hold several independent copies of one model.
  /// - Throws: as `init(path:)`, without `.io`.
  public init(program: [UInt8], weights: [UInt8]) throws {
    func copy(_ bytes: [UInt8]) -> UnsafeMutableRawBufferPointer {
      let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
      bytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
      return buffer
    }
    let programCopy = copy(program)
    let weightsCopy = copy(weights)
    let handle = try ModelHandle(borrowing: [programCopy, weightsCopy]) { model in
      try CCall.run(target: nil) {
        wk_model_open_memory(
          programCopy.baseAddress, program.count, weights.isEmpty ? nil : weightsCopy.baseAddress, weights.count,
          &model, $0)
      }
    }
    try self.init(handle)
  }

  private init(_ handle: ModelHandle) throws {
    self.handle = handle
    weights = try (0..<wk_model_weight_count(handle.pointer)).map { index in
      var info = wk_model_weight_info()
      try CCall.run(target: nil) { _ in wk_model_get_weight(handle.pointer, index, &info) }
      return try ModelWeight(index: index, info: &info)
    }
  }

  /// Payload bytes of the distinct weight.bin blobs the weights read: a blob that several weights
  /// share (the functions of a multifunction model) counts once.
  public var blobBytes: Int { Int(wk_model_blob_bytes(handle.pointer)) }
  /// Bytes of the weights' inline operands.
  public var immediateBytes: Int { weights.reduce(0) { $0 + $1.immediateBytes } }
  /// What the model stores of its weights: distinct blobs plus inline operands.
  public var storedBytes: Int { blobBytes + immediateBytes }
  /// Every weight in fp16.
  public var denseFP16Bytes: Int { weights.reduce(0) { $0 + $1.denseFP16Bytes } }
  /// Dense fp16 bytes over stored bytes, for the whole model.
  public var ratio: Double { storedBytes > 0 ? Double(denseFP16Bytes) / Double(storedBytes) : 0 }

  /// The weight named `name` (the chain's final output name), if any.
  public func weight(named name: String) -> ModelWeight? { weights.first { $0.name == name } }

  /// A fused matrix over the weight (rank-4 conv [Cout, Cin, kh, kw] as [Cout, Cin·kh·kw]); no copy
  /// of the weight data where the format allows. Keeps this model's mapping alive.
  /// - Throws: `.unsupported` when the weight has no fused kernel (`hasMatrix` false: rank 1, vector
  ///   palettization); `.invalidArgument` for a weight of another model; `.invalidModel` when its
  ///   operands are inconsistent.
  public func matrix(for weight: ModelWeight) throws -> ModelWeightMatrix {
    try checkOwned(weight)
    let model = handle
    let matrix = try MatrixHandle(borrowing: [], keepingAlive: model) { matrix in
      _ = try CCall.run(target: nil) { wk_model_weight_matrix(model.pointer, weight.index, &matrix, $0) }
    }
    return ModelWeightMatrix(handle: matrix, weight: weight)
  }

  /// The dense weight in its dtype and shape, row-major, bit for bit as coremltools decompresses it.
  /// - Throws: `.invalidArgument` for a weight of another model; `.invalidModel` when its operands
  ///   are inconsistent.
  /// - Complexity: O(elements).
  public func decompress(_ weight: ModelWeight, target: SIMDTarget? = nil) throws -> Tensor {
    try checkOwned(weight)
    var bytes = [UInt8](repeating: 0, count: Tensor.byteCount(dtype: weight.dtype, count: weight.count))
    try bytes.withUnsafeMutableBytes { raw in
      var buffer = wk_buffer(data: raw.baseAddress, nbytes: raw.count)
      _ = try CCall.run(target: target) { wk_model_weight_decompress(handle.pointer, weight.index, &buffer, $0) }
    }
    return try Tensor(dtype: weight.dtype, shape: weight.shape, bytes: bytes)
  }

  private func checkOwned(_ weight: ModelWeight) throws {
    guard weight.index < weights.count, weights[weight.index] == weight else {
      throw WeightKernelsError.invalidArgument("weight '\(weight.name)': not a weight of this model")
    }
  }
}

extension ModelWeight {
  init(index: Int, info: inout wk_model_weight_info) throws {
    func string(_ pointer: UnsafePointer<CChar>?) -> String { pointer.map { String(cString: $0) } ?? "" }
    self.index = index
    name = string(info.name)
    function = string(info.function)
    consumer = string(info.consumer_op)
    consumerInput = string(info.consumer_input)
    opChain = string(info.op_chain)
    scheme = string(info.scheme)
    guard let dtype = DType(rawValue: info.dtype) else {
      throw WeightKernelsError.invalidModel("weight '\(name)': dtype code \(info.dtype) has no Swift type")
    }
    self.dtype = dtype
    let rank = Int(info.rank)
    shape = withUnsafeBytes(of: &info.shape) { raw in
      (0..<rank).map { Int(raw.load(fromByteOffset: $0 * 8, as: Int64.self)) }
    }
    nbits = Int(info.nbits)
    vectorSize = Int(info.vector_size)
    isSparse = info.sparse != 0
    nonzeros = Int(info.nonzeros)
    blobBytes = Int(info.blob_bytes)
    immediateBytes = Int(info.immediate_bytes)
    denseFP16Bytes = Int(info.dense_fp16_bytes)
    hasMatrix = info.matrix != 0
  }
}
