import CKernels
import Foundation
import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// SparseMatrix (fused expand-GEMV) on every SIMD target, bit for bit:
//   decompress(target)  == the reference Core ML chain: sparse_to_dense (FORMATS.md §7.2),
//                          lut_to_sparse → sparse_to_dense (§7.4, §7.6), or
//                          sparse_blockwise_shift_scale → sparse_to_dense (§7.5, §7.6);
//   gemv(x, target)     == Reference.gemv(weights: that chain's output, x);
//   gemv(x, target)     == DenseMatrix(weights: decompress(target)).gemv(x, target);
//   y[b] of a batch     == the batch-1 result of row b;
//   threads 2, 3, 7     == threads 1 (MatrixHarness, shared with the other formats).

// MARK: - Masks

extension SplitMix64 {
  /// A mask density: none, all, nearly none / all, or uniform.
  mutating func maskDensity() -> Double {
    switch int(0..<8) {
    case 0: return 0
    case 1: return 1
    case 2: return 0.03
    case 3: return 0.97
    default: return Double.random(in: 0...1, using: &self)
    }
  }

  /// 0/1 mask elements of a [rows, cols] matrix with `density`; some rows all zero or all one
  /// (rows whose values are empty or full).
  mutating func maskBits(rows: Int, cols: Int, density: Double) -> [Int] {
    var bits = [Int]()
    bits.reserveCapacity(rows * cols)
    for _ in 0..<rows {
      let rowDensity = chance(0.15) ? 0 : (chance(0.1) ? 1 : density)
      for _ in 0..<cols { bits.append(chance(rowDensity) ? 1 : 0) }
    }
    return bits
  }

  /// A uint1 mask tensor of `bits`; with `garbagePadding` the unused high bits of the last byte
  /// are random (Core ML ignores them in iOS18 masks).
  mutating func maskTensor(_ bits: [Int], shape: [Int], garbagePadding: Bool) throws -> Tensor {
    var bytes = BitPacking.pack(bits, dtype: .uint1)
    if garbagePadding, bits.count % 8 != 0 {
      bytes[bytes.count - 1] |= UInt8(truncatingIfNeeded: next()) & UInt8(truncatingIfNeeded: 0xFF << (bits.count % 8))
    }
    return try Tensor(dtype: .uint1, shape: shape, bytes: bytes)
  }
}

// MARK: - Cases

/// A random pruned linear weight and the Core ML chain it is stored as.
struct SparseMatrixCase: CustomStringConvertible {
  let rows: Int
  let cols: Int
  let mask: Tensor
  /// fp16/fp32 non-zeros, (with `lut`) their uint1…uint8 LUT indices, or (with `scale`) their
  /// int4/uint4/int8/uint8 quantized values.
  let values: Tensor
  var lut: Tensor? = nil
  var scale: Tensor? = nil
  var offset: Tensor? = nil

  var nonzeros: Int { values.shape[0] }

  /// What the non-zeros are: random, stored values of a dtype, n-bit LUT indices with a
  /// grouping (0 per-tensor, 1 row groups, 2 column groups, 3 both; nil random), or quantized
  /// values of a dtype with a scale grid (nil random).
  enum Values {
    case random
    case stored(DType)
    case lut(bits: Int, grouping: Int?)
    case quantized(DType, grid: QuantMatrixCase.Grid?)
  }

  var description: String {
    var s = "[\(rows), \(cols)] D=\(nonzeros) values \(values.dtype)"
    if let lut { s += " lut \(lut.dtype)\(lut.shape)" }
    if let scale { s += " scale \(scale.dtype)\(scale.shape)" }
    if let offset { s += " offset \(offset.dtype)\(offset.shape)" }
    return s
  }

  /// Stored values: copied bit for bit, so any pattern; specials rare enough that most rows of
  /// a GEMV stay finite.
  static func valueMix(_ r: inout SplitMix64) -> ValueMix {
    ValueMix(special: r.pick([0, 0.01, 0.05]), signallingNaN: true, wide: 0.02)
  }

  /// The Core ML chain on the reference: the dense weights.
  func referenceDense() throws -> Tensor {
    if let lut {
      let sparse = try Reference.lutToSparse(indicesMask: mask, indicesNonzeroData: values, lut: lut, vectorAxis: nil)
      return try Reference.sparseToDenseIOS18(nonzeroData: sparse.nonzeroData, mask: sparse.mask)
    }
    if let scale {
      // As coremltools saves it: the original mask feeds sparse_to_dense.
      let sparse = try Reference.sparseBlockwiseShiftScale(dataMask: mask, nonzeroData: values, scale: scale, offset: offset)
      return try Reference.sparseToDenseIOS18(nonzeroData: sparse.nonzeroData, mask: mask)
    }
    return try Reference.sparseToDenseIOS18(nonzeroData: values, mask: mask)
  }

  func matrix() throws -> SparseMatrix {
    if let scale { return try SparseMatrix(mask: mask, values: values, scale: scale, offset: offset) }
    return try SparseMatrix(mask: mask, values: values, lut: lut)
  }

  var compressedBytes: Int {
    mask.bytes.count + values.bytes.count + (lut?.bytes.count ?? 0) + (scale?.bytes.count ?? 0) + (offset?.bytes.count ?? 0)
  }

  /// Stored fp16/fp32 values or n-bit LUT indices with a per-tensor, row-grouped,
  /// column-grouped or doubly grouped fp16/fp32 LUT.
  static func make(
    _ r: inout SplitMix64, rows: Int, cols: Int, density: Double? = nil, values: Values = .random
  ) throws -> SparseMatrixCase {
    let bits = r.maskBits(rows: rows, cols: cols, density: density ?? r.maskDensity())
    let mask = try r.maskTensor(bits, shape: [rows, cols], garbagePadding: r.chance(0.5))
    let d = bits.reduce(0, +)
    let floatType = r.pick([DType.fp16, .fp32])
    var choice = values
    if case .random = choice {
      switch r.int(0..<10) {
      case 0..<3: choice = .lut(bits: r.pick(DType.indexBits), grouping: nil)
      case 3..<6: choice = .quantized(r.pick(QuantMatrixCase.dataTypes), grid: nil)
      default: choice = .stored(floatType)
      }
    }
    if case .quantized(let dtype, let grid) = choice {
      return try quantized(&r, mask: mask, rows: rows, cols: cols, nonzeros: d, dtype: dtype, grid: grid)
    }
    guard case .lut(let n, let grouping) = choice else {
      guard case .stored(let dtype) = choice else { preconditionFailure() }
      return SparseMatrixCase(rows: rows, cols: cols, mask: mask, values: try r.floatTensor(dtype, shape: [d], valueMix(&r)))
    }
    var (gr, gc) = (1, 1)
    switch grouping ?? r.int(0..<4) {
    case 1: gr = r.divisor(of: rows)
    case 2: gc = r.divisor(of: cols)
    case 3: (gr, gc) = (r.divisor(of: rows), r.divisor(of: cols))
    default: break
    }
    while gr * gc * (1 << n) > 16384 {
      if gc > 1 { gc = Shapes.divisors(cols).last(where: { $0 < gc })! } else { gr = Shapes.divisors(rows).last(where: { $0 < gr })! }
    }
    let indices = try r.indices(bits: n, shape: [d], garbagePadding: r.chance(0.5))
    let lut = try r.floatTensor(floatType, shape: [gr, gc, 1 << n, 1], valueMix(&r))
    return SparseMatrixCase(rows: rows, cols: cols, mask: mask, values: indices, lut: lut)
  }

  /// Quantized non-zeros with a scale grid over [rows, cols] and a random offset kind.
  static func quantized(
    _ r: inout SplitMix64, mask: Tensor, rows: Int, cols: Int, nonzeros d: Int, dtype: DType,
    grid fixedGrid: QuantMatrixCase.Grid?
  ) throws -> SparseMatrixCase {
    let grid = fixedGrid ?? r.pick(QuantMatrixCase.Grid.allCases)
    let gridShape = grid.shape(rows: rows, cols: cols, block: r.divisor(of: cols), &r)
    let (scale, offset) = try QuantMatrixCase.scaleAndOffset(&r, dataType: dtype, gridShape: gridShape)
    return SparseMatrixCase(
      rows: rows, cols: cols, mask: mask, values: try QuantMatrixCase.quantizedData(&r, dtype, shape: [d]),
      scale: scale, offset: offset)
  }

  static func make(_ r: inout SplitMix64, maxWeights: Int = 2500) throws -> SparseMatrixCase {
    let cols = r.chance(0.8) ? r.pick(MatrixCase.colChoices) : r.int(1...70)
    var rows = r.chance(0.8) ? r.pick(MatrixCase.rowChoices) : r.int(1...70)
    if rows * cols > maxWeights { rows = max(1, maxWeights / cols) }
    return try make(&r, rows: rows, cols: cols)
  }
}

// MARK: - Properties

extension SparseMatrixCase: MatrixTestCase {
  static var format: MatrixFormat { .sparse }

  func expectDetails(_ matrix: SparseMatrix, context: String) {
    #expect(matrix.nonzeroCount == nonzeros, "\(context): nonzeroCount \(matrix.nonzeroCount)")
    #expect(matrix.bits == lut.map { _ in values.dtype.bits }, "\(context): bits \(String(describing: matrix.bits))")
    #expect(matrix.valueType == values.dtype, "\(context): valueType \(matrix.valueType)")
  }

  /// 1–3 rows (sometimes rank 1).
  func activations(_ r: inout SplitMix64) throws -> Tensor {
    let batch = r.int(1...3)
    return try SparseMatrixTests.activations(&r, cols: cols, batch: batch, rank1: batch == 1 && r.chance(0.5))
  }
}

@Suite("SparseMatrix on every target == reference chain, fused == dense(decompressed)")
struct SparseMatrixTests {
  /// Activations: usually finite; sometimes ±Inf/NaN (0·Inf = NaN at pruned weights).
  static func activations(_ r: inout SplitMix64, cols: Int, batch: Int, rank1: Bool) throws -> Tensor {
    let mix = ValueMix(special: r.chance(0.3) ? 0.03 : 0, wide: 0.01)
    return try r.floatTensor(r.pick([DType.fp16, .fp32]), shape: rank1 ? [cols] : [batch, cols], mix)
  }

  @Test("random shapes, densities, stored, LUT and quantized values", .shrinking(false), arguments: SIMDTarget.compiled)
  func randomMatrices(target: SIMDTarget) async throws {
    try await MatrixHarness.checkRandomCases(count: 120, target: target, make: { try SparseMatrixCase.make(&$0) })
  }

  /// Long rows (many 16-column chunks): the expand's steady state and the bounds-checked rows
  /// at the end of the mask and value buffers.
  @Test("long rows (cols 127…700)", .shrinking(false), arguments: SIMDTarget.compiled)
  func longRows(target: SIMDTarget) async throws {
    try await MatrixHarness.checkRandomCases(count: 10, target: target, make: { r in
      let cols = r.pick([127, 128, 129, 255, 256, 257, 400, 512, 700])
      return try SparseMatrixCase.make(&r, rows: r.int(1...24), cols: cols)
    })
  }

  /// Every column count 1…35 and a few multi-chunk ones, with fp16, fp32 and LUT values at
  /// densities 0, 1 and random: rows starting at every bit offset of the mask, chunk tails, and
  /// the last rows whose 16-byte value groups would reach past the end of the values.
  @Test("every cols 1…35, 47…49, 63…65 × fp16 / fp32 / LUT / int4 / int8 × density", arguments: SIMDTarget.compiled)
  func everyColumnCount(target: SIMDTarget) throws {
    try requireSupported(target)
    for cols in Array(1...35) + [47, 48, 49, 63, 64, 65] {
      for kind in 0..<5 {
        let seed = UInt64(cols << 8 | kind)
        var r = SplitMix64(seed: 0x5A00_0000 + seed)
        let rows = r.pick([1, 2, 3, 5, 7, 9, 17])
        let density = [0, 1, Double.random(in: 0...1, using: &r)][r.int(0..<3)]
        let choices: [SparseMatrixCase.Values] = [
          .stored(.fp16), .stored(.fp32), .lut(bits: r.pick(DType.indexBits), grouping: nil),
          .quantized(r.pick([.int4, .uint4]), grid: nil), .quantized(r.pick([.int8, .uint8]), grid: nil),
        ]
        let values = choices[kind]
        let c = try SparseMatrixCase.make(&r, rows: rows, cols: cols, density: density, values: values)
        try MatrixHarness.check(c, &r, target: target, label: "seed \(hex(0x5A00_0000 + seed))")
      }
    }
  }

  /// Every n × per-tensor, row-grouped, column-grouped and doubly grouped LUTs, fp16 and fp32.
  @Test("sparse + LUT: every n × every grouping", arguments: SIMDTarget.compiled)
  func lutGroupings(target: SIMDTarget) throws {
    try requireSupported(target)
    for n in DType.indexBits {
      for grouping in 0..<4 {
        let seed = UInt64(0x5B00 + n << 4 | grouping)
        var r = SplitMix64(seed: seed)
        let c = try SparseMatrixCase.make(
          &r, rows: r.pick([6, 8, 12, 24]), cols: r.pick([16, 24, 40, 48, 96]), values: .lut(bits: n, grouping: grouping))
        try MatrixHarness.check(c, &r, target: target, label: "seed \(hex(seed))")
      }
    }
  }

  /// Sparse + LUT of at most 4 bits with one column group, which AVX3_DL decodes 64 columns a
  /// step: rows whose mask bits start at every bit offset, so that a step's mask word straddles
  /// bytes.
  @Test("sparse + LUT: 64-column steps at every mask bit offset", arguments: SIMDTarget.compiled)
  func lutStepsAtEveryBitOffset(target: SIMDTarget) throws {
    try requireSupported(target)
    for n in 1...4 {
      for cols in [71, 129, 203] {
        for k in 0..<4 {
          let seed = UInt64(0x5C00_0000 + n << 16 + cols << 4 + k)
          var r = SplitMix64(seed: seed)
          let c = try SparseMatrixCase.make(&r, rows: 9, cols: cols, values: .lut(bits: n, grouping: k % 2))
          try MatrixHarness.check(c, &r, target: target, label: "seed \(hex(seed))")
        }
      }
    }
  }

  /// Sparse + quantized: every data type × every scale grid, fp16 and fp32 scales, random
  /// offsets; a pruned weight stays +0 even where its block's offset makes 0 dequantize to
  /// non-zero.
  @Test("sparse + quantized: every data type × every grid", arguments: SIMDTarget.compiled)
  func quantizedGrids(target: SIMDTarget) throws {
    try requireSupported(target)
    for (t, dtype) in QuantMatrixCase.dataTypes.enumerated() {
      for (g, grid) in QuantMatrixCase.Grid.allCases.enumerated() {
        let seed = UInt64(0x5C00 + t << 4 | g)
        var r = SplitMix64(seed: seed)
        let c = try SparseMatrixCase.make(
          &r, rows: r.pick([3, 6, 8, 12]), cols: r.pick([16, 24, 40, 48, 96, 100]), values: .quantized(dtype, grid: grid))
        try MatrixHarness.check(c, &r, target: target, label: "seed \(hex(seed))")
      }
    }
  }

  /// Sparse + int8/uint8 without offsets over 64-column steps, which AVX3_DL expands four chunks
  /// at a time leaving a pruned lane's q = 0 to weigh s * 0: negative scales (-0 there, which
  /// every product treats as +0) and infinite ones (s * 0 would be NaN: those lanes are cleared,
  /// which positive non-zeros and a positive x show: the row's product is an infinity, not NaN).
  @Test("sparse + int8: pruned lanes under negative and infinite scales", arguments: SIMDTarget.compiled)
  func prunedLanesUnderScales(target: SIMDTarget) throws {
    try requireSupported(target)
    var r = SplitMix64(seed: 0x5A4B)
    let rows = 6, cols = 200
    let bits = (0..<(rows * cols)).map { _ in r.chance(0.5) ? 1 : 0 }
    let d = bits.reduce(0, +)
    let mask = try r.maskTensor(bits, shape: [rows, cols], garbagePadding: false)
    let x = try Tensor(floats: (0..<(2 * cols)).map { _ in Float(r.int(1...64)) / 16 }, shape: [2, cols])
    for dtype in [DType.int8, .uint8] {
      let values = try Tensor(integers: (0..<d).map { _ in r.int(1...127) }, dtype: dtype, shape: [d])
      for f16 in [false, true] {
        // -1.5, +inf, -2, -inf, 0.75, -0 per row.
        let scale = f16
          ? try Tensor(fp16Bits: [0xBE00, 0x7C00, 0xC000, 0xFC00, 0x3A00, 0x8000], shape: [rows, 1])
          : try Tensor(fp32Bits: [0xBFC0_0000, 0x7F80_0000, 0xC000_0000, 0xFF80_0000, 0x3F40_0000, 0x8000_0000], shape: [rows, 1])
        for offset in [nil, try Tensor(integers: Array(repeating: 0, count: rows), dtype: dtype, shape: [rows, 1])] {
          let c = SparseMatrixCase(rows: rows, cols: cols, mask: mask, values: values, scale: scale, offset: offset)
          let label = "\(dtype) f16 scale \(f16) offset \(offset != nil)"
          try MatrixHarness.check(c, &r, target: target, label: label)
          try MatrixHarness.checkCase(
            try c.matrix(), expected: try c.referenceDense(), format: SparseMatrixCase.format,
            compressedBytes: c.compressedBytes, x: x, target: target, context: "\(label) target \(target) positive x")
        }
      }
    }
  }

  /// Sparse + int8/uint8 with an fp16 scale per row (or per tensor, the same layout) and no
  /// offset, which AVX3_DL dequantizes packed into panels of 1024 columns: rows across panel
  /// boundaries, chunks past the last 64-column step, batches through the panel product, and
  /// densities from nearly empty to full.
  @Test("sparse + int8 per row: rows across 1024-column panels", .shrinking(false), arguments: SIMDTarget.compiled)
  func perRowPanels(target: SIMDTarget) throws {
    try requireSupported(target)
    for k in 0..<8 {
      let seed = UInt64(0x5A50_0000 + k)
      var r = SplitMix64(seed: seed)
      let rows = r.int(2...7), cols = r.pick([1088, 1109, 2112, 3003])
      let bits = r.maskBits(rows: rows, cols: cols, density: r.pick([0.03, 0.5, 0.9, 1.0]))
      let d = bits.reduce(0, +)
      let dtype = r.pick([DType.int8, .uint8])
      let scale = try r.floatTensor(.fp16, shape: r.chance(0.8) ? [rows, 1] : [1, 1], QuantMatrixCase.scaleMix(&r))
      let c = SparseMatrixCase(
        rows: rows, cols: cols, mask: try r.maskTensor(bits, shape: [rows, cols], garbagePadding: r.chance(0.5)),
        values: try QuantMatrixCase.quantizedData(&r, dtype, shape: [d]), scale: scale)
      let batch = r.pick([1, 2, 5, 9])
      let x = try SparseMatrixTests.activations(&r, cols: cols, batch: batch, rank1: false)
      try MatrixHarness.checkCase(
        try c.matrix(), expected: try c.referenceDense(), format: SparseMatrixCase.format,
        compressedBytes: c.compressedBytes, x: x, target: target, context: "seed \(hex(seed)) \(c) batch \(batch)")
    }
  }

  /// Sparse + quantized with a NaN float offset and a NaN scale in one block: a kept weight is
  /// the difference's NaN (docs/ARITHMETIC.md §1, fp16: rounded first), a pruned one +0.
  @Test("sparse + quantized: a NaN offset meets a NaN scale", arguments: SIMDTarget.compiled)
  func nanOffsetAndScale(target: SIMDTarget) throws {
    try requireSupported(target)
    var r = SplitMix64(seed: 0x5A4A)
    let bits = (0..<(4 * 40)).map { $0 % 3 == 0 ? 0 : 1 }
    let d = bits.reduce(0, +)
    let mask = try r.maskTensor(bits, shape: [4, 40], garbagePadding: false)
    let values = try Tensor(integers: (0..<d).map { $0 % 13 - 6 }, dtype: .int8, shape: [d])
    for f16 in [false, true] {
      let scale = f16 ? try Tensor(fp16Bits: [0x7E03, 0x3C00], shape: [2, 1]) : try Tensor(fp32Bits: [0x7FC0_0003, 0x3F80_0000], shape: [2, 1])
      let offset = f16 ? try Tensor(fp16Bits: [0x7D01, 0x7D01], shape: [2, 1]) : try Tensor(fp32Bits: [0x7FA0_0002, 0x7FA0_0002], shape: [2, 1])
      let c = SparseMatrixCase(rows: 4, cols: 40, mask: mask, values: values, scale: scale, offset: offset)
      let got = try c.matrix().decompress(target: target)
      let nan: UInt32 = f16 ? 0x7F01 : 0x7FE0_0002
      let expected = bits.map { $0 == 1 ? nan : 0 }
      let gotBits = f16 ? got.fp16Bits().map(UInt32.init) : got.fp32Bits()
      #expect(gotBits == expected, "target \(target) f16 \(f16): \(gotBits.prefix(6).map { hex(UInt64($0), width: 8) })")
      try MatrixHarness.check(c, &r, target: target, label: "NaN offset and scale, f16 \(f16)")
    }
  }

  /// A pruned weight is +0, and 0·Inf = NaN in the canonical order: an all-zero row against an
  /// x holding Inf gives the canonical NaN, on the fused path as on the dense one.
  @Test("pruned weights take part: 0 · Inf = NaN", arguments: SIMDTarget.compiled)
  func zeroTimesInfinity(target: SIMDTarget) throws {
    try requireSupported(target)
    for (cols, infColumn) in [(5, 3), (16, 15), (40, 33), (64, 0)] {
      var r = SplitMix64(seed: UInt64(cols))
      // Row 0 all zero, row 1 non-zero everywhere except infColumn, row 2 dense.
      var bits = [Int](repeating: 0, count: cols) + [Int](repeating: 1, count: 2 * cols)
      bits[cols + infColumn] = 0
      let mask = try r.maskTensor(bits, shape: [3, cols], garbagePadding: true)
      for (valueType, xType) in [(DType.fp16, DType.fp16), (.fp16, .fp32), (.fp32, .fp16), (.fp32, .fp32)] {
        let values = try r.floatTensor(valueType, shape: [bits.reduce(0, +)], .finite)
        let c = SparseMatrixCase(rows: 3, cols: cols, mask: mask, values: values)
        let negative = r.chance(0.5)
        var x = try r.floatTensor(xType, shape: [cols], .finite)
        var xBytes = x.bytes
        let inf: [UInt8] = xType == .fp16 ? [0x00, negative ? 0xFC : 0x7C] : [0x00, 0x00, 0x80, negative ? 0xFF : 0x7F]
        xBytes.replaceSubrange((infColumn * inf.count)..<((infColumn + 1) * inf.count), with: inf)
        x = try Tensor(dtype: xType, shape: [cols], bytes: xBytes)
        let y = try c.matrix().gemv(x, target: target)
        let expected = try Reference.gemv(weights: c.referenceDense(), x: x, outputType: .fp32)
        let context = "target \(target) \(c) x \(xType) Inf at \(infColumn)"
        expectBits(y, expected, context)
        // Rows 0 and 1 have a zero at the Inf: NaN. Row 2 multiplies Inf by a finite non-zero.
        let out = y.fp32Bits()
        #expect(out[0] == 0x7FC0_0000 && out[1] == 0x7FC0_0000, "\(context): \(out.map { hex(UInt64($0), width: 8) })")
        #expect(Float(bitPattern: out[2]).isInfinite, "\(context): row 2 \(hex(UInt64(out[2]), width: 8))")
      }
    }
  }

  /// Set padding bits in the mask's last byte change nothing: same count, weights and products as
  /// the clean mask.
  @Test("garbage mask padding bits are ignored", arguments: SIMDTarget.compiled)
  func garbagePadding(target: SIMDTarget) throws {
    try requireSupported(target)
    for (rows, cols) in [(1, 1), (1, 7), (3, 5), (5, 13), (7, 17), (9, 33), (3, 65)] {
      var r = SplitMix64(seed: UInt64(rows << 8 | cols))
      let bits = r.maskBits(rows: rows, cols: cols, density: 0.5)
      var dirty = BitPacking.pack(bits, dtype: .uint1)
      dirty[dirty.count - 1] |= UInt8(truncatingIfNeeded: 0xFF << ((rows * cols) % 8))
      let cleanMask = try Tensor(integers: bits, dtype: .uint1, shape: [rows, cols])
      let dirtyMask = try Tensor(dtype: .uint1, shape: [rows, cols], bytes: dirty)
      let d = bits.reduce(0, +)
      let x = try r.floatTensor(.fp16, shape: [2, cols], .finite)
      for lut in [nil, try r.floatTensor(.fp16, shape: [1, 1, 4, 1], .finite)] {
        let values = try lut == nil ? r.floatTensor(.fp32, shape: [d], .anyBits) : r.indices(bits: 2, shape: [d], garbagePadding: true)
        let clean = try SparseMatrix(mask: cleanMask, values: values, lut: lut)
        let matrix = try SparseMatrix(mask: dirtyMask, values: values, lut: lut)
        let context = "target \(target) [\(rows), \(cols)] lut \(lut != nil)"
        #expect(matrix.nonzeroCount == d, "\(context): nonzeroCount \(matrix.nonzeroCount)")
        expectBits(try matrix.decompress(target: target), try clean.decompress(target: target), "\(context): decompress")
        expectBits(try matrix.gemv(x, target: target), try clean.gemv(x, target: target), "\(context): gemv")
      }
    }
  }

  /// Every fp16 bit pattern as a stored value of a half-dense [256, 512] mask, and random fp32
  /// patterns through a 3/4-dense one: the expand copies bits (signalling NaNs, −0, subnormals).
  @Test("every fp16 bit pattern through the expand")
  func everyHalfPattern() throws {
    var r = SplitMix64(seed: 0x5F16)
    var bits = [Int](repeating: 1, count: 65536) + [Int](repeating: 0, count: 65536)
    bits.shuffle(using: &r)
    let mask = try Tensor(integers: bits, dtype: .uint1, shape: [256, 512])
    let f16 = SparseMatrixCase(rows: 256, cols: 512, mask: mask, values: try Tensor(fp16Bits: (0..<65536).map { UInt16($0) }, shape: [65536]))
    let wideBits = (0..<(96 * 96)).map { _ in r.chance(0.75) ? 1 : 0 }
    let f32 = SparseMatrixCase(
      rows: 96, cols: 96, mask: try Tensor(integers: wideBits, dtype: .uint1, shape: [96, 96]),
      values: try r.floatTensor(.fp32, shape: [wideBits.reduce(0, +)], .anyBits))
    for c in [f16, f32] {
      let expected = try c.referenceDense()
      let matrix = try c.matrix()
      for target in SIMDTarget.supported {
        expectBits(try matrix.decompress(target: target), expected, "target \(target) \(c)")
      }
    }
  }

  /// Decompressions of 4 MiB and more are written with streaming stores (sparse_kernels.cc,
  /// SparseExpand; on AVX3_DL fp16 32 columns a step from the output's first 64-byte boundary):
  /// stored fp16 and fp32 values of that size equal the reference on every target, into outputs
  /// on a 64-byte boundary, 16 and 48 bytes past one (steps start after a few groups) and 2 past
  /// (not streamed), with one thread (one task over every row) and two.
  @Test("large decompression (streaming stores, output offsets) == reference")
  func largeDecompression() throws {
    var r = SplitMix64(seed: 0x5A7E)
    for (dtype, cols) in [(DType.fp16, 2048), (.fp32, 1024)] {
      let bits = r.maskBits(rows: 1024, cols: cols, density: 0.5)
      let c = SparseMatrixCase(
        rows: 1024, cols: cols, mask: try Tensor(integers: bits, dtype: .uint1, shape: [1024, cols]),
        values: try r.floatTensor(dtype, shape: [bits.reduce(0, +)], .anyBits))
      let expected = try c.referenceDense()
      #expect(expected.bytes.count == 4 << 20)
      let m = try CMatrix.sparse(mask: c.mask, values: c.values)
      for target in SIMDTarget.supported {
        for offset in [0, 16, 48, 2] {
          for threads: UInt32 in [1, 2] {
            let out = m.run(bytes: expected.bytes.count, offset: offset, setUp: { $0.target = target.rawValue; $0.threads = threads }) {
              wk_matrix_decompress($0, $1, $2)
            }
            #expect(out.status == WK_OK && out.output == expected.bytes,
                    "target \(target) \(dtype) offset \(offset) threads \(threads): large decompress differs (\(statusName(out.status)) \(out.message))")
          }
        }
      }
    }
  }

  /// Batch and thread invariance, fused == dense(decompressed) == reference, on every target
  /// (the shared harness): stored, LUT and quantized values on each harness shape.
  @Test("batches 1…9, 32 and threads 2, 3, 7 on every target (shared harness)", .shrinking(false),
        arguments: MatrixHarness.Shape.standard)
  func invariance(shape: MatrixHarness.Shape) async throws {
    await Property.check(count: 1) { seed in
      var r = SplitMix64(seed: seed)
      let kinds: [SparseMatrixCase.Values] = [
        .stored(r.pick([.fp16, .fp32])), .lut(bits: r.pick(DType.indexBits), grouping: nil),
        .quantized(r.pick(QuantMatrixCase.dataTypes), grid: nil),
      ]
      for values in kinds {
        let c = try SparseMatrixCase.make(&r, rows: shape.rows, cols: shape.cols, values: values)
        try MatrixHarness.checkInvariance(c.matrix(), expected: c.referenceDense(), shape: shape, seed: seed, label: "\(c)")
      }
    }
  }

  /// Matrices are immutable once created and may be shared between threads: concurrent calls
  /// (some with 2 threads, competing for the pool) give the serial bits.
  @Test("a shared matrix gives the same bits on concurrent threads", .shrinking(false))
  func concurrentUse() async throws {
    await Property.check(count: 1) { seed in
      var r = SplitMix64(seed: seed)
      let c = try SparseMatrixCase.make(&r, rows: 256, cols: 512, density: 0.4, values: .lut(bits: 4, grouping: 2))
      try MatrixHarness.checkConcurrent(c.matrix(), seed: seed, label: "\(c)")
    }
  }
}

// MARK: - Invalid inputs

/// A tensor of `dtype` and `shape` whose bytes are zero.
private func zeros(_ dtype: DType, _ shape: [Int]) throws -> Tensor {
  try Tensor(dtype: dtype, shape: shape, bytes: [UInt8](repeating: 0, count: Tensor.byteCount(dtype: dtype, count: shape.reduce(1, *))))
}

/// `body` throws a WeightKernelsError of kind `expected` with a message.
private func expectKind<T>(
  _ expected: WeightKernelsError.Kind, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
  _ body: () throws -> T
) {
  let outcome = Outcome(body)
  #expect(outcome.kind == expected, "\(what): expected \(expected), got \(outcome)", sourceLocation: sourceLocation)
  if case .error(let e) = outcome {
    #expect(!e.message.isEmpty, "\(what): empty message", sourceLocation: sourceLocation)
  }
}

@Suite("SparseMatrix rejects invalid chains with the right error kind")
struct SparseMatrixInvalidTests {
  @Test("wrong popcount, dtypes, ranks, LUT layouts")
  func creation() throws {
    var r = SplitMix64(seed: 0x5E)
    let bits = r.maskBits(rows: 6, cols: 20, density: 0.5)
    let d = bits.reduce(0, +)
    let mask = try Tensor(integers: bits, dtype: .uint1, shape: [6, 20])
    let values = try r.floatTensor(.fp16, shape: [d], .finite)
    let indices = try r.indices(bits: 3, shape: [d], garbagePadding: false)
    let lut = try r.floatTensor(.fp32, shape: [2, 4, 8, 1], .finite)
    _ = try SparseMatrix(mask: mask, values: values)
    _ = try SparseMatrix(mask: mask, values: indices, lut: lut)

    // Popcount: one value more or fewer than the mask's ones, stored or palettized.
    for delta in [-1, 1] {
      expectKind(.invalidShape, "D = ones \(delta)") { try SparseMatrix(mask: mask, values: try zeros(.fp32, [d + delta])) }
      expectKind(.invalidShape, "LUT indices D = ones \(delta)") {
        try SparseMatrix(mask: mask, values: try zeros(.uint3, [d + delta]), lut: lut)
      }
    }
    // A set padding bit is not a one: counting it would make D + 1 values match.
    var dirty = BitPacking.pack([1, 0, 1], dtype: .uint1)
    dirty[0] |= 0x80
    expectKind(.invalidShape, "padding bit counted") {
      try SparseMatrix(mask: try Tensor(dtype: .uint1, shape: [1, 3], bytes: dirty), values: try zeros(.fp16, [3]))
    }

    // dtypes.
    expectKind(.invalidDType, "uint8 mask") {
      try SparseMatrix(mask: try Tensor(integers: bits, dtype: .uint8, shape: [6, 20]), values: values)
    }
    for dtype in [DType.int8, .uint8, .int4, .uint4, .int16, .int32, .uint1] {
      expectKind(.invalidDType, "stored values \(dtype)") { try SparseMatrix(mask: mask, values: try zeros(dtype, [d])) }
    }
    for dtype in [DType.fp16, .fp32, .int8, .int4, .uint16] {
      expectKind(.invalidDType, "LUT indices \(dtype)") { try SparseMatrix(mask: mask, values: try zeros(dtype, [d]), lut: lut) }
    }
    // An int8/uint8 LUT (quantized palettization) is valid for the op but not fused.
    for dtype in [DType.int8, .uint8, .int16, .uint32, .uint4] {
      expectKind(.invalidDType, "\(dtype) LUT") { try SparseMatrix(mask: mask, values: indices, lut: try zeros(dtype, [1, 1, 8, 1])) }
    }

    // Sparse + quantized: integer values only; a LUT and a scale together are not fused; an
    // offset needs a scale; scale grids as blockwise_shift_scale.
    let scale = try r.floatTensor(.fp16, shape: [6, 1], .finite)
    _ = try SparseMatrix(mask: mask, values: try zeros(.int4, [d]), scale: scale, offset: try zeros(.int4, [6, 1]))
    for dtype in [DType.fp16, .fp32, .uint1, .uint2, .int16] {
      expectKind(.invalidDType, "quantized values \(dtype)") { try SparseMatrix(mask: mask, values: try zeros(dtype, [d]), scale: scale) }
    }
    expectKind(.invalidShape, "quantized D = ones + 1") { try SparseMatrix(mask: mask, values: try zeros(.int8, [d + 1]), scale: scale) }
    for shape in [[4, 1], [1, 3], [6, 20, 1], [6]] {
      expectKind(.invalidShape, "scale shape \(shape)") { try SparseMatrix(mask: mask, values: try zeros(.int8, [d]), scale: try zeros(.fp16, shape)) }
    }
    expectKind(.invalidDType, "int8 scale") { try SparseMatrix(mask: mask, values: try zeros(.int8, [d]), scale: try zeros(.int8, [6, 1])) }
    expectKind(.invalidDType, "uint8 offset for int8 values") {
      try SparseMatrix(mask: mask, values: try zeros(.int8, [d]), scale: scale, offset: try zeros(.uint8, [6, 1]))
    }
    expectKind(.invalidShape, "offset shape unlike the scale's") {
      try SparseMatrix(mask: mask, values: try zeros(.int8, [d]), scale: scale, offset: try zeros(.int8, [1, 1]))
    }
    expectKind(.unsupported, "fp32 offset with an fp16 scale") {
      try SparseMatrix(mask: mask, values: try zeros(.int8, [d]), scale: scale, offset: try zeros(.fp32, [6, 1]))
    }

    // Vector palettization is not fused.
    for v in [2, 3] {
      expectKind(.unsupported, "vector LUT V = \(v)") { try SparseMatrix(mask: mask, values: indices, lut: try zeros(.fp16, [1, 1, 8, v])) }
    }

    // Ranks and extents.
    for shape in [[120], [2, 3, 20], [1, 6, 20], [], [0, 5], [5, 0]] {
      let count = shape.reduce(1, *)
      let m = try Tensor(integers: Array(bits.prefix(count)) + [Int](repeating: 0, count: max(0, count - bits.count)), dtype: .uint1, shape: shape)
      let ones = m.integers().reduce(0, +)
      expectKind(.invalidShape, "mask shape \(shape)") { try SparseMatrix(mask: m, values: try zeros(.fp16, [ones])) }
    }
    expectKind(.invalidShape, "values rank 2") { try SparseMatrix(mask: mask, values: try values.reshaped([d, 1])) }
    expectKind(.invalidShape, "values rank 0") {
      try SparseMatrix(mask: try Tensor(integers: [0, 1, 0], dtype: .uint1, shape: [1, 3]), values: try zeros(.fp32, []))
    }

    // LUT layout: groups not dividing, wrong entry count, wrong rank.
    for shape in [[4, 1, 8, 1], [1, 3, 8, 1], [0, 1, 8, 1], [1, 1, 4, 1], [1, 1, 16, 1], [8, 1], [1, 8, 1], [1, 1, 1, 8, 1]] {
      expectKind(.invalidShape, "lut shape \(shape)") { try SparseMatrix(mask: mask, values: indices, lut: try zeros(.fp16, shape)) }
    }
  }

  @Test("gemv and decompress operands")
  func operands() throws {
    var r = SplitMix64(seed: 0x5F)
    let bits = r.maskBits(rows: 4, cols: 9, density: 0.5)
    let matrix = try SparseMatrix(
      mask: try Tensor(integers: bits, dtype: .uint1, shape: [4, 9]),
      values: try r.floatTensor(.fp32, shape: [bits.reduce(0, +)], .finite))
    let x = try r.floatTensor(.fp32, shape: [9], .finite)
    expectKind(.invalidShape, "x of 8 columns") { try matrix.gemv(try zeros(.fp32, [8])) }
    expectKind(.invalidShape, "x rank 3") { try matrix.gemv(try zeros(.fp32, [1, 1, 9])) }
    expectKind(.invalidDType, "x int8") { try matrix.gemv(try zeros(.int8, [9])) }
    expectKind(.invalidDType, "y int8") { try matrix.gemv(x, outputType: .int8) }
    expectKind(.sizeMismatch, "decompress into too small a buffer") {
      var small = [UInt8](repeating: 0, count: 4 * 36 - 1)
      try small.withUnsafeMutableBytes { try matrix.decompress(into: $0) }
    }
    for target in SIMDTarget.compiled where !target.isSupported {
      expectKind(.unsupportedTarget, "unsupported target \(target)") { try matrix.gemv(x, target: target) }
    }
  }
}
