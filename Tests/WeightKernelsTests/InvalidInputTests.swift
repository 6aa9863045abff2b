import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// Bad inputs get a clear error, never a crash: for generated invalid cases (one rule broken at a
// time) the library, on every supported target, and the reference both throw, with the same
// WeightKernelsError.Kind and a non-empty message.

/// One invalid call, run on the library (a target) and on the reference.
struct InvalidCase: CustomStringConvertible {
  let name: String
  let expected: WeightKernelsError.Kind
  let library: (SIMDTarget) throws -> Tensor
  let reference: () throws -> Tensor
  var description: String { name }
}

/// A tensor of `dtype` and `shape` whose bytes are zero (values irrelevant to validation).
private func zeros(_ dtype: DType, _ shape: [Int]) throws -> Tensor {
  try Tensor(dtype: dtype, shape: shape, bytes: [UInt8](repeating: 0, count: Tensor.byteCount(dtype: dtype, count: shape.reduce(1, *))))
}

enum InvalidCases {
  static let nonIndexTypes: [DType] = [.int8, .int4, .fp16, .fp32, .int16, .uint16, .int32, .uint32]
  static let nonLUTTypes: [DType] = [.int16, .uint16, .int32, .uint32, .int4, .uint4, .uint1, .uint2, .uint3, .uint6]
  static let nonShiftScaleDataTypes: [DType] = [.uint1, .uint2, .uint3, .uint6, .int16, .uint16, .int32, .uint32]
  static let nonScaleTypes: [DType] = [.int8, .uint8, .int4, .uint4, .int16, .int32, .uint32]

  static func lut18(_ r: inout SplitMix64) throws -> InvalidCase {
    let base = try LUT18Case.make(&r, maxOutput: 600)
    var indices = base.indices
    var lut = base.lut
    var axis = base.vectorAxis
    let rank = indices.rank
    let bits = indices.dtype.bits
    let groups = Array(lut.shape[0..<rank])
    let vectorSize = lut.shape[rank + 1]
    let name: String
    let expected: WeightKernelsError.Kind
    switch r.int(0..<10) {
    case 0:
      let dtype = r.pick(nonIndexTypes)
      indices = try zeros(dtype, indices.shape)
      (name, expected) = ("indices dtype \(dtype)", .invalidDType)
    case 1:
      let dtype = r.pick(nonLUTTypes)
      lut = try zeros(dtype, lut.shape)
      (name, expected) = ("lut dtype \(dtype)", .invalidDType)
    case 2:
      let shape = r.chance(0.5) && lut.rank < Tensor.maxRank ? [1] + lut.shape : Array(lut.shape.dropFirst())
      lut = try zeros(lut.dtype, shape)
      (name, expected) = ("lut rank \(shape.count) for indices rank \(rank)", .invalidShape)
    case 3:
      // A group count that does not divide its extent (or 0 groups).
      let d = r.int(0..<rank)
      let extent = indices.shape[d]
      let bad = r.pick([0, extent + 1, extent * 2] + (2..<max(2, extent)).filter { extent % $0 != 0 })
      var g = groups
      g[d] = bad
      lut = try zeros(lut.dtype, g + [1 << bits, vectorSize])
      (name, expected) = ("\(bad) groups on axis \(d) over extent \(extent)", .invalidShape)
    case 4:
      let entries = r.pick([2 << bits, max(1, 1 << (bits - 1)), (1 << bits) + 1, (1 << bits) - 1, 3, 32].filter { $0 != 1 << bits && $0 > 0 })
      lut = try zeros(lut.dtype, groups + [entries, vectorSize])
      (name, expected) = ("\(entries) entries for \(indices.dtype) indices", .invalidShape)
    case 5:
      lut = try zeros(lut.dtype, groups + [1 << bits, r.int(2...4)])
      axis = nil
      (name, expected) = ("vector size \(lut.shape[rank + 1]) without vector_axis", .invalidArgument)
    case 6:
      let bad = r.pick([rank, -rank - 1, rank + 7, -100, Int(Int32.max) + 5, Int(Int32.min) - 1])
      axis = bad
      (name, expected) = ("vector_axis \(bad) for rank \(rank)", .invalidArgument)
    case 7:
      lut = try zeros(lut.dtype, groups + [1 << bits, 0])
      (name, expected) = ("vector size 0", .invalidShape)
    case 8:
      indices = try zeros(indices.dtype, [])
      lut = try zeros(lut.dtype, [1 << bits, 1])
      axis = nil
      (name, expected) = ("scalar indices", .invalidShape)
    default:
      // One index bit more or less than the LUT needs.
      let other = r.pick(DType.indexBits.filter { $0 != bits })
      indices = try zeros(DType.indexType(bits: other)!, indices.shape)
      (name, expected) = ("uint\(other) indices with \(1 << bits) entries", .invalidShape)
    }
    let (i, l, a) = (indices, lut, axis)
    return InvalidCase(
      name: "lut_to_dense iOS18 \(name): indices \(i.dtype)\(i.shape) lut \(l.dtype)\(l.shape) axis \(String(describing: a))",
      expected: expected,
      library: { try CoreMLOps.lutToDenseIOS18(indices: i, lut: l, vectorAxis: a, target: $0) },
      reference: { try Reference.lutToDenseIOS18(indices: i, lut: l, vectorAxis: a) })
  }

  static func lut16(_ r: inout SplitMix64) throws -> InvalidCase {
    var entries = r.pick([2, 4, 16, 64, 256])
    let bits = entries.trailingZeroBitCount
    var shape = r.shape(rank: r.int(1...3), maxCount: 300)
    let count = shape.reduce(1, *)
    var indexBytes = (bits * count + 7) / 8
    var indexType = DType.uint8
    var lutType = r.pick(DType.lutValueTypes)
    var shapeType = DType.uint32
    var indexShape: [Int]?
    var lutShape: [Int]?
    var shapeShape: [Int]?
    let name: String
    let expected: WeightKernelsError.Kind
    switch r.int(0..<10) {
    case 9:
      shape = [Int(UInt32.max), 1 << 31, 3].shuffled(using: &r)
      (name, expected) = ("element count overflow", .invalidShape)
    case 0:
      indexType = r.pick([.int8, .uint4, .uint16, .fp16, .uint1])
      (name, expected) = ("indices dtype \(indexType)", .invalidDType)
    case 1:
      lutType = r.pick(nonLUTTypes)
      (name, expected) = ("lut dtype \(lutType)", .invalidDType)
    case 2:
      shapeType = r.pick([.int32, .uint16, .int8, .uint8, .fp32])
      (name, expected) = ("shape dtype \(shapeType)", .invalidDType)
    case 3:
      indexShape = [1, indexBytes]
      (name, expected) = ("indices rank 2", .invalidShape)
    case 4:
      lutShape = [1, entries]
      (name, expected) = ("lut rank 2", .invalidShape)
    case 5:
      shapeShape = [1, shape.count]
      (name, expected) = ("shape rank 2", .invalidShape)
    case 6:
      entries = r.pick([1, 3, 5, 8, 32, 128, 512])
      (name, expected) = ("\(entries) LUT entries", .invalidShape)
    case 7:
      indexBytes += r.chance(0.5) || indexBytes == 0 ? 1 : -1
      (name, expected) = ("\(indexBytes) index bytes for \(count) \(bits)-bit indices", .invalidShape)
    default:
      shape = [1, 1, 1, 1, 1, 1, 1, 1, 1]
      indexBytes = (bits * 1 + 7) / 8
      (name, expected) = ("output rank 9", .invalidShape)
    }
    let indices = try zeros(indexType, indexShape ?? [indexType.bits == 8 ? indexBytes : indexBytes * 8 / indexType.bits])
    let lut = try zeros(lutType, lutShape ?? [entries])
    let shapeTensor = try Tensor(
      dtype: shapeType, shape: shapeShape ?? [shape.count],
      bytes: shape.flatMap { e in (0..<(shapeType.bits / 8)).map { UInt8(truncatingIfNeeded: e >> (8 * $0)) } })
    return InvalidCase(
      name: "lut_to_dense iOS16 \(name): indices \(indices.dtype)\(indices.shape) lut \(lut.dtype)\(lut.shape) shape \(shapeTensor.dtype)\(shapeTensor.shape)=\(shape)",
      expected: expected,
      library: { try CoreMLOps.lutToDenseIOS16(indices: indices, lut: lut, shape: shapeTensor, target: $0) },
      reference: { try Reference.lutToDenseIOS16(indices: indices, lut: lut, shape: shapeTensor) })
  }

  static func shiftScale(_ r: inout SplitMix64) throws -> InvalidCase {
    let rank = r.int(1...3)
    let shape = r.shape(rank: rank, maxCount: 300)
    var dataType = r.pick([DType.int4, .uint4, .int8, .uint8, .fp16, .fp32])
    var scaleType = r.pick([DType.fp16, .fp32])
    var dataShape = shape
    var scaleShape = shape.map { r.divisor(of: $0) }
    var offset: (DType, [Int])? = r.chance(0.5) ? (dataType.isFloatingPoint ? .fp16 : dataType, scaleShape) : nil
    let name: String
    let expected: WeightKernelsError.Kind
    switch r.int(0..<9) {
    case 0:
      dataType = r.pick(nonShiftScaleDataTypes)
      offset = nil
      (name, expected) = ("data dtype \(dataType)", .invalidDType)
    case 1:
      scaleType = r.pick(nonScaleTypes)
      offset = nil
      (name, expected) = ("scale dtype \(scaleType)", .invalidDType)
    case 2:
      scaleShape = r.chance(0.5) ? [1] + scaleShape : Array(scaleShape.dropFirst())
      offset = nil
      (name, expected) = ("scale rank \(scaleShape.count), data rank \(rank)", .invalidShape)
    case 3:
      let d = r.int(0..<rank)
      scaleShape[d] = r.pick([0, shape[d] + 1, shape[d] * 3] + (2..<max(2, shape[d])).filter { shape[d] % $0 != 0 })
      offset = nil
      (name, expected) = ("scale extent \(scaleShape[d]) over \(shape[d])", .invalidShape)
    case 4:
      var other = scaleShape
      let d = r.int(0..<rank)
      other[d] += 1
      offset = (dataType.isFloatingPoint ? scaleType : dataType, r.chance(0.8) ? other : [1] + scaleShape)
      (name, expected) = ("offset shape \(offset!.1), scale \(scaleShape)", .invalidShape)
    case 5:
      // An integer offset of another dtype than the data.
      let candidates = [DType.int4, .uint4, .int8, .uint8].filter { $0 != dataType }
      offset = (r.pick(candidates), scaleShape)
      (name, expected) = ("\(offset!.0) offset for \(dataType) data", .invalidDType)
    case 6:
      offset = (r.pick([.int16, .uint1, .int32, .uint2]), scaleShape)
      (name, expected) = ("offset dtype \(offset!.0)", .invalidDType)
    case 7:
      scaleType = .fp16
      offset = (.fp32, scaleShape)
      (name, expected) = ("fp32 offset with fp16 scale", .unsupported)
    default:
      dataShape = []
      scaleShape = []
      offset = nil
      (name, expected) = ("scalar data", .invalidShape)
    }
    let data = try r.tensor(dataType, shape: dataShape, .moderate)
    let scale = try zeros(scaleType, scaleShape)
    let off = try offset.map { try zeros($0.0, $0.1) }
    return InvalidCase(
      name: "blockwise_shift_scale \(name): data \(data.dtype)\(data.shape) scale \(scale.dtype)\(scale.shape) offset \(off.map { "\($0.dtype)\($0.shape)" } ?? "nil")",
      expected: expected,
      library: { try CoreMLOps.blockwiseShiftScale(data: data, scale: scale, offset: off, target: $0) },
      reference: { try Reference.blockwiseShiftScale(data: data, scale: scale, offset: off) })
  }

  static func cast(_ r: inout SplitMix64) throws -> InvalidCase {
    let shape = r.shape(rank: r.int(0...3), maxCount: 100)
    if r.chance(0.5) {
      let dtype = r.pick([DType.fp32, .int8, .uint8, .int16, .uint4])
      let source = try r.tensor(dtype, shape: shape, .moderate)
      return InvalidCase(
        name: "cast of \(dtype)\(shape)", expected: .invalidDType,
        library: { try CoreMLOps.cast(source, to: .fp32, target: $0) },
        reference: { try Reference.cast(source, to: .fp32) })
    }
    let output = r.pick([DType.fp16, .int8, .uint8, .int32, .uint32, .int4])
    let source = try r.floatTensor(.fp16, shape: shape, .moderate)
    return InvalidCase(
      name: "cast to \(output)", expected: .invalidArgument,
      library: { try CoreMLOps.cast(source, to: output, target: $0) },
      reference: { try Reference.cast(source, to: output) })
  }
}

@Suite("invalid inputs: library and reference agree on the error")
struct InvalidInputTests {
  static func check(_ c: InvalidCase, seed: UInt64, targets: [SIMDTarget]) {
    let reference = Outcome { try c.reference() }
    #expect(reference.kind == c.expected, "seed \(hex(seed)) \(c): reference \(reference), expected \(c.expected)")
    for target in targets {
      let library = Outcome { try c.library(target) }
      #expect(library.kind != nil && library.kind == reference.kind,
              "seed \(hex(seed)) target \(target) \(c): library \(library), reference \(reference)")
      if case .error(let e) = library { #expect(!e.message.isEmpty, "seed \(hex(seed)) \(c): empty message") }
    }
  }

  @Test("lut_to_dense iOS18", .shrinking(false))
  func lut18() async {
    await Property.check(count: 400) { seed in
      var r = SplitMix64(seed: seed)
      Self.check(try InvalidCases.lut18(&r), seed: seed, targets: SIMDTarget.supported)
    }
  }

  @Test("lut_to_dense iOS16", .shrinking(false))
  func lut16() async {
    await Property.check(count: 300) { seed in
      var r = SplitMix64(seed: seed)
      Self.check(try InvalidCases.lut16(&r), seed: seed, targets: SIMDTarget.supported)
    }
  }

  @Test("blockwise_shift_scale", .shrinking(false))
  func shiftScale() async {
    await Property.check(count: 400) { seed in
      var r = SplitMix64(seed: seed)
      Self.check(try InvalidCases.shiftScale(&r), seed: seed, targets: SIMDTarget.supported)
    }
  }

  @Test("cast", .shrinking(false))
  func cast() async {
    await Property.check(count: 100) { seed in
      var r = SplitMix64(seed: seed)
      Self.check(try InvalidCases.cast(&r), seed: seed, targets: SIMDTarget.supported)
    }
  }

  /// An empty iOS16 shape tensor is a scalar output (numpy reshapes to ()), as coremltools
  /// accepts it: library and reference agree on its one element.
  @Test("lut_to_dense iOS16: a shape of 0 axes is a scalar")
  func lut16EmptyShape() throws {
    for entries in [2, 4, 16, 64, 256] {
      let indices = try Tensor(integers: [1], dtype: .uint8, shape: [1])
      let lut = try Tensor(fp16Bits: (0..<entries).map { UInt16(0x3C00 + $0) }, shape: [entries])
      let shape = try Tensor(integers: [], dtype: .uint32, shape: [0])
      let reference = try Reference.lutToDenseIOS16(indices: indices, lut: lut, shape: shape)
      #expect(reference.shape == [], "P \(entries)")
      for target in SIMDTarget.supported {
        let library = try CoreMLOps.lutToDenseIOS16(indices: indices, lut: lut, shape: shape, target: target)
        #expect(library == reference, "P \(entries), shape [] on \(target)")
      }
    }
  }

  /// A batch of 0 rows is an empty product, not an error.
  @Test("gemv with batch 0")
  func gemvEmptyBatch() throws {
    let w = try Tensor(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
    let x = try Tensor(floats: [], shape: [0, 3])
    let reference = try Reference.gemv(weights: w, x: x, outputType: .fp32)
    #expect(reference.shape == [0, 2])
    for target in SIMDTarget.supported {
      #expect(try DenseMatrix(weights: w).gemv(x, target: target) == reference)
    }
  }

  /// GEMV operand errors: the same kind from Reference.gemv, DenseMatrix.gemv and
  /// PalettizedMatrix.gemv.
  @Test("gemv operands")
  func gemvOperands() throws {
    let w = try Tensor(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
    let dense = try DenseMatrix(weights: w)
    let palettized = try PalettizedMatrix(
      indices: Tensor(integers: [0, 1, 0, 1, 1, 0], dtype: .uint1, shape: [2, 3]),
      lut: Tensor(floats: [1, 2], shape: [1, 1, 2, 1]))
    let cases = try MatrixHarness.invalidOperands()
    for (name, x, y) in cases {
      let reference = Outcome { try Reference.gemv(weights: w, x: x, outputType: y) }
      #expect(reference.kind != nil, "\(name): reference \(reference)")
      for target in SIMDTarget.supported {
        let a = Outcome { try dense.gemv(x, outputType: y, target: target) }
        let b = Outcome { try palettized.gemv(x, outputType: y, target: target) }
        #expect(a.kind != nil && a.kind == reference.kind, "dense \(name) on \(target): library \(a), reference \(reference)")
        #expect(b.kind != nil && b.kind == reference.kind, "palettized \(name) on \(target): library \(b), reference \(reference)")
      }
    }
    // Weights that are not a float matrix.
    #expect(Outcome { try DenseMatrix(weights: Tensor(integers: [1, 2], dtype: .int8, shape: [1, 2])) }.kind == .invalidDType)
    #expect(Outcome { try DenseMatrix(weights: Tensor(floats: [1, 2], shape: [2])) }.kind == .invalidShape)
    #expect(Outcome { try DenseMatrix(weights: Tensor(floats: [], shape: [0, 2])) }.kind == .invalidShape)
  }

  /// `threads` outside 0…256 (WK_MAX_THREADS): `.invalidArgument` naming `threads`, from gemv,
  /// decompress and gemvW8A8 of every format, into a fresh or a caller-owned buffer that stays
  /// untouched; 0 and 256 are accepted with the threads-1 bits.
  @Test("threads outside 0…256 throw .invalidArgument naming threads")
  func threadsOutOfRange() throws {
    let w = try Tensor(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
    let x = try Tensor(floats: [1, -1, 2], shape: [3])
    let matrices: [(String, any WeightMatrix)] = [
      ("dense", try DenseMatrix(weights: w)),
      ("palettized", try PalettizedMatrix(
        indices: Tensor(integers: [0, 1, 0, 1, 1, 0], dtype: .uint1, shape: [2, 3]), lut: Tensor(floats: [1, 2], shape: [1, 1, 2, 1]))),
      ("sparse", try SparseMatrix(mask: Tensor(integers: [1, 0, 1, 1, 1, 0], dtype: .uint1, shape: [2, 3]), values: Tensor(floats: [1, 2, 3, 4], shape: [4]))),
      ("quantized", try QuantizedMatrix(data: Tensor(integers: [1, -2, 3, -4, 5, -6], dtype: .int8, shape: [2, 3]), scale: Tensor(floats: [1, 2], shape: [2, 1]))),
    ]
    func expectThreadsError<T>(_ what: String, _ body: () throws -> T) {
      let outcome = Outcome(body)
      #expect(outcome.kind == .invalidArgument, "\(what): \(outcome)")
      if case .error(let e) = outcome { #expect(e.message.contains("threads"), "\(what): message \(e.message) does not name threads") }
    }
    for (name, matrix) in matrices {
      for threads in [-1, -256, Int.min, 257, 1000, Int(UInt32.max), Int(UInt32.max) + 1, Int.max] {
        let what = "\(name) threads \(threads)"
        expectThreadsError("\(what) gemv") { try matrix.gemv(x, threads: threads) }
        expectThreadsError("\(what) decompress") { try matrix.decompress(threads: threads) }
        var y = [UInt8](repeating: 0xA5, count: 8)
        expectThreadsError("\(what) gemv into") { try y.withUnsafeMutableBytes { try matrix.gemv(x, into: $0, threads: threads) } }
        expectThreadsError("\(what) decompress into") {
          try y.withUnsafeMutableBytes { try matrix.decompress(into: $0, threads: threads) }
        }
        #expect(y.allSatisfy { $0 == 0xA5 }, "\(what): output written on failure")
        if let q = matrix as? QuantizedMatrix {
          expectThreadsError("\(what) gemvW8A8") { try q.gemvW8A8(x, threads: threads) }
          expectThreadsError("\(what) gemvW8A8 into") { try y.withUnsafeMutableBytes { try q.gemvW8A8(x, into: $0, threads: threads) } }
        }
      }
      for threads in [0, 256] {
        #expect(try matrix.gemv(x, threads: threads) == matrix.gemv(x), "\(name) threads \(threads) gemv")
        #expect(try matrix.decompress(threads: threads) == matrix.decompress(), "\(name) threads \(threads) decompress")
      }
    }
  }

  /// A palettized matrix whose chain breaks a rule: the library rejects it with the kind the
  /// reference chain raises for the same operands.
  @Test("palettized matrix chains")
  func matrixChains() throws {
    let indices = try Tensor(integers: Array(repeating: 1, count: 24), dtype: .uint2, shape: [4, 6])
    let lut = try Tensor(fp16Bits: [0x3C00, 0x4000, 0x4200, 0x4400], shape: [1, 1, 4, 1])
    let int8LUT = try Tensor(integers: [-3, 0, 2, 127], dtype: .int8, shape: [1, 1, 4, 1])
    typealias Chain = (name: String, lut: Tensor, lutScale: Tensor?, lutOffset: Tensor?, scale: Tensor?)
    let chains: [Chain] = [
      ("lut groups 4 over cols 6", try zeros(.fp16, [1, 4, 4, 1]), nil, nil, nil),
      ("lut groups 3 over rows 4", try zeros(.fp16, [3, 1, 4, 1]), nil, nil, nil),
      ("lut int32", try zeros(.int32, [1, 1, 4, 1]), nil, nil, nil),
      ("lut 8 entries for uint2", try zeros(.fp16, [1, 1, 8, 1]), nil, nil, nil),
      ("lut rank 3", try zeros(.fp16, [1, 4, 1]), nil, nil, nil),
      ("lut_scale 3 entries blocks", lut, try zeros(.fp16, [1, 1, 3, 1]), nil, nil),
      ("lut_scale rank 2", lut, try zeros(.fp16, [1, 1]), nil, nil),
      ("lut_scale int8", int8LUT, try zeros(.int8, [1, 1, 1, 1]), nil, nil),
      ("lut_offset uint8 for int8 lut", int8LUT, try zeros(.fp16, [1, 1, 1, 1]), try zeros(.uint8, [1, 1, 1, 1]), nil),
      ("lut_offset shape", int8LUT, try zeros(.fp16, [1, 1, 1, 1]), try zeros(.int8, [1, 1, 2, 1]), nil),
      ("lut_offset fp32 with fp16 lut_scale", int8LUT, try zeros(.fp16, [1, 1, 1, 1]), try zeros(.fp32, [1, 1, 1, 1]), nil),
      ("scale 4 blocks over cols 6", lut, nil, nil, try zeros(.fp16, [1, 4])),
      ("scale rank 3", lut, nil, nil, try zeros(.fp16, [1, 1, 1])),
      ("scale int8", lut, nil, nil, try zeros(.int8, [1, 1])),
    ]
    for c in chains {
      let reference = Outcome { () throws -> Tensor in
        var l = c.lut
        if let s = c.lutScale { l = try Reference.blockwiseShiftScale(data: l, scale: s, offset: c.lutOffset) }
        var dense = try Reference.lutToDenseIOS18(indices: indices, lut: l, vectorAxis: nil)
        if let s = c.scale { dense = try Reference.blockwiseShiftScale(data: dense, scale: s, offset: nil) }
        return dense
      }
      let library = Outcome { try PalettizedMatrix(indices: indices, lut: c.lut, lutScale: c.lutScale, lutOffset: c.lutOffset, scale: c.scale) }
      #expect(reference.kind != nil, "\(c.name): reference \(reference)")
      #expect(library.kind != nil && library.kind == reference.kind, "\(c.name): library \(library), reference \(reference)")
    }
    // Chains the library does not fuse: a clear .unsupported, never a crash.
    let vector = Outcome { try PalettizedMatrix(indices: indices, lut: zeros(.fp16, [1, 1, 4, 2])) }
    #expect(vector.kind == .unsupported, "vector LUT: \(vector)")
    let integer = Outcome { try PalettizedMatrix(indices: indices, lut: int8LUT) }
    #expect(integer.kind == .unsupported, "int8 LUT without scale: \(integer)")
    let offsetOnly = Outcome { try PalettizedMatrix(indices: indices, lut: int8LUT, lutOffset: zeros(.int8, [1, 1, 1, 1])) }
    #expect(offsetOnly.kind != nil, "lut_offset without lut_scale: \(offsetOnly)")
    let rank3 = Outcome { try PalettizedMatrix(indices: zeros(.uint2, [2, 2, 6]), lut: zeros(.fp16, [1, 1, 1, 4, 1])) }
    #expect(rank3.kind == .invalidShape, "rank-3 indices: \(rank3)")
  }
}
