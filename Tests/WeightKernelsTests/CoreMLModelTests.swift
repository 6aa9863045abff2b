import Foundation
import Testing
import WeightKernels

/// The model reader on the packages coremltools 9.0 saved (Fixtures/models, made by
/// tools/make_model_fixtures.py): the inventory as the files hold it, every weight bit for bit as
/// coremltools decompresses it, fused GEMV equal to dense GEMV of those weights, and damaged
/// copies rejected with a typed error.
@Suite("Core ML models")
struct CoreMLModelTests {
  static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/models")

  /// Every fixture package's name (NAME.mlpackage with NAME.expected beside it).
  static let fixtures: [String] = {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    return names.filter { $0.hasSuffix(".mlpackage") }.map { String($0.dropLast(".mlpackage".count)) }.sorted()
  }()

  /// inventory.json, written by the generator from the saved files.
  struct Inventory: Decodable {
    struct Model: Decodable {
      let name: String
      let weightCount: Int
      let blobBytes: Int
      let denseFp16Bytes: Int
    }
    struct Weight: Decodable {
      let name: String
      let file: String
      let consumer: String
      let consumerInput: String
      let opChain: String
      let shape: [Int]
      let dtype: String
      let blobBytes: Int
      let denseFp16Bytes: Int
    }
    let model: Model
    let weights: [Weight]
  }

  static func package(_ name: String) -> URL { directory.appendingPathComponent(name + ".mlpackage") }

  static func inventory(_ name: String) throws -> Inventory {
    let data = try Data(contentsOf: directory.appendingPathComponent(name + ".expected/inventory.json"))
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(Inventory.self, from: data)
  }

  static func expectedBytes(_ name: String, _ weight: Inventory.Weight) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: directory.appendingPathComponent(name + ".expected/" + weight.file)))
  }

  @Test("the generator's fixtures are all there")
  func fixturesPresent() {
    #expect(CoreMLModelTests.fixtures.count >= 13, "\(CoreMLModelTests.fixtures)")
  }

  @Test("inventory matches the file", arguments: fixtures)
  func inventoryMatches(name: String) throws {
    let model = try CoreMLModel(path: CoreMLModelTests.package(name).path)
    let expected = try CoreMLModelTests.inventory(name)
    #expect(model.weights.map(\.name).sorted() == expected.weights.map(\.name).sorted(), "\(name)")
    for e in expected.weights {
      guard let w = model.weight(named: e.name) else { continue }
      #expect(w.consumer == e.consumer, "\(name) \(e.name)")
      #expect(w.consumerInput == e.consumerInput, "\(name) \(e.name)")
      #expect(w.opChain == e.opChain, "\(name) \(e.name)")
      #expect(w.shape == e.shape, "\(name) \(e.name)")
      #expect(w.dtype.description == e.dtype, "\(name) \(e.name)")
      #expect(w.blobBytes == e.blobBytes, "\(name) \(e.name)")
      #expect(w.denseFP16Bytes == e.denseFp16Bytes, "\(name) \(e.name)")
      #expect(!w.scheme.isEmpty, "\(name) \(e.name)")
      // Every matrix opens as a fused matrix but vector LUTs, which only decompress (the iOS16
      // affine_dequantize weights of the fixtures have integer zero points: shift-scale matrices).
      let fusable = w.shape.count >= 2 && w.vectorSize <= 1
      #expect(w.hasMatrix == fusable, "\(name) \(e.name) \(w.scheme)")
    }
    #expect(model.blobBytes == expected.model.blobBytes, "\(name)")
    #expect(model.denseFP16Bytes == expected.model.denseFp16Bytes, "\(name)")
  }

  @Test("every weight decompresses as coremltools does", arguments: fixtures)
  func decompressionMatchesCoremltools(name: String) throws {
    let model = try CoreMLModel(path: CoreMLModelTests.package(name).path)
    for e in try CoreMLModelTests.inventory(name).weights {
      let w = try #require(model.weight(named: e.name), "\(name) \(e.name)")
      let dense = try model.decompress(w)
      #expect(dense.shape == e.shape && dense.dtype == w.dtype, "\(name) \(e.name)")
      #expect(dense.bytes == (try CoreMLModelTests.expectedBytes(name, e)), "\(name) \(e.name): bytes differ")
    }
  }

  @Test("fused GEMV of every matrix equals dense GEMV of coremltools' weights", arguments: fixtures)
  func fusedEqualsDense(name: String) throws {
    let model = try CoreMLModel(path: CoreMLModelTests.package(name).path)
    var rng = SplitMix64(seed: 0x11_0de1 ^ UInt64(name.utf8.reduce(0) { $0 &* 31 &+ Int($1) }.magnitude))
    for e in try CoreMLModelTests.inventory(name).weights {
      let w = try #require(model.weight(named: e.name))
      guard w.hasMatrix else { continue }
      let matrix = try model.matrix(for: w)
      let rows = e.shape[0]
      let cols = e.shape.dropFirst().reduce(1, *)
      #expect(matrix.rows == rows && matrix.cols == cols, "\(name) \(e.name)")
      let weights = try Tensor(dtype: w.dtype, shape: [rows, cols], bytes: try CoreMLModelTests.expectedBytes(name, e))
      #expect(try matrix.decompress() == weights, "\(name) \(e.name): matrix decompression")
      let dense = try DenseMatrix(weights: weights)
      for batch in [1, 3] {
        let values = (0..<(batch * cols)).map { _ in Float(Double(rng.next() >> 11) * 0x1p-53 * 2 - 1) }
        let x = try Tensor(floats: values, shape: batch == 1 ? [cols] : [batch, cols])
        let expected = try dense.gemv(x)
        for threads in [1, 2] {
          #expect(
            try matrix.gemv(x, threads: threads) == expected,
            "\(name) \(e.name): fused differs from dense (batch \(batch), threads \(threads))")
        }
      }
    }
  }

  @Test("a matrix keeps its model open")
  func matrixOutlivesModel() throws {
    let name = "pal4_tensor"
    let e = try #require(try CoreMLModelTests.inventory(name).weights.first { $0.shape.count == 2 })
    let matrix = try {
      let model = try CoreMLModel(path: CoreMLModelTests.package(name).path)
      return try model.matrix(for: try #require(model.weight(named: e.name)))
    }()
    #expect(try matrix.decompress().bytes == (try CoreMLModelTests.expectedBytes(name, e)))
  }

  @Test("a weight with no fused kernel says so", arguments: ["pal2_vector2"])
  func noFusedKernel(name: String) throws {
    let model = try CoreMLModel(path: CoreMLModelTests.package(name).path)
    let unfused = model.weights.filter { $0.shape.count >= 2 && !$0.hasMatrix }
    #expect(!unfused.isEmpty)
    for w in unfused {
      #expect(performing: { try model.matrix(for: w) }, throws: { error in
        (error as? WeightKernelsError)?.kind == .unsupported
      })
    }
  }

  // MARK: - Damaged packages

  /// One way of damaging a copy of a package, and the error kind it must produce.
  struct Damage: CustomTestStringConvertible, Sendable {
    let name: String
    let kind: WeightKernelsError.Kind
    /// What the message must name.
    let part: String
    let apply: @Sendable (URL) throws -> Void
    var testDescription: String { name }
  }

  static let program = "Data/com.apple.CoreML/model.mlmodel"
  static let weightFile = "Data/com.apple.CoreML/weights/weight.bin"

  /// Metadata offsets of the blobs of a weight.bin (FORMATS.md §8.2).
  static func blobOffsets(_ bytes: [UInt8]) -> [Int] {
    func u64(_ at: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[at + $1]) << (8 * $1) } }
    let count = Int(bytes[0]) | Int(bytes[1]) << 8 | Int(bytes[2]) << 16 | Int(bytes[3]) << 24
    var offsets: [Int] = []
    var offset = 64
    for _ in 0..<count {
      offsets.append(offset)
      offset = (u64(offset + 16) + u64(offset + 8) + 63) / 64 * 64
    }
    return offsets
  }

  static func rewrite(_ url: URL, _ change: (inout [UInt8]) -> Void) throws {
    var bytes = [UInt8](try Data(contentsOf: url))
    change(&bytes)
    try Data(bytes).write(to: url)
  }

  static let damages: [Damage] = [
    Damage(name: "weight.bin truncated inside the last blob", kind: .invalidModel, part: "weight.bin") { dir in
      try rewrite(dir.appendingPathComponent(weightFile)) { $0.removeLast(7) }
    },
    Damage(name: "weight.bin ends before the last blob's metadata (offset past the end)", kind: .invalidModel, part: "weight.bin") { dir in
      try rewrite(dir.appendingPathComponent(weightFile)) { $0.removeSubrange(blobOffsets($0).last!...) }
    },
    Damage(name: "a flipped sentinel byte", kind: .invalidModel, part: "sentinel") { dir in
      try rewrite(dir.appendingPathComponent(weightFile)) { $0[blobOffsets($0)[1]] ^= 0x40 }
    },
    Damage(name: "model.mlmodel truncated", kind: .invalidModel, part: "model.mlmodel") { dir in
      try rewrite(dir.appendingPathComponent(program)) { $0.removeLast($0.count / 3) }
    },
    Damage(name: "the manifest's root model item missing", kind: .invalidModel, part: "Manifest.json") { dir in
      let url = dir.appendingPathComponent("Manifest.json")
      var manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
      var items = manifest["itemInfoEntries"] as! [String: Any]
      items.removeValue(forKey: manifest["rootModelIdentifier"] as! String)
      manifest["itemInfoEntries"] = items
      try JSONSerialization.data(withJSONObject: manifest).write(to: url)
    },
    // An absent weight.bin reads as empty (legal for a program without blobs), so its blobs are
    // past the end.
    Damage(name: "weight.bin missing", kind: .invalidModel, part: "weight.bin") { dir in
      try FileManager.default.removeItem(at: dir.appendingPathComponent(weightFile))
    },
    Damage(name: "model.mlmodel missing", kind: .io, part: "model.mlmodel") { dir in
      try FileManager.default.removeItem(at: dir.appendingPathComponent(program))
    },
  ]

  @Test("a damaged package gives a typed error promptly", arguments: damages)
  func damagedPackageIsRejected(damage: Damage) throws {
    for name in ["pal4_group16", "prune50_int8", "ios16_mixed"] {
      let copy = FileManager.default.temporaryDirectory
        .appendingPathComponent("wk-model-\(UUID().uuidString)-\(name).mlpackage")
      try? FileManager.default.removeItem(at: copy)
      try FileManager.default.copyItem(at: CoreMLModelTests.package(name), to: copy)
      defer { try? FileManager.default.removeItem(at: copy) }
      try damage.apply(copy)

      let start = ContinuousClock.now
      do {
        // The reader may find the damage on open or on first use of a weight; either is typed.
        let model = try CoreMLModel(path: copy.path)
        for w in model.weights { _ = try model.decompress(w) }
        Issue.record("\(name), \(damage.name): no error")
      } catch let error as WeightKernelsError {
        #expect(error.kind == damage.kind, "\(name), \(damage.name): \(error)")
        #expect(error.message.contains(damage.part), "\(name), \(damage.name): \(error)")
        print("\(name), \(damage.name): \(error)")
      }
      #expect(ContinuousClock.now - start < .seconds(2), "\(name), \(damage.name): not prompt")
    }
  }
}
