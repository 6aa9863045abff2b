import Foundation
import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// PalettizedMatrix (fused decompress-GEMV) on every SIMD target, bit for bit:
//   decompress(target)  == the reference Core ML chain (FORMATS.md §7.1, §7.3, §7.6);
//   gemv(x, target)     == Reference.gemv(weights: that chain's output, x);
//   gemv(x, target)     == DenseMatrix(weights: decompress(target)).gemv(x, target);
//   y[b] of a batch     == the batch-1 result of row b;
//   threads 2, 3, 7     == threads 1 (MatrixHarness, shared with the other formats).

/// A random palettized linear weight and the Core ML chain it is stored as.
struct MatrixCase: CustomStringConvertible {
  enum Chain: String, CaseIterable {
    /// lut_to_dense (fp16/fp32 LUT).
    case plain
    /// lut_to_dense → blockwise_shift_scale(scale [Sr, Sc]) (fp16/fp32 or int8/uint8 LUT).
    case postScale
    /// Core ML's canonical per-channel-scale form: blockwise_shift_scale(LUT repeated over the
    /// scale grid, scale [Sr, Sc, 1, 1]) → lut_to_dense.
    case lutScaleRepeated
    /// blockwise_shift_scale on a LUT of distinct tables (scale [a, b, c, 1], c may split the
    /// palette) → lut_to_dense: folded into the LUT.
    case lutScaleFolded
    /// int8/uint8 LUT dequantized by lut_scale (+ lut_offset of the LUT dtype, fp16 or fp32).
    case quantizedLUT
    /// lut_scale (+ offset) on the LUT and a scale on the dense result.
    case lutScaleAndPostScale
  }

  let chain: Chain
  let rows: Int
  let cols: Int
  let bits: Int
  let indices: Tensor
  let lut: Tensor
  var lutScale: Tensor? = nil
  var lutOffset: Tensor? = nil
  var scale: Tensor? = nil

  var description: String {
    var s = "\(chain) [\(rows), \(cols)] n=\(bits) lut \(lut.dtype)\(lut.shape)"
    if let t = lutScale { s += " lut_scale \(t.dtype)\(t.shape)" }
    if let t = lutOffset { s += " lut_offset \(t.dtype)\(t.shape)" }
    if let t = scale { s += " scale \(t.dtype)\(t.shape)" }
    return s
  }

  static let colChoices = [1, 2, 3, 5, 7, 13, 15, 16, 17, 24, 31, 32, 33, 37, 47, 48, 63, 64, 65, 70]
  static let rowChoices = [1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 37, 63, 64, 65, 70]

  /// The Core ML chain on the reference: the dense weights.
  func referenceDense() throws -> Tensor {
    var table = lut
    if let s = lutScale { table = try Reference.blockwiseShiftScale(data: table, scale: s, offset: lutOffset) }
    var dense = try Reference.lutToDenseIOS18(indices: indices, lut: table, vectorAxis: nil)
    if let s = scale { dense = try Reference.blockwiseShiftScale(data: dense, scale: s, offset: nil) }
    return dense
  }

  func matrix() throws -> PalettizedMatrix {
    try PalettizedMatrix(indices: indices, lut: lut, lutScale: lutScale, lutOffset: lutOffset, scale: scale)
  }

  var compressedBytes: Int {
    [indices, lut, lutScale, lutOffset, scale].compactMap { $0?.bytes.count }.reduce(0, +)
  }

  /// Scale values: moderate, sometimes tiny (subnormal results), negative, zero, Inf or NaN.
  static func scaleMix(_ r: inout SplitMix64) -> ValueMix {
    ValueMix(special: r.chance(0.5) ? 0.06 : 0, wide: 0.02, moderate: r.chance(0.2) ? 100...115 : 119...130)
  }

  /// LUT values: about one special per table in half of the cases.
  static func lutMix(_ r: inout SplitMix64, bits: Int, signalling: Bool) -> ValueMix {
    ValueMix(special: r.chance(0.5) ? min(0.15, 0.8 / Double(1 << bits)) : 0, signallingNaN: signalling, wide: 0.02)
  }

  /// A table grid [Gr, Gc] over [rows, cols] and the LUT of that grid whose tables repeat a base
  /// grid [Br, Bc] (Br | Gr, Bc | Gc) — the shape Core ML's canonicalisation produces.
  static func repeatedLUT(
    _ r: inout SplitMix64, dtype: DType, grid: (Int, Int), base: (Int, Int), bits: Int, mix: ValueMix
  ) throws -> Tensor {
    let entries = 1 << bits
    let baseTables = try r.tensor(dtype, shape: [base.0, base.1, entries, 1], mix)
    let width = dtype.bits / 8
    var bytes = [UInt8]()
    for gr in 0..<grid.0 {
      for gc in 0..<grid.1 {
        let br = gr / (grid.0 / base.0)
        let bc = gc / (grid.1 / base.1)
        let start = (br * base.1 + bc) * entries * width
        bytes += baseTables.bytes[start..<(start + entries * width)]
      }
    }
    return try Tensor(dtype: dtype, shape: [grid.0, grid.1, entries, 1], bytes: bytes)
  }

  static func make(
    _ r: inout SplitMix64, chain: Chain? = nil, maxWeights: Int = 2500, rows fixedRows: Int? = nil,
    cols fixedCols: Int? = nil
  ) throws -> MatrixCase {
    let chain = chain ?? r.pick(Chain.allCases)
    let bits = r.pick(DType.indexBits)
    let entries = 1 << bits
    let cols = fixedCols ?? (r.chance(0.8) ? r.pick(colChoices) : r.int(1...70))
    var rows = fixedRows ?? (r.chance(0.8) ? r.pick(rowChoices) : r.int(1...70))
    if rows * cols > maxWeights { rows = max(1, maxWeights / cols) }
    let indices = try r.indices(bits: bits, shape: [rows, cols], garbagePadding: r.chance(0.5))

    // LUT grid: none, along rows, along columns (any group size: 1, 3, 5, 8, 16, 24...), both.
    var gr = 1
    var gc = 1
    switch r.int(0..<4) {
    case 1: gr = r.divisor(of: rows)
    case 2: gc = r.divisor(of: cols)
    case 3: (gr, gc) = (r.divisor(of: rows), r.divisor(of: cols))
    default: break
    }
    while gr * gc * entries > 16384 {
      if gc > 1 { gc = Shapes.divisors(cols).last(where: { $0 < gc })! } else { gr = Shapes.divisors(rows).last(where: { $0 < gr })! }
    }
    let floatType = r.pick([DType.fp16, .fp32])
    let scaleType = r.pick([DType.fp16, .fp32])

    switch chain {
    case .plain:
      let lut = try r.floatTensor(floatType, shape: [gr, gc, entries, 1], lutMix(&r, bits: bits, signalling: true))
      return MatrixCase(chain: chain, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut)

    case .postScale:
      let lutType = r.chance(0.7) ? floatType : r.pick([DType.int8, .uint8])
      let lut = try r.tensor(lutType, shape: [gr, gc, entries, 1], lutMix(&r, bits: bits, signalling: false))
      let grid = [r.divisor(of: rows), r.divisor(of: cols)]
      let scale = try r.floatTensor(scaleType, shape: grid, scaleMix(&r))
      return MatrixCase(chain: chain, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut, scale: scale)

    case .lutScaleRepeated:
      // Canonical per-output-channel scale [1, cols, 1, 1] over a LUT repeated [1, cols, P, 1],
      // or any grid with its tables repeated from a coarser base grid.
      var grid = (gr, gc)
      var base = (1, 1)
      if r.chance(0.4) && cols * entries <= 16384 {
        grid = (1, cols)
      } else {
        base = (r.chance(0.7) ? 1 : gr, r.chance(0.7) ? 1 : gc)
      }
      let lut = try repeatedLUT(
        &r, dtype: floatType, grid: grid, base: base, bits: bits, mix: lutMix(&r, bits: bits, signalling: false))
      let scaleGrid = r.chance(0.7) ? [grid.0, grid.1] : [r.divisor(of: grid.0), r.divisor(of: grid.1)]
      let lutScale = try r.floatTensor(scaleType, shape: scaleGrid + [1, 1], scaleMix(&r))
      return MatrixCase(chain: chain, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut, lutScale: lutScale)

    case .lutScaleFolded:
      let lut = try r.floatTensor(floatType, shape: [gr, gc, entries, 1], lutMix(&r, bits: bits, signalling: false))
      let scaleGrid = [r.divisor(of: gr), r.divisor(of: gc), r.chance(0.5) ? 1 : r.divisor(of: entries), 1]
      let lutScale = try r.floatTensor(scaleType, shape: scaleGrid, scaleMix(&r))
      return MatrixCase(chain: chain, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut, lutScale: lutScale)

    case .quantizedLUT, .lutScaleAndPostScale:
      let integer = chain == .quantizedLUT || r.chance(0.5)
      let lutType = integer ? r.pick([DType.int8, .uint8]) : floatType
      let lut = try r.tensor(lutType, shape: [gr, gc, entries, 1], lutMix(&r, bits: bits, signalling: false))
      let scaleGrid = [r.divisor(of: gr), r.divisor(of: gc), r.chance(0.6) ? 1 : r.divisor(of: entries), 1]
      let lutScale = try r.floatTensor(scaleType, shape: scaleGrid, scaleMix(&r))
      var lutOffset: Tensor?
      if r.chance(0.6) {
        // An integer offset has the LUT's dtype; a float offset fp16, or fp32 with an fp32 scale.
        var offsetTypes = [DType.fp16]
        if integer { offsetTypes.append(lutType) }
        if scaleType == .fp32 { offsetTypes.append(.fp32) }
        let offsetType = r.pick(offsetTypes)
        lutOffset = try r.tensor(offsetType, shape: scaleGrid, ValueMix(special: 0.03, wide: 0, moderate: 125...133))
      }
      var c = MatrixCase(chain: chain, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut, lutScale: lutScale, lutOffset: lutOffset)
      if chain == .lutScaleAndPostScale {
        c.scale = try r.floatTensor(r.pick([DType.fp16, .fp32]), shape: [r.divisor(of: rows), r.divisor(of: cols)], scaleMix(&r))
      }
      return c
    }
  }
}

extension MatrixCase: MatrixTestCase {
  static var format: MatrixFormat { .palettized }

  func expectDetails(_ matrix: PalettizedMatrix, context: String) {
    #expect(matrix.bits == bits, "\(context): bits \(matrix.bits)")
  }

  /// Usually 1–4 rows, sometimes 5–9 (the staged GEMV's groups of 2–4 batch rows); specials in
  /// a third of the cases.
  func activations(_ r: inout SplitMix64) throws -> Tensor {
    let batch = r.chance(0.8) ? r.int(1...4) : r.int(5...9)
    let xType = r.pick([DType.fp16, .fp32])
    let xShape = batch == 1 && r.chance(0.5) ? [cols] : [batch, cols]
    return try r.floatTensor(xType, shape: xShape, ValueMix(special: r.chance(0.3) ? 0.02 : 0, wide: 0.01))
  }
}

@Suite("PalettizedMatrix on every target == reference chain, fused == dense(decompressed)")
struct PalettizedMatrixTests {
  @Test("random chains, shapes, groupings, dtypes", .shrinking(false), arguments: SIMDTarget.compiled)
  func randomChains(target: SIMDTarget) async throws {
    try await MatrixHarness.checkRandomCases(count: 250, target: target, make: { try MatrixCase.make(&$0) })
  }

  /// Every chain gets its own cases (the random mix above may under-sample one).
  @Test("each chain", .shrinking(false), arguments: MatrixCase.Chain.allCases)
  func eachChain(chain: MatrixCase.Chain) async throws {
    let targets = SIMDTarget.supported
    await Property.check(count: 30) { seed in
      var r = SplitMix64(seed: seed)
      let c = try MatrixCase.make(&r, chain: chain)
      for target in targets {
        var rt = SplitMix64(seed: seed ^ target.rawValue)
        try MatrixHarness.check(c, &rt, target: target, label: "seed \(hex(seed)) (chain \(chain))")
      }
    }
  }

  /// Long rows (many 16-column chunks) and more rows: the decoder's steady state, the fast-row
  /// limit at the end of the index buffer, wide column groups.
  @Test("large shapes (cols up to 700)", .shrinking(false), arguments: SIMDTarget.compiled)
  func largeShapes(target: SIMDTarget) async throws {
    try await MatrixHarness.checkRandomCases(count: 10, target: target, make: { r in
      let cols = r.pick([127, 128, 129, 255, 256, 257, 400, 512, 700])
      return try MatrixCase.make(&r, maxWeights: 12000, rows: r.int(1...40), cols: cols)
    })
  }

  /// The staged GEMV (unscaled fp16 tables of 4 and 6 bits, and of 1-3 bits on AVX2: 64
  /// columns of 4 rows decoded into an L1 buffer in split order, consumed a step later): several
  /// steps per row, remaining chunks and a tail after them, blocks of 4 rows then the checked last
  /// rows, tables per row group and per column group (groups of 64 columns are staged, of 32 not).
  @Test("staged fp16 GEMV: unscaled 1-, 2-, 3-, 4- and 6-bit fp16 LUTs, rows of many steps", .shrinking(false),
        arguments: SIMDTarget.compiled)
  func stagedHalfTables(target: SIMDTarget) async throws {
    try await MatrixHarness.checkRandomCases(count: 40, target: target, make: { r in
      let bits = r.pick([1, 2, 3, 4, 6])
      let cols = r.pick([64, 65, 96, 128, 150, 192, 256, 320, 333, 700])
      let rows = r.pick([4, 5, 8, 9, 13, 17, 31])
      let gr = r.chance(0.5) ? 1 : r.divisor(of: rows)
      let gc = cols % 64 == 0 ? r.pick([1, cols / 64, cols / 32]) : 1
      let indices = try r.indices(bits: bits, shape: [rows, cols], garbagePadding: r.chance(0.5))
      let lut = try r.floatTensor(.fp16, shape: [gr, gc, 1 << bits, 1], MatrixCase.lutMix(&r, bits: bits, signalling: true))
      return MatrixCase(chain: .plain, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut)
    })
  }

  /// Every n with every column count 1…35 and a few multi-chunk ones, rows not a multiple of
  /// 2/4/8: chunk tails, rows starting mid-byte (n·cols not a multiple of 8), the fast/safe
  /// decode split at the end of the index buffer, column groups of every size.
  @Test("every n × cols 1…35, 47…49, 63…65", arguments: SIMDTarget.compiled)
  func everyColumnCount(target: SIMDTarget) throws {
    try requireSupported(target)
    for bits in DType.indexBits {
      for cols in Array(1...35) + [47, 48, 49, 63, 64, 65] {
        let seed = UInt64(bits << 16 | cols)
        var r = SplitMix64(seed: seed)
        let rows = r.pick([1, 2, 3, 5, 7, 9, 17])
        let entries = 1 << bits
        let gc = r.chance(0.5) ? 1 : r.divisor(of: cols)
        let gr = r.chance(0.7) ? 1 : r.divisor(of: rows)
        let indices = try r.indices(bits: bits, shape: [rows, cols], garbagePadding: true)
        let lut = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [gr, gc, entries, 1], .finite)
        var c = MatrixCase(chain: .plain, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut)
        if r.chance(0.3) {
          c = MatrixCase(chain: .postScale, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut,
                         scale: try r.floatTensor(r.pick([.fp16, .fp32]), shape: [r.divisor(of: rows), r.divisor(of: cols)], .finite))
        }
        try MatrixHarness.check(c, &r, target: target, label: "seed \(seed)")
      }
    }
  }

  /// Column groups of every kind of size: below a vector (1, 2, 3, 5), a vector (4, 8), not a
  /// chunk multiple (15, 17, 24), chunk multiples (16, 32, 48); 1–4 groups; with a per-row or
  /// per-column scale on some.
  @Test("column group sizes 1…48 × every n", arguments: SIMDTarget.compiled)
  func columnGroupSizes(target: SIMDTarget) throws {
    try requireSupported(target)
    for bits in DType.indexBits {
      for groupCols in [1, 2, 3, 4, 5, 8, 15, 16, 17, 24, 32, 48] {
        let seed = UInt64(bits << 8 | groupCols)
        var r = SplitMix64(seed: 0x6C00 + seed)
        let groups = r.int(1...4)
        let cols = groupCols * groups
        let rows = r.pick([1, 3, 8, 9])
        let gr = r.chance(0.3) ? rows : 1
        let indices = try r.indices(bits: bits, shape: [rows, cols], garbagePadding: true)
        let lut = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [gr, groups, 1 << bits, 1], .finite)
        var c = MatrixCase(chain: .plain, rows: rows, cols: cols, bits: bits, indices: indices, lut: lut)
        if r.chance(0.4) {
          c.scale = try r.floatTensor(r.pick([.fp16, .fp32]), shape: r.chance(0.5) ? [rows, 1] : [1, cols], .finite)
        }
        try MatrixHarness.check(c, &r, target: target, label: "seed \(0x6C00 + seed)")
      }
    }
  }

  /// Every fp16 bit pattern as a weight: [256, 256] with n = 8, one table per column (table c
  /// holds patterns c·256 … c·256 + 255) and row r indexing entry r. Unscaled (bit copies,
  /// signalling NaNs included), scaled in registers by an fp16 scale grid (RN16 of every
  /// value times a tie-prone, tiny, huge, zero, Inf or NaN scale), and with the scale folded
  /// into the LUT. Reference computed once, compared on every supported target.
  @Test("every fp16 value through decompression (plain, in-register and folded fp16 scales)")
  func everyHalfValue() throws {
    let indices = try Tensor(integers: (0..<65536).map { $0 / 256 }, dtype: .uint8, shape: [256, 256])
    let lut = try Tensor(fp16Bits: (0..<65536).map { UInt16($0) }, shape: [1, 256, 256, 1])
    var r = SplitMix64(seed: 0xF16)
    let interesting: [UInt16] = [
      0x3E00, 0x3555, 0x3C01, 0xBC01, 0x0001, 0x03FF, 0x0400, 0x7BFF, 0x1400, 0x5BFF, 0x2E66, 0x3A9A,
      0x0000, 0x8000, 0x7C00, 0x7E00, 0x3BFF, 0x3800, 0xB555, 0x4001,
    ]
    let grid = try Tensor(fp16Bits: (0..<256).map { _ in r.chance(0.6) ? r.pick(interesting) : r.fp16(.moderate) }, shape: [16, 16])
    let columnScale = try Tensor(fp16Bits: (0..<256).map { _ in r.chance(0.6) ? r.pick(interesting) : r.fp16(.moderate) }, shape: [1, 256, 1, 1])
    let cases = [
      MatrixCase(chain: .plain, rows: 256, cols: 256, bits: 8, indices: indices, lut: lut),
      MatrixCase(chain: .postScale, rows: 256, cols: 256, bits: 8, indices: indices, lut: lut, scale: grid),
      MatrixCase(chain: .lutScaleFolded, rows: 256, cols: 256, bits: 8, indices: indices, lut: lut, lutScale: columnScale),
    ]
    for c in cases {
      let expected = try c.referenceDense()
      let matrix = try c.matrix()
      for target in SIMDTarget.supported {
        expectBits(try matrix.decompress(target: target), expected, "target \(target) every fp16 value, \(c)")
      }
    }
  }

  /// The canonical per-channel-scale form exactly as coremltools writes it (FORMATS.md §7.6:
  /// apimodel_pal_n2_pcs): fp16 LUT [1, cols, 4, 1] repeated, lut_scale [1, cols, 1, 1] fp16.
  @Test("canonical per-channel scale [16, 32], n = 2", arguments: SIMDTarget.compiled)
  func canonicalPerChannelScale(target: SIMDTarget) throws {
    try requireSupported(target)
    var r = SplitMix64(seed: 0x5C)
    let lut = try MatrixCase.repeatedLUT(&r, dtype: .fp16, grid: (1, 32), base: (1, 1), bits: 2, mix: .finite)
    let c = MatrixCase(
      chain: .lutScaleRepeated, rows: 16, cols: 32, bits: 2,
      indices: try r.indices(bits: 2, shape: [16, 32], garbagePadding: false), lut: lut,
      lutScale: try r.floatTensor(.fp16, shape: [1, 32, 1, 1], .finite))
    try MatrixHarness.check(c, &r, target: target, label: "canonical")
    // The same weights as lut_to_dense → blockwise_shift_scale with scale [1, 32] (§7.6: "values
    // are identical bit-for-bit").
    let baseLUT = try Tensor(dtype: .fp16, shape: [1, 1, 4, 1], bytes: Array(lut.bytes.prefix(8)))
    let postScaled = try PalettizedMatrix(indices: c.indices, lut: baseLUT, scale: c.lutScale!.reshaped([1, 32]))
    expectBits(try postScaled.decompress(target: target), try c.matrix().decompress(target: target), "target \(target): lut_scale form vs scale form")
  }

  /// Batch and thread invariance, fused == dense(decompressed) == reference, on every target
  /// (the shared harness), for a random chain of each harness shape.
  @Test("batches 1…9, 32 and threads 2, 3, 7 on every target (shared harness)", .shrinking(false),
        arguments: MatrixHarness.Shape.standard)
  func invariance(shape: MatrixHarness.Shape) async throws {
    await Property.check(count: 1) { seed in
      var r = SplitMix64(seed: seed)
      let c = try MatrixCase.make(&r, maxWeights: .max, rows: shape.rows, cols: shape.cols)
      try MatrixHarness.checkInvariance(c.matrix(), expected: c.referenceDense(), shape: shape, seed: seed, label: "\(c)")
    }
  }

  /// Matrices are immutable once created and may be shared between threads: concurrent calls
  /// (some with 2 threads, competing for the pool) give the serial bits.
  @Test("a shared matrix gives the same bits on concurrent threads", .shrinking(false))
  func concurrentUse() async throws {
    await Property.check(count: 1) { seed in
      var r = SplitMix64(seed: seed)
      let c = try MatrixCase.make(&r, maxWeights: .max, rows: 256, cols: 512)
      try MatrixHarness.checkConcurrent(c.matrix(), seed: seed, label: "\(c)")
    }
  }
}
