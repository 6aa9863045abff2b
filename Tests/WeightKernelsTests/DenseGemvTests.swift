import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// DenseMatrix.gemv on every SIMD target == Reference.gemv (the canonical order of
// docs/ARITHMETIC.md: 16 fma partial sums, fixed tree, canonical NaN), bit for bit; batch and
// thread invariance through MatrixHarness (shared with the compressed formats).

@Suite("dense GEMV on every target == reference")
struct DenseGemvTests {
  static let colChoices = Array(1...70)
  static let boundaryCols = [1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 37, 47, 48, 49, 63, 64, 65, 70]

  /// One case on one target; returns the library's y for further checks.
  @discardableResult
  static func check(
    weights: Tensor, x: Tensor, yType: DType, target: SIMDTarget, context: String
  ) throws -> Tensor {
    let expected = try Reference.gemv(weights: weights, x: x, outputType: yType)
    let matrix = try DenseMatrix(weights: weights)
    #expect(matrix.format == .dense && matrix.rows == weights.shape[0] && matrix.cols == weights.shape[1]
            && matrix.weightType == weights.dtype && matrix.compressedByteCount == weights.bytes.count, "\(context): properties")
    let actual = try matrix.gemv(x, outputType: yType, target: target)
    expectBits(actual, expected, "\(context) target \(target) w \(weights.dtype)\(weights.shape) x \(x.dtype)\(x.shape) y \(yType)")
    expectCanonicalNaNs(actual, yType: yType, "\(context) target \(target)")
    return actual
  }

  /// NaN outputs are the canonical quiet NaN, whatever the inputs' NaNs were.
  static func expectCanonicalNaNs(_ y: Tensor, yType: DType, _ context: String) {
    let canonical: UInt64 = yType == .fp32 ? 0x7FC0_0000 : 0x7E00
    for i in 0..<y.count {
      let bits = y.rawElement(i)
      let isNaN = yType == .fp32 ? Float(bitPattern: UInt32(bits)).isNaN : Float16(bitPattern: UInt16(bits)).isNaN
      if isNaN && bits != canonical {
        Issue.record("\(context): y[\(i)] is the non-canonical NaN \(hex(bits, width: 4))")
        break
      }
    }
  }

  @Test("random shapes, dtypes, special values, batches", .shrinking(false), arguments: SIMDTarget.compiled)
  func randomCases(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 300) { seed in
      var r = SplitMix64(seed: seed)
      let cols = r.chance(0.7) ? r.pick(Self.boundaryCols) : r.int(1...70)
      let rows = r.chance(0.7) ? r.pick(MatrixCase.rowChoices) : r.int(1...70)
      let batch = r.chance(0.9) ? r.int(1...4) : r.pick([5, 8])
      // Specials in a minority of cases so that most outputs stay finite and informative.
      let mix = ValueMix(special: r.pick([0, 0, 0.01, 0.05]), signallingNaN: r.chance(0.3), wide: r.pick([0, 0.02, 0.3]))
      let weights = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [rows, cols], mix)
      let xShape = batch == 1 && r.chance(0.5) ? [cols] : [batch, cols]
      let x = try r.floatTensor(r.pick([.fp16, .fp32]), shape: xShape, mix)
      let matrix = try DenseMatrix(weights: weights)
      MatrixHarness.checkProperties(matrix, expected: weights, format: .dense, compressedBytes: weights.bytes.count,
                                    context: "seed \(hex(seed))")
      try MatrixHarness.expectProducts(
        x: x, context: "seed \(hex(seed)) target \(target) w \(weights.dtype)\(weights.shape)",
        reference: { try Reference.gemv(weights: weights, x: x, outputType: $0) },
        product: { try matrix.gemv($0, outputType: $1, target: target) },
        also: { y, yType, what in Self.expectCanonicalNaNs(y, yType: yType, what) })
    }
  }

  @Test("long rows (cols up to 2049)", .shrinking(false), arguments: SIMDTarget.compiled)
  func longRows(target: SIMDTarget) async throws {
    try requireSupported(target)
    await Property.check(count: 12) { seed in
      var r = SplitMix64(seed: seed)
      let cols = r.pick([127, 128, 129, 255, 256, 257, 1000, 1024, 2049])
      let mix = ValueMix(special: r.pick([0, 0.002]), wide: 0.01)
      let weights = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [r.int(1...9), cols], mix)
      let x = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [r.int(1...3), cols], mix)
      try Self.check(weights: weights, x: x, yType: r.pick([.fp16, .fp32]), target: target, context: "seed \(hex(seed))")
    }
  }

  @Test("every cols 1…70 (chunk tails), rows 1…9", arguments: SIMDTarget.compiled)
  func everyColumnCount(target: SIMDTarget) throws {
    try requireSupported(target)
    for cols in 1...70 {
      let seed = UInt64(0xD000 + cols)
      var r = SplitMix64(seed: seed)
      let rows = r.int(1...9)
      let weights = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [rows, cols], ValueMix(special: 0.02, wide: 0.05))
      let x = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [r.int(1...2), cols], ValueMix(special: 0.02, wide: 0.05))
      try Self.check(weights: weights, x: x, yType: r.pick([.fp16, .fp32]), target: target, context: "seed \(seed)")
    }
  }

  /// Huge values: partial sums that overflow to ±Inf, Inf − Inf = NaN, products that overflow
  /// although the exact sum would not, fp16 outputs that overflow.
  @Test("overflowing partial sums, Inf − Inf, fp16 overflow", arguments: SIMDTarget.compiled)
  func overflow(target: SIMDTarget) throws {
    try requireSupported(target)
    for seed in UInt64(0)..<40 {
      var r = SplitMix64(seed: 0xF100 + seed)
      let cols = r.pick(Self.boundaryCols)
      let rows = r.int(1...6)
      // fp32: magnitudes 2^100…2^127 with random signs, so partials overflow or cancel.
      let huge = ValueMix(special: 0.02, wide: 0, moderate: 227...254)
      let w = try r.floatTensor(.fp32, shape: [rows, cols], huge)
      let x = try r.floatTensor(r.pick([.fp16, .fp32]), shape: [cols], ValueMix(special: 0, wide: 0, moderate: 126...142))
      try Self.check(weights: w, x: x, yType: r.pick([.fp16, .fp32]), target: target, context: "seed \(0xF100 + seed)")
      // fp16 weights and x near 65504: fp32 sums are finite, the fp16 output overflows.
      let big16 = ValueMix(special: 0, wide: 0, moderate: 140...142)
      let w16 = try r.floatTensor(.fp16, shape: [rows, cols], big16)
      let x16 = try r.floatTensor(.fp16, shape: [cols], big16)
      try Self.check(weights: w16, x: x16, yType: .fp16, target: target, context: "seed \(0xF100 + seed) fp16")
    }
    // Every column +max: the sum overflows to +Inf; a −Inf column makes it NaN (canonical).
    let cols = 33
    let w = try Tensor(fp32Bits: Array(repeating: 0x7F7F_FFFF, count: cols), shape: [1, cols])
    let ones = try Tensor(floats: Array(repeating: 1, count: cols), shape: [cols])
    #expect(try DenseMatrix(weights: w).gemv(ones, target: target).fp32Bits() == [0x7F80_0000])
    var xs = [Float](repeating: 1, count: cols)
    xs[20] = -.infinity
    #expect(try DenseMatrix(weights: w).gemv(Tensor(floats: xs, shape: [cols]), target: target).fp32Bits() == [0x7FC0_0000])
    #expect(try DenseMatrix(weights: w).gemv(Tensor(floats: xs, shape: [cols]), outputType: .fp16, target: target).fp16Bits() == [0x7E00])
  }

  /// NaN inputs of any sign and payload (quiet or signalling, in w or x) give exactly 0x7FC00000
  /// / 0x7E00.
  @Test("NaN outputs are canonical", arguments: SIMDTarget.compiled)
  func canonicalNaN(target: SIMDTarget) throws {
    try requireSupported(target)
    let nans32: [UInt32] = [0x7FC0_0000, 0xFFC0_0000, 0x7F80_0001, 0xFF80_0001, 0x7FFF_FFFF, 0xFFAB_CDEF, 0x7FA0_0000]
    let nans16: [UInt16] = [0x7E00, 0xFE00, 0x7C01, 0xFC01, 0x7FFF, 0xFDAB, 0x7D00]
    for cols in [1, 5, 16, 17, 40] {
      for (i, nan) in nans32.enumerated() {
        var w = [UInt32](repeating: 0x3F80_0000, count: cols)
        w[(i * 7) % cols] = nan
        let x = try Tensor(floats: Array(repeating: 2, count: cols), shape: [cols])
        let weights = try Tensor(fp32Bits: w, shape: [1, cols])
        #expect(try DenseMatrix(weights: weights).gemv(x, target: target).fp32Bits() == [0x7FC0_0000], "target \(target) cols \(cols) w NaN \(hex(UInt64(nan), width: 8))")
        #expect(try DenseMatrix(weights: weights).gemv(x, outputType: .fp16, target: target).fp16Bits() == [0x7E00])
      }
      for (i, nan) in nans16.enumerated() {
        var xs = [UInt16](repeating: 0x3C00, count: cols)
        xs[(i * 5) % cols] = nan
        let weights = try Tensor(fp16Bits: Array(repeating: 0xBC00, count: 2 * cols), shape: [2, cols])
        let y = try DenseMatrix(weights: weights).gemv(Tensor(fp16Bits: xs, shape: [cols]), target: target)
        #expect(y.fp32Bits() == [0x7FC0_0000, 0x7FC0_0000], "target \(target) cols \(cols) x NaN \(hex(UInt64(nan), width: 4))")
      }
    }
  }

  /// −0 and subnormals: products of subnormals, sums of −0 (the partials start at +0, so an
  /// all −0 row sums to +0), fp16 subnormal outputs.
  @Test("signed zeros and subnormals", arguments: SIMDTarget.compiled)
  func zerosAndSubnormals(target: SIMDTarget) throws {
    try requireSupported(target)
    for cols in [1, 3, 16, 17, 33] {
      let negZeros = try Tensor(fp32Bits: Array(repeating: 0x8000_0000, count: cols), shape: [1, cols])
      let y = try DenseMatrix(weights: negZeros).gemv(Tensor(floats: Array(repeating: 1, count: cols), shape: [cols]), target: target)
      let expected = try Reference.gemv(weights: negZeros, x: Tensor(floats: Array(repeating: 1, count: cols), shape: [cols]), outputType: .fp32)
      expectBits(y, expected, "target \(target) cols \(cols) −0 row")
    }
    for seed in UInt64(0)..<30 {
      var r = SplitMix64(seed: 0x5B00 + seed)
      let cols = r.pick(Self.boundaryCols)
      let tiny = ValueMix(special: 0.3, wide: 0, moderate: 1...40)  // fp32 subnormal-range products
      let w = try r.floatTensor(.fp32, shape: [r.int(1...4), cols], tiny)
      let x = try r.floatTensor(.fp32, shape: [cols], ValueMix(special: 0.1, wide: 0, moderate: 100...140))
      try Self.check(weights: w, x: x, yType: r.pick([.fp16, .fp32]), target: target, context: "seed \(0x5B00 + seed)")
      let w16 = try r.floatTensor(.fp16, shape: [2, cols], ValueMix(special: 0.5, wide: 0, moderate: 103...108))
      let x16 = try r.floatTensor(.fp16, shape: [cols], ValueMix(special: 0.5, wide: 0, moderate: 103...108))
      try Self.check(weights: w16, x: x16, yType: .fp16, target: target, context: "seed \(0x5B00 + seed) fp16")
    }
  }

  /// The documented order, on the library: column k joins partial k % 16, fma is fused, the
  /// tree is fixed. Each case is built so that a naive left-to-right sum, an unfused multiply
  /// or another partial count gives other bits.
  @Test("the canonical order (16 fma partials, fixed tree)", arguments: SIMDTarget.compiled)
  func canonicalOrder(target: SIMDTarget) throws {
    try requireSupported(target)
    // cols = 17: x[0] = 2^24, ones at columns 1, 9, 16. Canonical: 2^24 + 2; naive: 2^24.
    var x = [Float](repeating: 0, count: 17)
    (x[0], x[1], x[9], x[16]) = (16_777_216, 1, 1, 1)
    let ones = try Tensor(floats: Array(repeating: 1, count: 17), shape: [1, 17])
    #expect(try DenseMatrix(weights: ones).gemv(Tensor(floats: x, shape: [17]), target: target).fp32Bits() == [Float(16_777_218).bitPattern])

    // cols = 33: fused multiply-add (2^-23) vs two roundings (2^-24).
    var w = [Float](repeating: 1, count: 33)
    var x33 = [Float](repeating: 0, count: 33)
    x33[0] = -Float(bitPattern: 0x3F80_1000)
    w[16] = Float(bitPattern: 0x3F80_0800)
    x33[16] = Float(bitPattern: 0x3F80_0800)
    x33[32] = Float(bitPattern: 0x3380_0000)
    let y33 = try DenseMatrix(weights: Tensor(floats: w, shape: [1, 33])).gemv(Tensor(floats: x33, shape: [33]), target: target)
    #expect(y33.fp32Bits() == [0x3400_0000], "target \(target): fma must be fused")

    // The tree: partial i pairs with i + 8 first. p0 = 2^24, p8 = 1, p4 = 1, p12 = 1:
    // q0 = 2^24 + 1 → 2^24 (tie to even); q4 = 2; q0 + q4 = 2^24 + 2. A tree pairing i with
    // i + 1, or a sequential sum, gives 2^24 or 2^24 + 4.
    var xt = [Float](repeating: 0, count: 16)
    (xt[0], xt[8], xt[4], xt[12]) = (16_777_216, 1, 1, 1)
    let yt = try DenseMatrix(weights: Tensor(floats: Array(repeating: 1, count: 16), shape: [1, 16])).gemv(Tensor(floats: xt, shape: [16]), target: target)
    let expectedTree = try Reference.gemv(weights: Tensor(floats: Array(repeating: 1, count: 16), shape: [1, 16]), x: Tensor(floats: xt, shape: [16]), outputType: .fp32)
    #expect(yt.fp32Bits() == expectedTree.fp32Bits(), "target \(target): reduction tree")
    #expect(xt.reduce(0, +) != Float(bitPattern: yt.fp32Bits()[0]), "the case must separate the orders")

    // Random cancellation cases where the canonical result differs from a naive sum: the library
    // must give the canonical bits (and so differ from the naive sum too).
    var separated = 0
    for seed in UInt64(0)..<200 {
      var r = SplitMix64(seed: 0x0D0D + seed)
      let cols = r.int(17...70)
      let values = (0..<cols).map { _ in Float(bitPattern: r.fp32(ValueMix(special: 0, wide: 0, moderate: 100...160))) }
      let weights = try Tensor(floats: Array(repeating: 1, count: cols), shape: [1, cols])
      let xv = try Tensor(floats: values, shape: [cols])
      let y = try DenseMatrix(weights: weights).gemv(xv, target: target)
      let expected = try Reference.gemv(weights: weights, x: xv, outputType: .fp32)
      expectBits(y, expected, "seed \(0x0D0D + seed) target \(target) cancellation")
      if values.reduce(0, +).bitPattern != expected.fp32Bits()[0] { separated += 1 }
    }
    #expect(separated > 20, "the random cases must mostly separate canonical and naive order (\(separated))")
  }

  /// Batch and thread invariance, decompress == the weights, on every target (the shared
  /// harness), fp16 and fp32 weights with rare specials.
  @Test("batches 1…9, 32 and threads 2, 3, 7 on every target (shared harness)", .shrinking(false),
        arguments: MatrixHarness.Shape.standard)
  func invariance(shape: MatrixHarness.Shape) async throws {
    await Property.check(count: 1) { seed in
      var r = SplitMix64(seed: seed)
      for dtype in [DType.fp16, .fp32] {
        let weights = try r.floatTensor(dtype, shape: [shape.rows, shape.cols], ValueMix(special: 0.002, wide: 0.02))
        try MatrixHarness.checkInvariance(DenseMatrix(weights: weights), expected: weights, shape: shape, seed: seed, label: "dense \(dtype)")
      }
    }
  }

  /// A shared dense matrix: concurrent calls (some with 2 threads) give the serial bits.
  @Test("a shared matrix gives the same bits on concurrent threads", .shrinking(false))
  func concurrentUse() async throws {
    await Property.check(count: 1) { seed in
      var r = SplitMix64(seed: seed)
      let weights = try r.floatTensor(.fp16, shape: [256, 512], .finite)
      try MatrixHarness.checkConcurrent(DenseMatrix(weights: weights), seed: seed, label: "dense fp16 [256, 512]")
    }
  }
}
