import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// QuantizedMatrix (fused dequantize-GEMV over constexpr_blockwise_shift_scale, FORMATS.md §7.3)
// on every SIMD target, bit for bit:
//   decompress(target)  == Reference.blockwiseShiftScale(data, scale, offset);
//   gemv(x, target)     == Reference.gemv(weights: that, x) == DenseMatrix(that).gemv(x, target);
//   y[b] of a batch     == the batch-1 result of row b; threads 2, 3, 7 == threads 1 (MatrixHarness);
//   gemvW8A8(x, target) == Reference.gemvW8A8 (int8 data, [rows, 1] or [1, 1] scale, no offset),
//                          batch and thread invariant too.

/// A random linearly quantized linear weight [rows, cols].
struct QuantMatrixCase: CustomStringConvertible {
  /// How the scale grid [Sr, Sc] covers [rows, cols].
  enum Grid: String, CaseIterable {
    case perTensor, perRow, perColumn, perBlock, rowAndColumnBlocks, elementwise

    /// [Sr, Sc] over [rows, cols] with column blocks of `block` (a divisor of cols).
    func shape(rows: Int, cols: Int, block: Int, _ r: inout SplitMix64) -> [Int] {
      switch self {
      case .perTensor: return [1, 1]
      case .perRow: return [rows, 1]
      case .perColumn: return [1, cols]
      case .perBlock: return [rows, cols / block]
      case .rowAndColumnBlocks: return [r.divisor(of: rows), cols / block]
      case .elementwise: return [rows, cols]
      }
    }
  }

  enum OffsetKind: String, CaseIterable {
    case none, integer, fp16, fp32
  }

  let data: Tensor
  let scale: Tensor
  let offset: Tensor?

  var rows: Int { data.shape[0] }
  var cols: Int { data.shape[1] }

  var description: String {
    "data \(data.dtype)\(data.shape) scale \(scale.dtype)\(scale.shape) offset \(offset.map { "\($0.dtype)\($0.shape)" } ?? "nil")"
  }

  static let dataTypes: [DType] = [.int4, .uint4, .int8, .uint8]
  /// Extents around vector widths and 16-column chunks.
  static let extents = [1, 2, 3, 5, 7, 13, 15, 16, 17, 31, 32, 33, 37, 47, 48, 63, 64, 65, 70]
  /// Column blocks: below a vector, one vector, chunk multiples (one scale per 16-column chunk)
  /// and sizes that split chunks (per-lane scales).
  static let blocks = [1, 2, 3, 5, 8, 15, 16, 17, 24, 32, 40, 48]

  func referenceDense() throws -> Tensor { try Reference.blockwiseShiftScale(data: data, scale: scale, offset: offset) }
  func matrix() throws -> QuantizedMatrix { try QuantizedMatrix(data: data, scale: scale, offset: offset) }
  var compressedBytes: Int { data.bytes.count + scale.bytes.count + (offset?.bytes.count ?? 0) }

  /// Scales: moderate, sometimes tiny (subnormal weights), and in some cases specials: ±0,
  /// ±Inf, NaN, subnormals, the largest finite value (overflow to Inf).
  static func scaleMix(_ r: inout SplitMix64) -> ValueMix {
    ValueMix(special: r.chance(0.4) ? 0.06 : 0, wide: 0.02, moderate: r.chance(0.2) ? 100...115 : 115...127)
  }

  /// Float offsets of the magnitude of a zero point (2⁻² … 2⁷), rarely special.
  static func offsetMix(_ r: inout SplitMix64) -> ValueMix {
    ValueMix(special: r.chance(0.3) ? 0.03 : 0, wide: 0, moderate: 125...134)
  }

  /// Random integer data; for an odd int4/uint4 element count the unused high nibble of the
  /// last byte is sometimes garbage, which Core ML ignores.
  static func quantizedData(_ r: inout SplitMix64, _ dtype: DType, shape: [Int]) throws -> Tensor {
    let data = try r.integerTensor(dtype, shape: shape)
    guard dtype.bits == 4, data.count % 2 == 1, r.chance(0.5) else { return data }
    var bytes = data.bytes
    bytes[bytes.count - 1] |= UInt8(r.int(1...15) << 4)
    return try Tensor(dtype: dtype, shape: shape, bytes: bytes)
  }

  static func make(
    _ r: inout SplitMix64, dataType fixedType: DType? = nil, grid fixedGrid: Grid? = nil,
    offset fixedOffset: OffsetKind? = nil, rows fixedRows: Int? = nil, cols fixedCols: Int? = nil,
    block fixedBlock: Int? = nil, maxWeights: Int = 2500
  ) throws -> QuantMatrixCase {
    let dataType = fixedType ?? r.pick(dataTypes)
    let grid = fixedGrid ?? r.pick(Grid.allCases)
    let blocked = grid == .perBlock || grid == .rowAndColumnBlocks
    var cols = fixedCols ?? (r.chance(0.8) ? r.pick(extents) : r.int(1...70))
    var block = 1
    if blocked {
      if let b = fixedBlock {
        block = b
      } else if fixedCols == nil && r.chance(0.6) {
        // The block size first, then 1–4 blocks of it.
        block = r.pick(blocks)
        cols = block * r.int(1...4)
      } else {
        block = r.divisor(of: cols)
      }
    }
    var rows = fixedRows ?? (r.chance(0.8) ? r.pick(extents) : r.int(1...70))
    if rows * cols > maxWeights { rows = max(1, maxWeights / cols) }

    let gridShape = grid.shape(rows: rows, cols: cols, block: block, &r)
    let data = try quantizedData(&r, dataType, shape: [rows, cols])
    let (scale, offset) = try scaleAndOffset(&r, dataType: dataType, gridShape: gridShape, offset: fixedOffset)
    return QuantMatrixCase(data: data, scale: scale, offset: offset)
  }

  /// A random scale over `gridShape` and an offset of the given (or a random) kind; an fp32
  /// offset comes with an fp32 scale (an fp16 scale is `.unsupported`, tested separately).
  static func scaleAndOffset(
    _ r: inout SplitMix64, dataType: DType, gridShape: [Int], offset fixedOffset: OffsetKind? = nil
  ) throws -> (Tensor, Tensor?) {
    let offsetKind = fixedOffset ?? r.pick(OffsetKind.allCases)
    let scaleType = offsetKind == .fp32 ? DType.fp32 : r.pick([DType.fp16, .fp32])
    let scale = try r.floatTensor(scaleType, shape: gridShape, scaleMix(&r))
    switch offsetKind {
    case .none: return (scale, nil)
    case .integer: return (scale, try r.integerTensor(dataType, shape: gridShape))
    case .fp16: return (scale, try r.floatTensor(.fp16, shape: gridShape, offsetMix(&r)))
    case .fp32: return (scale, try r.floatTensor(.fp32, shape: gridShape, offsetMix(&r)))
    }
  }
}

/// W8A8 activations: one row of `cols` values (fp16 or fp32 bit patterns).
enum ActivationMode: CaseIterable {
  /// Moderate finite values.
  case moderate
  /// ±0 only: the maximum is 0, so every activation quantizes to 0.
  case zeros
  /// Moderate values with a few ±Inf / NaN: the whole output row is the canonical NaN.
  case nonFinite
  /// Subnormals: a scale s_x that is subnormal or rounds to 0.
  case tiny
  /// Near the largest finite value.
  case huge
  /// max = 127·2^e (s_x = 2^e exactly) and the others (k + ½)·2^e: every quotient a tie.
  case ties
  /// Any exponent, specials included.
  case anything

  func row(_ r: inout SplitMix64, _ dtype: DType, cols: Int) -> [UInt32] {
    let f16 = dtype == .fp16
    func bits(_ v: Float) -> UInt32 { f16 ? UInt32(Float16(v).bitPattern) : v.bitPattern }
    func sign(_ r: inout SplitMix64) -> UInt32 { r.chance(0.5) ? (f16 ? 0x8000 : 0x8000_0000) : 0 }
    switch self {
    case .moderate:
      return (0..<cols).map { _ in f16 ? UInt32(r.fp16(.finite)) : r.fp32(ValueMix(special: 0, wide: 0.05)) }
    case .zeros:
      return (0..<cols).map { _ in sign(&r) }
    case .nonFinite:
      var values = ActivationMode.moderate.row(&r, dtype, cols: cols)
      for _ in 0..<r.int(1...2) {
        let nan: UInt32 = f16 ? 0x7E00 | UInt32(r.bits(9)) : 0x7FC0_0000 | UInt32(r.bits(22))
        values[r.int(0..<cols)] = sign(&r) | (r.chance(0.5) ? (f16 ? 0x7C00 : 0x7F80_0000) : nan)
      }
      return values
    case .tiny:
      return (0..<cols).map { _ in
        sign(&r) | (f16 ? UInt32(r.int(0...0x3FF)) : UInt32(r.chance(0.5) ? r.int(0...0xFF) : r.int(0...0x7F_FFFF)))
      }
    case .huge:
      return (0..<cols).map { _ in
        sign(&r) | (f16 ? UInt32(r.int(28...30)) << 10 | UInt32(r.bits(10)) : UInt32(r.int(240...254)) << 23 | UInt32(r.bits(23)))
      }
    case .ties:
      let unit = Float(sign: .plus, exponent: f16 ? r.int(-10...0) : r.int(-40...40), significand: 1)
      var values = (0..<cols).map { _ -> UInt32 in
        let k = Float(r.int(-127...126))
        return bits((r.chance(0.8) ? k + 0.5 : k) * unit)
      }
      values[r.int(0..<cols)] = bits((r.chance(0.5) ? 127 : -127) * unit)
      return values
    case .anything:
      return (0..<cols).map { _ in f16 ? UInt32(r.fp16(.anyBits)) : r.fp32(.anyBits) }
    }
  }

  /// x [batch, cols] (or [cols]) with a random mode per batch row.
  static func activations(_ r: inout SplitMix64, _ dtype: DType, cols: Int, batch: Int, rank1: Bool) throws -> Tensor {
    var values = [UInt32]()
    for _ in 0..<batch { values += r.pick(ActivationMode.allCases).row(&r, dtype, cols: cols) }
    let shape = rank1 ? [cols] : [batch, cols]
    return dtype == .fp16
      ? try Tensor(fp16Bits: values.map { UInt16(truncatingIfNeeded: $0) }, shape: shape)
      : try Tensor(fp32Bits: values, shape: shape)
  }
}

extension QuantMatrixCase: MatrixTestCase {
  static var format: MatrixFormat { .quantized }

  func expectDetails(_ matrix: QuantizedMatrix, context: String) {
    #expect(matrix.dataType == data.dtype, "\(context): dataType \(matrix.dataType)")
    #expect(matrix.weightType == scale.dtype, "\(context): weightType \(matrix.weightType)")
    let eligible = data.dtype == .int8 && offset == nil && scale.shape[1] == 1 && (scale.shape[0] == 1 || scale.shape[0] == rows)
    #expect(matrix.supportsW8A8 == eligible, "\(context): supportsW8A8 \(matrix.supportsW8A8)")
  }

  /// 1–4 rows, sometimes 5–9 (the staged GEMV's groups of 2–4 batch rows), rank 1 in some
  /// batch-1 cases, fp16 or fp32; specials in a third of the cases.
  func activations(_ r: inout SplitMix64) throws -> Tensor {
    let batch = r.chance(0.8) ? r.int(1...4) : r.int(5...9)
    let xShape = batch == 1 && r.chance(0.5) ? [cols] : [batch, cols]
    return try r.floatTensor(r.pick([.fp16, .fp32]), shape: xShape, ValueMix(special: r.chance(0.3) ? 0.02 : 0, wide: 0.01))
  }
}

@Suite("QuantizedMatrix on every target == reference, fused == dense(decompressed), W8A8")
struct QuantizedMatrixTests {
  @Test("random data types, scale grids, offsets, shapes", .shrinking(false), arguments: SIMDTarget.compiled)
  func randomMatrices(target: SIMDTarget) async throws {
    try await MatrixHarness.checkRandomCases(count: 150, target: target, make: { try QuantMatrixCase.make(&$0) })
  }

  /// Every grid kind with every data type and offset kind (the random mix may under-sample
  /// one), each combination on a random supported target.
  @Test("each grid × data type × offset kind", .shrinking(false), arguments: QuantMatrixCase.Grid.allCases)
  func eachGrid(grid: QuantMatrixCase.Grid) async throws {
    let targets = SIMDTarget.supported
    await Property.check(count: 2) { seed in
      var r = SplitMix64(seed: seed)
      for dataType in QuantMatrixCase.dataTypes {
        for offset in QuantMatrixCase.OffsetKind.allCases {
          let c = try QuantMatrixCase.make(&r, dataType: dataType, grid: grid, offset: offset)
          let target = r.pick(targets)
          try MatrixHarness.check(c, &r, target: target, label: "seed \(hex(seed)) (\(grid), \(dataType), offset \(offset))")
        }
      }
    }
  }

  /// Long rows (many chunks, the multi-row blocks' steady state) with any grid.
  @Test("long rows (cols 127…700)", .shrinking(false), arguments: SIMDTarget.compiled)
  func longRows(target: SIMDTarget) async throws {
    try await MatrixHarness.checkRandomCases(count: 8, target: target, make: { r in
      let cols = r.pick([127, 128, 129, 255, 256, 257, 400, 512, 700])
      return try QuantMatrixCase.make(&r, rows: r.int(1...40), cols: cols, maxWeights: 12000)
    })
  }

  /// The staged GEMV (int4/uint4 with fp16 scales whose blocks hold whole pairs of chunks: each
  /// block's 16 weights as byte planes, 32 nibbles looked up per step into an L1 buffer): rows of
  /// many steps, odd column counts (not staged), integer and float offsets (the latter not staged).
  @Test("staged fp16 GEMV: int4/uint4 per row or per block of 32 or 64 columns", .shrinking(false),
        arguments: SIMDTarget.compiled)
  func stagedNibbleTables(target: SIMDTarget) async throws {
    try await MatrixHarness.checkRandomCases(count: 16, target: target, make: { r in
      let cols = r.pick([64, 65, 96, 128, 160, 256, 333, 448])
      let grid: QuantMatrixCase.Grid = cols % 32 == 0 ? r.pick([.perTensor, .perRow, .perBlock, .rowAndColumnBlocks]) : .perRow
      return try QuantMatrixCase.make(
        &r, dataType: r.pick([.int4, .uint4]), grid: grid, offset: r.pick([QuantMatrixCase.OffsetKind.none, .integer, .fp16]),
        rows: r.pick([4, 5, 8, 9, 13, 17]), cols: cols, block: cols % 64 == 0 && r.chance(0.5) ? 64 : 32,
        maxWeights: 20000)
    })
  }

  /// Every column count 1…35 and a few multi-chunk ones with odd row counts: chunk tails, and
  /// int4/uint4 rows that start mid-byte (odd cols), whose chunks span 9 bytes.
  @Test("every data type × cols 1…35, 47…49, 63…65", arguments: SIMDTarget.compiled)
  func everyColumnCount(target: SIMDTarget) throws {
    try requireSupported(target)
    for dataType in QuantMatrixCase.dataTypes {
      for cols in Array(1...35) + [47, 48, 49, 63, 64, 65] {
        let seed = UInt64(dataType.rawValue) << 16 | UInt64(cols)
        var r = SplitMix64(seed: seed)
        let c = try QuantMatrixCase.make(&r, dataType: dataType, rows: r.pick([1, 2, 3, 5, 7, 9, 17]), cols: cols)
        try MatrixHarness.check(c, &r, target: target, label: "seed \(hex(seed))")
      }
    }
  }

  /// Column blocks of every kind of size, 1–4 blocks, per-row or row-blocked scales.
  @Test("column blocks 1…48 × every data type", arguments: SIMDTarget.compiled)
  func columnBlocks(target: SIMDTarget) throws {
    try requireSupported(target)
    for dataType in QuantMatrixCase.dataTypes {
      for block in QuantMatrixCase.blocks {
        let seed = 0xB10C_0000 | UInt64(dataType.rawValue) << 8 | UInt64(block)
        var r = SplitMix64(seed: seed)
        let c = try QuantMatrixCase.make(
          &r, dataType: dataType, grid: r.pick([.perBlock, .rowAndColumnBlocks]), rows: r.pick([1, 3, 8, 9]),
          cols: block * r.int(1...4), block: block)
        try MatrixHarness.check(c, &r, target: target, label: "seed \(hex(seed))")
      }
    }
  }

  /// Every integer value against every integer offset of its dtype (data[r, c] = value r,
  /// offset[c] = value c), and against fp16 offsets with fractions (the difference rounded to
  /// fp16 before the product); per-column scales (one per lane: gathers) from tie-prone, tiny,
  /// huge, zero and special values. Reference computed once, compared on every supported target.
  @Test("every value × every offset, per-column scales, exhaustive")
  func everyValueAndOffset() throws {
    let interesting: [UInt16] = [
      0x3E00, 0x3555, 0x3C01, 0xBC01, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x1400, 0x5BFF, 0x2E66, 0x3A9A,
      0x0000, 0x8000, 0x7C00, 0x7E00, 0x3BFF, 0x3800, 0xB555, 0x4001,
    ]
    for dataType in QuantMatrixCase.dataTypes {
      let values = Array(dataType.integerRange!)
      let n = values.count
      var r = SplitMix64(seed: 0xE7E4 ^ UInt64(dataType.rawValue))
      let data = try Tensor(integers: (0..<(n * n)).map { values[$0 / n] }, dtype: dataType, shape: [n, n])
      let offsets = [
        try Tensor(integers: values, dtype: dataType, shape: [1, n]),
        try Tensor(fp16Bits: values.map { Float16(Float($0) + r.pick([0, 0.5, 0.25, 0.1, -0.375])).bitPattern }, shape: [1, n]),
      ]
      for offset in offsets {
        for scaleType in [DType.fp16, .fp32] {
          let scale = scaleType == .fp16
            ? try Tensor(fp16Bits: (0..<n).map { _ in r.chance(0.6) ? r.pick(interesting) : r.fp16(.moderate) }, shape: [1, n])
            : try r.floatTensor(.fp32, shape: [1, n], ValueMix(special: 0.1, wide: 0.2))
          let c = QuantMatrixCase(data: data, scale: scale, offset: offset)
          let expected = try c.referenceDense()
          let matrix = try c.matrix()
          let x = try r.floatTensor(.fp32, shape: [1, n], .finite)
          let y = try Reference.gemv(weights: expected, x: x, outputType: .fp32)
          for target in SIMDTarget.supported {
            expectBits(try matrix.decompress(target: target), expected, "target \(target) \(c): decompress")
            expectBits(try matrix.gemv(x, target: target), y, "target \(target) \(c): gemv")
          }
        }
      }
    }
  }

  /// FORMATS.md §7.3 edges with their exact bits: overflow to ±Inf, −0 from a negative scale,
  /// subnormal weights, 0 · Inf = NaN, NaN scales, the fp16 offset difference rounded first;
  /// and Inf weights in a partial last chunk (padding lanes must not turn them into NaN).
  /// Decompressions of 4 MiB and more are written with streaming stores (CKernels/common/
  /// matmul-inl.h, kStreamBytes): fp16 and fp32 weights of that size equal the reference on every
  /// target, with one thread (one task over every row) and two.
  @Test("large decompression (streaming stores) == reference")
  func largeDecompression() throws {
    var r = SplitMix64(seed: 0x57E4)
    for (scaleType, cols) in [(DType.fp16, 2048), (.fp32, 1024)] {
      let c = QuantMatrixCase(
        data: try r.integerTensor(.int8, shape: [1024, cols]),
        scale: try r.floatTensor(scaleType, shape: [1024, 1], QuantMatrixCase.scaleMix(&r)), offset: nil)
      let expected = try c.referenceDense()
      #expect(expected.bytes.count == 4 << 20)
      let matrix = try c.matrix()
      for target in SIMDTarget.supported {
        for threads in [1, 2] {
          expectBits(try matrix.decompress(target: target, threads: threads), expected, "target \(target) \(scaleType) threads \(threads): large decompress")
        }
      }
    }
  }

  @Test("edge scales: exact bits", arguments: SIMDTarget.compiled)
  func edgeScales(target: SIMDTarget) throws {
    try requireSupported(target)
    /// `expected` holds the exact bits of each weight; nil is any NaN (0 · Inf gives the
    /// hardware's default NaN, which the contract leaves to the platform).
    func check(_ c: QuantMatrixCase, _ expected: [UInt32?], _ label: String) throws {
      let decompressed = try c.matrix().decompress(target: target)
      let bits = decompressed.dtype == .fp16 ? decompressed.fp16Bits().map(UInt32.init) : decompressed.fp32Bits()
      let nan: (UInt32) -> Bool = decompressed.dtype == .fp16
        ? { Float16(bitPattern: UInt16($0)).isNaN } : { Float(bitPattern: $0).isNaN }
      let matches = bits.count == expected.count && zip(bits, expected).allSatisfy { $1 == nil ? nan($0) : $0 == $1 }
      #expect(matches, "target \(target) \(label): decompress \(bits.map { hex(UInt64($0), width: 4) })")
      expectBits(decompressed, try c.referenceDense(), "target \(target) \(label): decompress vs reference")
      var r = SplitMix64(seed: 0xED6E)
      try MatrixHarness.check(c, &r, target: target, label: label)
    }
    let f16 = { (bits: [UInt16], shape: [Int]) in try Tensor(fp16Bits: bits, shape: shape) }
    let f32 = { (bits: [UInt32], shape: [Int]) in try Tensor(fp32Bits: bits, shape: shape) }
    // 127 · 32768 and −128 · 32768 overflow fp16; 0 · −0.5 is −0.
    try check(
      QuantMatrixCase(data: Tensor(integers: [127, -128, 0, 1, 0, -1], dtype: .int8, shape: [2, 3]), scale: f16([0x7800, 0xB800], [2, 1]), offset: nil),
      [0x7C00, 0xFC00, 0x0000, 0xB800, 0x8000, 0x3800], "fp16 overflow, −0")
    // Smallest subnormal scales: 3 · 2⁻²⁴ in fp16, −7 · 2⁻¹⁴⁹ in fp32.
    try check(QuantMatrixCase(data: Tensor(integers: [3, 15], dtype: .uint4, shape: [1, 2]), scale: f16([0x0001], [1, 1]), offset: nil), [0x0003, 0x000F], "fp16 subnormal")
    try check(QuantMatrixCase(data: Tensor(integers: [-7, 0], dtype: .int8, shape: [1, 2]), scale: f32([0x0000_0001], [1, 1]), offset: nil), [0x8000_0007, 0], "fp32 subnormal")
    // Inf scale: ±Inf, and NaN where q − offset = 0; a signalling NaN scale propagates quieted.
    try check(
      QuantMatrixCase(data: Tensor(integers: [2, 1, 0, 3], dtype: .uint8, shape: [2, 2]), scale: f32([0x7F80_0000, 0x7FA0_0001], [2, 1]), offset: Tensor(integers: [1, 1], dtype: .uint8, shape: [2, 1])),
      [0x7F80_0000, nil, 0x7FE0_0001, 0x7FE0_0001], "Inf and NaN scales")
    try check(
      QuantMatrixCase(data: Tensor(integers: [0, 1, 15, 8], dtype: .uint4, shape: [2, 2]), scale: f16([0xFC00], [1, 1]), offset: nil),
      [nil, 0xFC00, 0xFC00, 0xFC00], "fp16 −Inf scale")
    // The fp16 offset difference rounds first: −12 − (−1.779…) → fp16, then · 0.532… = 0xC570.
    try check(QuantMatrixCase(data: Tensor(integers: [-12], dtype: .int8, shape: [1, 1]), scale: f16([0x3842], [1, 1]), offset: f16([0xBF1E], [1, 1])), [0xC570], "fp16 offset rounding")
    // A NaN float offset meets a NaN scale: the difference's NaN wins (docs/ARITHMETIC.md §1),
    // whichever NaN the multiply returns; fp32 (one scale per chunk) and fp16 (the difference
    // rounded first, per-lane layout).
    try check(
      QuantMatrixCase(data: Tensor(integers: [3, -4], dtype: .int8, shape: [1, 2]), scale: f32([0x7FC0_0003], [1, 1]), offset: f32([0x7FA0_0002], [1, 1])),
      [0x7FE0_0002, 0x7FE0_0002], "fp32 NaN offset, NaN scale")
    try check(
      QuantMatrixCase(data: Tensor(integers: [3, 4, 5], dtype: .uint4, shape: [1, 3]), scale: f16([0x7E03], [1, 1]), offset: f16([0x7D01], [1, 1])),
      [0x7F01, 0x7F01, 0x7F01], "fp16 NaN offset, NaN scale")
    // ±Inf weights in a 5-column (partial) chunk: with x = 1 every row is exactly ±Inf.
    let inf = try QuantMatrixCase(data: Tensor(integers: [1, 2, 3, 4, 5, -1, -2, -3, -4, -5], dtype: .int4, shape: [2, 5]), scale: f32([0x7F80_0000], [1, 1]), offset: nil)
    let y = try inf.matrix().gemv(Tensor(floats: [1, 1, 1, 1, 1], shape: [5]), target: target)
    #expect(y.fp32Bits() == [0x7F80_0000, 0xFF80_0000], "target \(target): Inf weights in a partial chunk: \(y.fp32Bits().map { hex(UInt64($0), width: 8) })")
  }

  /// Batch and thread invariance, fused == dense(decompressed) == reference, on every target
  /// (the shared harness), for a random data type, grid and offset on each harness shape.
  @Test("batches 1…9, 32 and threads 2, 3, 7 on every target (shared harness)", .shrinking(false),
        arguments: MatrixHarness.Shape.standard)
  func invariance(shape: MatrixHarness.Shape) async throws {
    await Property.check(count: 2) { seed in
      var r = SplitMix64(seed: seed)
      let c = try QuantMatrixCase.make(&r, rows: shape.rows, cols: shape.cols, maxWeights: .max)
      try MatrixHarness.checkInvariance(c.matrix(), expected: c.referenceDense(), shape: shape, seed: seed, label: "\(c)")
    }
  }

  /// Matrices are immutable once created and may be shared between threads: concurrent calls
  /// (some with 2 threads, competing for the pool) give the serial bits.
  @Test("a shared matrix gives the same bits on concurrent threads", .shrinking(false))
  func concurrentUse() async throws {
    await Property.check(count: 1) { seed in
      var r = SplitMix64(seed: seed)
      let c = try QuantMatrixCase.make(&r, dataType: .int4, grid: .perBlock, rows: 256, cols: 512, block: 32, maxWeights: .max)
      try MatrixHarness.checkConcurrent(c.matrix(), seed: seed, label: "\(c)")
    }
  }

  /// Malformed descriptors: the library's kind, and the reference's where blockwise_shift_scale
  /// itself rejects the operands (the rank-2, non-empty, integer-data rules are the matrix's).
  @Test("invalid descriptors and GEMV operands throw the reference's kind")
  func invalidDescriptors() throws {
    func zeros(_ dtype: DType, _ shape: [Int]) throws -> Tensor {
      try Tensor(dtype: dtype, shape: shape, bytes: [UInt8](repeating: 0, count: Tensor.byteCount(dtype: dtype, count: shape.reduce(1, *))))
    }
    let data = try zeros(.int8, [4, 6])
    let scale = try zeros(.fp16, [2, 3])
    typealias Case = (name: String, kind: WeightKernelsError.Kind, data: Tensor, scale: Tensor, offset: Tensor?, referenceRejects: Bool)
    let cases: [Case] = [
      ("fp16 data", .invalidDType, try zeros(.fp16, [4, 6]), scale, nil, false),
      ("fp32 data", .invalidDType, try zeros(.fp32, [4, 6]), scale, nil, false),
      ("uint2 data", .invalidDType, try zeros(.uint2, [4, 6]), scale, nil, true),
      ("int16 data", .invalidDType, try zeros(.int16, [4, 6]), scale, nil, true),
      ("uint1 data", .invalidDType, try zeros(.uint1, [4, 6]), scale, nil, true),
      ("rank-1 data", .invalidShape, try zeros(.int8, [24]), try zeros(.fp16, [2]), nil, false),
      ("rank-3 data", .invalidShape, try zeros(.int8, [2, 2, 6]), try zeros(.fp16, [1, 1, 3]), nil, false),
      ("0 rows", .invalidShape, try zeros(.int8, [0, 6]), try zeros(.fp16, [1, 3]), nil, false),
      ("0 cols", .invalidShape, try zeros(.uint4, [4, 0]), try zeros(.fp16, [2, 1]), nil, false),
      ("4 column blocks over 6", .invalidShape, data, try zeros(.fp16, [2, 4]), nil, true),
      ("3 row blocks over 4", .invalidShape, data, try zeros(.fp32, [3, 3]), nil, true),
      ("0 row blocks", .invalidShape, data, try zeros(.fp16, [0, 3]), nil, true),
      ("7 column blocks over 6", .invalidShape, data, try zeros(.fp16, [1, 7]), nil, true),
      ("rank-1 scale", .invalidShape, data, try zeros(.fp16, [2]), nil, true),
      ("rank-3 scale", .invalidShape, data, try zeros(.fp16, [1, 2, 3]), nil, true),
      ("int8 scale", .invalidDType, data, try zeros(.int8, [2, 3]), nil, true),
      ("uint8 scale", .invalidDType, data, try zeros(.uint8, [2, 3]), nil, true),
      ("int32 scale", .invalidDType, data, try zeros(.int32, [2, 3]), nil, true),
      ("offset [2, 1] for scale [2, 3]", .invalidShape, data, scale, try zeros(.int8, [2, 1]), true),
      ("offset rank 1", .invalidShape, data, scale, try zeros(.fp16, [6]), true),
      ("uint8 offset for int8 data", .invalidDType, data, scale, try zeros(.uint8, [2, 3]), true),
      ("int4 offset for int8 data", .invalidDType, data, scale, try zeros(.int4, [2, 3]), true),
      ("int8 offset for uint4 data", .invalidDType, try zeros(.uint4, [4, 6]), scale, try zeros(.int8, [2, 3]), true),
      ("int16 offset", .invalidDType, data, scale, try zeros(.int16, [2, 3]), true),
      ("fp32 offset with fp16 scale", .unsupported, data, scale, try zeros(.fp32, [2, 3]), true),
    ]
    for c in cases {
      let library = Outcome { try QuantizedMatrix(data: c.data, scale: c.scale, offset: c.offset) }
      #expect(library.kind == c.kind, "\(c.name): library \(library), expected \(c.kind)")
      if case .error(let e) = library { #expect(!e.message.isEmpty, "\(c.name): empty message") }
      if c.referenceRejects {
        let reference = Outcome { try Reference.blockwiseShiftScale(data: c.data, scale: c.scale, offset: c.offset) }
        #expect(reference.kind == c.kind, "\(c.name): reference \(reference), expected \(c.kind)")
      }
    }

    // GEMV operands: the kind Reference.gemv (Reference.gemvW8A8) throws for the same x and y.
    let weights = try Tensor(integers: [1, -2, 3, -4, 5, -6], dtype: .int8, shape: [2, 3])
    let perRow = try Tensor(fp16Bits: [0x3C00, 0x3800], shape: [2, 1])
    let matrix = try QuantizedMatrix(data: weights, scale: perRow)
    let dense = try Reference.blockwiseShiftScale(data: weights, scale: perRow, offset: nil)
    let operands = try MatrixHarness.invalidOperands()
    for (name, x, y) in operands {
      let reference = Outcome { try Reference.gemv(weights: dense, x: x, outputType: y) }
      let library = Outcome { try matrix.gemv(x, outputType: y) }
      #expect(reference.kind != nil && library.kind == reference.kind, "gemv \(name): library \(library), reference \(reference)")
      let referenceW8A8 = Outcome { try Reference.gemvW8A8(data: weights, scale: perRow, x: x, outputType: y) }
      let libraryW8A8 = Outcome { try matrix.gemvW8A8(x, outputType: y) }
      #expect(referenceW8A8.kind != nil && libraryW8A8.kind == referenceW8A8.kind, "gemvW8A8 \(name): library \(libraryW8A8), reference \(referenceW8A8)")
    }
  }

  // MARK: - W8A8

  /// gemvW8A8 on every output type, and each batch row alone.
  static func checkW8A8(data: Tensor, scale: Tensor, x: Tensor, target: SIMDTarget, label: String) throws {
    let matrix = try QuantizedMatrix(data: data, scale: scale)
    try MatrixHarness.expectProducts(
      x: x, context: "\(label) target \(target) data \(data.shape) scale \(scale.dtype)\(scale.shape) W8A8",
      reference: { try Reference.gemvW8A8(data: data, scale: scale, x: x, outputType: $0) },
      product: { try matrix.gemvW8A8($0, outputType: $1, target: target) })
  }

  /// int8 weights (−128 and 127 favoured), per-row or per-tensor fp16/fp32 scales (sometimes
  /// special), activations of every mode per batch row, long rows included.
  @Test("W8A8: random shapes, scales and activations", .shrinking(false), arguments: SIMDTarget.compiled)
  func w8a8Random(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 120) { seed in
      var r = SplitMix64(seed: seed)
      let cols = r.chance(0.85) ? r.pick(QuantMatrixCase.extents) : r.pick([127, 128, 129, 255, 256, 257, 700])
      let rows = min(r.chance(0.8) ? r.pick(QuantMatrixCase.extents) : r.int(1...70), max(1, 6000 / cols))
      let data = try r.integerTensor(.int8, shape: [rows, cols])
      let scale = try r.floatTensor(r.pick([.fp16, .fp32]), shape: r.chance(0.7) ? [rows, 1] : [1, 1], QuantMatrixCase.scaleMix(&r))
      let batch = r.int(1...3)
      let x = try ActivationMode.activations(&r, r.pick([.fp16, .fp32]), cols: cols, batch: batch, rank1: batch == 1 && r.chance(0.5))
      try Self.checkW8A8(data: data, scale: scale, x: x, target: target, label: "seed \(hex(seed))")
    }
  }

  /// W8A8 batch and thread invariance on every target (the shared harness's
  /// checkBatchesAndThreads): each batch row (its own activation mode: moderate, zeros,
  /// non-finite, tiny, huge, ties, anything) equals its batch-1 call, threads 2, 3, 7 equal
  /// threads 1, and the largest batch equals Reference.gemvW8A8.
  @Test("W8A8: batches 1…9, 32 and threads 2, 3, 7 on every target", .shrinking(false),
        arguments: MatrixHarness.Shape.standard)
  func w8a8Invariance(shape: MatrixHarness.Shape) async throws {
    await Property.check(count: 1) { seed in
      var r = SplitMix64(seed: seed)
      let data = try r.integerTensor(.int8, shape: [shape.rows, shape.cols])
      let scale = try r.floatTensor(r.pick([.fp16, .fp32]), shape: r.chance(0.7) ? [shape.rows, 1] : [1, 1], QuantMatrixCase.scaleMix(&r))
      let matrix = try QuantizedMatrix(data: data, scale: scale)
      #expect(matrix.supportsW8A8)
      let largest = shape.batches.max() ?? 1
      for xType in [DType.fp16, .fp32] {
        let x = try ActivationMode.activations(&r, xType, cols: shape.cols, batch: largest, rank1: false)
        for yType in [DType.fp32, .fp16] {
          let expected = try Reference.gemvW8A8(data: data, scale: scale, x: x, outputType: yType)
          for target in SIMDTarget.supported {
            let what = "\(MatrixHarness.seedLabel(seed)) target \(target) W8A8 \(shape) scale \(scale.dtype)\(scale.shape) x \(xType) y \(yType)"
            let full = try MatrixHarness.checkBatchesAndThreads(x: x, batches: shape.batches, threads: shape.threads, context: what) { x, t in
              try matrix.gemvW8A8(x, outputType: yType, target: target, threads: t)
            }
            expectBits(full, expected, "\(what): W8A8 vs reference")
          }
        }
      }
    }
  }

  /// Quantization of the activations with known results: identity weights make y[r] = q[r] · s_x
  /// with s_x = 2^e exact, so each tie (k + ½) must round to even, ±127 must stay ±127 and −½ give
  /// 0; a row of −128 weights sums everything.
  @Test("W8A8: ties to even, saturation, −128 weights", arguments: SIMDTarget.compiled)
  func w8a8Ties(target: SIMDTarget) throws {
    try requireSupported(target)
    let halves: [Float] = [127, -127, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, 125.5, -125.5, 126.5, -126.5, 64, -0.0, 7]
    let n = halves.count
    let identity = (0..<(n * n)).map { $0 / n == $0 % n ? 1 : 0 }
    let data = try Tensor(integers: identity + [Int](repeating: -128, count: n), dtype: .int8, shape: [n + 1, n])
    for (dtype, e) in [(DType.fp32, 0), (.fp32, -30), (.fp32, 20), (.fp16, 0), (.fp16, -6)] {
      let unit = Float(sign: .plus, exponent: e, significand: 1)
      let values = halves.map { $0 * unit }
      let x = dtype == .fp16
        ? try Tensor(fp16Bits: values.map { Float16($0).bitPattern }, shape: [n])
        : try Tensor(floats: values, shape: [n])
      let scale = try Tensor(floats: [1], shape: [1, 1])
      let y = try QuantizedMatrix(data: data, scale: scale).gemvW8A8(x, target: target).fp32Bits()
      let expected = halves.map { (Float(Int($0.rounded(.toNearestOrEven))) * unit).bitPattern }
      #expect(Array(y.prefix(n)) == expected, "target \(target) x \(dtype) · 2^\(e): \(y.prefix(n).map { Float(bitPattern: $0) / unit })")
      try Self.checkW8A8(data: data, scale: scale, x: x, target: target, label: "ties 2^\(e)")
    }
  }

  /// All-zero activations (every output ±0 by the scale's sign, or NaN for an Inf/NaN scale),
  /// Inf or NaN anywhere in a row (the whole row is the canonical NaN, 0x7E00 in fp16), and
  /// activations so small that s_x rounds to 0.
  @Test("W8A8: zeros, non-finite rows, s_x = 0", arguments: SIMDTarget.compiled)
  func w8a8Specials(target: SIMDTarget) throws {
    try requireSupported(target)
    let data = try Tensor(integers: [5, -128, 127, 0, 1, -1, 3, 3, 3, 3, 3, 3], dtype: .int8, shape: [4, 3])
    let scale = try Tensor(fp32Bits: [0x3F80_0000, 0xBF80_0000, 0x7F80_0000, 0x7FC0_0000], shape: [4, 1])
    let matrix = try QuantizedMatrix(data: data, scale: scale)
    let x = try Tensor(fp32Bits: [0, 0x8000_0000, 0, 1, 0x7F80_0000, 2, 0xFFC1_2345, 0, 0, 0x0000_0001, 0x8000_0001, 0], shape: [4, 3])
    let nan: UInt32 = 0x7FC0_0000
    #expect(try matrix.gemvW8A8(x, target: target).fp32Bits() == [0, 0x8000_0000, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, 0, 0x8000_0000, nan, nan],
            "target \(target): fp32 y")
    #expect(try matrix.gemvW8A8(x, outputType: .fp16, target: target).fp16Bits() == [0, 0x8000, 0x7E00, 0x7E00] + [UInt16](repeating: 0x7E00, count: 8) + [0, 0x8000, 0x7E00, 0x7E00],
            "target \(target): fp16 y")
    try Self.checkW8A8(data: data, scale: scale, x: x, target: target, label: "specials")
  }

  /// What W8A8 does not take: offsets, other data types, column or block scales, rows longer
  /// than 131072 (int32 overflow) — `.unsupported`, while the ordinary GEMV still works.
  @Test("W8A8: offsets, int4/uint4/uint8 data, per-column/per-block scales, cols > 131072 are .unsupported")
  func w8a8Unsupported() throws {
    let int8 = try Tensor(integers: (0..<24).map { $0 - 12 }, dtype: .int8, shape: [4, 6])
    let perRow = try Tensor(floats: [1, 2, 3, 4], shape: [4, 1])
    let cases: [(String, Tensor, Tensor, Tensor?)] = [
      ("int8 offset", int8, perRow, try Tensor(integers: [1, 0, 0, 0], dtype: .int8, shape: [4, 1])),
      ("zero int8 offset", int8, perRow, try Tensor(integers: [0, 0, 0, 0], dtype: .int8, shape: [4, 1])),
      ("fp16 offset", int8, perRow, try Tensor(fp16Bits: [0, 0, 0, 0], shape: [4, 1])),
      ("int4 data", try Tensor(integers: (0..<24).map { $0 % 16 - 8 }, dtype: .int4, shape: [4, 6]), perRow, nil),
      ("uint4 data", try Tensor(integers: (0..<24).map { $0 % 16 }, dtype: .uint4, shape: [4, 6]), perRow, nil),
      ("uint8 data", try Tensor(integers: (0..<24).map { $0 }, dtype: .uint8, shape: [4, 6]), perRow, nil),
      ("per-column scale", int8, try Tensor(floats: [1, 2, 3, 4, 5, 6], shape: [1, 6]), nil),
      ("per-block scale [4, 2]", int8, try Tensor(floats: Array(repeating: 1, count: 8), shape: [4, 2]), nil),
      ("per-block scale [1, 3]", int8, try Tensor(floats: [1, 2, 3], shape: [1, 3]), nil),
      ("131073 columns", try Tensor(integers: [Int](repeating: 1, count: 131073), dtype: .int8, shape: [1, 131073]), try Tensor(floats: [1], shape: [1, 1]), nil),
    ]
    for (name, data, scale, offset) in cases {
      let matrix = try QuantizedMatrix(data: data, scale: scale, offset: offset)
      let x = try Tensor(floats: [Float](repeating: 1, count: data.shape[1]), shape: [data.shape[1]])
      for target in SIMDTarget.supported {
        let w8a8 = Outcome { try matrix.gemvW8A8(x, target: target) }
        #expect(w8a8.kind == .unsupported, "\(name) on \(target): \(w8a8)")
        #expect(Outcome { try matrix.gemv(x, target: target) }.kind == nil, "\(name) on \(target): gemv should work")
      }
    }
  }

  /// The header documents W8A8 for a per-row [rows, 1] or per-tensor [1, 1] scale and
  /// WK_ERROR_UNSUPPORTED otherwise; a scale shared by blocks of rows ([Sr, 1], 1 < Sr < rows)
  /// is neither (Reference.gemvW8A8 rejects it too).
  @Test("W8A8: a row-blocked scale [Sr, 1] with 1 < Sr < rows is .unsupported")
  func w8a8RowBlockedScale() throws {
    let data = try Tensor(integers: (0..<24).map { $0 - 12 }, dtype: .int8, shape: [4, 6])
    let scale = try Tensor(floats: [1, 2], shape: [2, 1])
    let x = try Tensor(floats: [1, 2, 3, 4, 5, 6], shape: [6])
    #expect(Outcome { try Reference.gemvW8A8(data: data, scale: scale, x: x, outputType: .fp32) }.kind != nil)
    let matrix = try QuantizedMatrix(data: data, scale: scale)
    for target in SIMDTarget.supported {
      let w8a8 = Outcome { try matrix.gemvW8A8(x, target: target) }
      #expect(w8a8.kind == .unsupported, "scale [2, 1] over 4 rows on \(target): \(w8a8)")
    }
  }
}
