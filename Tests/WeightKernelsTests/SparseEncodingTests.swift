import PropertyBased
import Testing
import WeightKernels
import WeightKernelsReference

// SparseEncoding: encode round-trips through the reference sparse_to_dense bit for bit; the
// pruners follow coremltools' prune_weights (numpy 2.4 arithmetic and argsort order). The
// expected values below were derived by hand from numpy's definitions and checked with numpy 2.4.6.

/// Raw element values (float bit patterns, integers) of a tensor.
private func fields(_ t: Tensor) -> [Int] { BitPacking.unpack(t.bytes, dtype: t.dtype, count: t.count) }

private func decode(_ e: SparseEncoded) throws -> Tensor {
  try Reference.sparseToDenseIOS18(nonzeroData: e.nonzeroData, mask: e.mask)
}

private func fp16(_ values: [Float], shape: [Int]? = nil) throws -> Tensor {
  try Tensor(fp16Bits: values.map { Float16($0).bitPattern }, shape: shape ?? [values.count])
}

/// The mask as 0/1 values.
private func maskBits(_ e: SparseEncoded) -> [Int] { fields(e.mask) }

/// numpy's `0 * inf` on this CPU (x86's default NaN is negative).
private let defaultNaN16: Int = {
  #if arch(x86_64) || arch(i386)
    return 0xFE00
  #else
    return 0x7E00
  #endif
}()

extension SplitMix64 {
  /// A float tensor whose values are often tied (halves in [−4, 4]) and sometimes ±0; finite.
  fileprivate mutating func tiedFloats(_ dtype: DType, shape: [Int]) throws -> Tensor {
    let count = shape.reduce(1, *)
    let tieRate = pick([0.0, 0.5, 1.0])
    let zeroRate = pick([0.0, 0.1])
    let values: [Int] = (0..<count).map { _ in
      if chance(zeroRate) { return chance(0.5) ? 0 : (dtype == .fp16 ? 0x8000 : 0x8000_0000) }
      if chance(tieRate) {
        let v = Float(int(-8...8)) / 2
        return dtype == .fp16 ? Int(Float16(v).bitPattern) : Int(v.bitPattern)
      }
      return dtype == .fp16 ? Int(fp16(.finite)) : Int(fp32(.finite))
    }
    return try Tensor(dtype: dtype, shape: shape, bytes: BitPacking.pack(values, dtype: dtype))
  }
}

@Suite("SparseEncoding")
struct SparseEncodingTests {
  // MARK: - encode

  @Test("encode: sparseToDenseIOS18(encode(W)) == W bit for bit", .shrinking(false))
  func encodeRoundTrip() async {
    await Property.check(count: 300) { seed in
      var r = SplitMix64(seed: seed)
      let dtype = r.pick([DType.fp16, .fp32, .int8, .uint8, .int4, .uint4])
      let shape = r.shape(rank: r.int(1...4), maxCount: 3000)
      // NaN payloads, ±Inf, −0 and subnormals come from .anyBits; then all-zero, all-non-zero or
      // mostly-zero variants.
      var values = fields(try r.tensor(dtype, shape: shape, .anyBits))
      switch r.int(0..<4) {
      case 0: values = values.map { _ in 0 }
      case 1: values = values.map { $0 == 0 ? 1 : $0 }
      case 2: values = values.map { r.chance(0.8) ? 0 : $0 }
      default: break
      }
      let dense = try Tensor(dtype: dtype, shape: shape, bytes: BitPacking.pack(values, dtype: dtype))
      let e = try SparseEncoding.encode(dense)
      let context = "seed \(hex(seed)) (replay with WK_SEED=\(hex(seed))) \(dtype)\(shape)"
      #expect(e.mask.dtype == .uint1 && e.mask.shape == shape, "\(context)")
      #expect(e.nonzeroData.shape == [values.filter { $0 != 0 }.count], "\(context)")
      #expect(!fields(e.nonzeroData).contains(0), "\(context)")
      expectBits(try decode(e), dense, context)
    }
  }

  @Test("encode: boundary shapes, rank 1 to 4", arguments: [[1], [2], [7], [8], [9], [13, 17], [2, 3, 5, 7], [0], [3, 0]])
  func encodeShapes(shape: [Int]) throws {
    var r = SplitMix64(seed: UInt64(shape.reduce(1, *) * 31 + shape.count))
    for dtype in [DType.fp16, .fp32, .int8, .uint8, .int4, .uint4] {
      let dense = try r.tensor(dtype, shape: shape, .anyBits)
      expectBits(try decode(SparseEncoding.encode(dense)), dense, "\(dtype)\(shape)")
    }
  }

  @Test("encode: −0.0 and NaN payloads are stored, +0 is not")
  func encodeExample() throws {
    // fp16 [+0, −0, 1, +0, sNaN 0x7C01, +0, +0, +0, −2]: mask 0b0_0001_0110 + bit 8.
    let dense = try Tensor(fp16Bits: [0, 0x8000, 0x3C00, 0, 0x7C01, 0, 0, 0, 0xC000], shape: [3, 3])
    let e = try SparseEncoding.encode(dense)
    #expect(e.mask.bytes == [0x16, 0x01])
    #expect(e.nonzeroData.fp16Bits() == [0x8000, 0x3C00, 0x7C01, 0xC000])
    let int4 = try Tensor(integers: [0, -8, 7, 0, -1], dtype: .int4, shape: [5])
    let e4 = try SparseEncoding.encode(int4)
    #expect(maskBits(e4) == [0, 1, 1, 0, 1])
    #expect(e4.nonzeroData.integers() == [-8, 7, -1])
  }

  // MARK: - magnitudePrune

  @Test("magnitudePrune: pruned |w| < kept |w|, kept bits unchanged, ≥ ⌊(N−1)s⌋+1 zeros", .shrinking(false))
  func magnitudeProperty() async {
    await Property.check(count: 300) { seed in
      var r = SplitMix64(seed: seed)
      let dtype = r.pick([DType.fp16, .fp32])
      let shape = r.shape(rank: r.int(1...4), maxCount: 2000)
      let dense = try r.tiedFloats(dtype, shape: shape)
      let uniform = Double.random(in: 0...1, using: &r)
      let s = r.pick([0, 1, 0.5, 0.07, 0.9, uniform])
      let out = try decode(SparseEncoding.magnitudePrune(dense, targetSparsity: s))
      let context = "seed \(hex(seed)) (replay with WK_SEED=\(hex(seed))) \(dtype)\(shape) s \(s)"
      let w = fields(dense)
      let o = fields(out)
      let magnitudes = dense.floats().map(abs)
      var zeros = 0
      var prunedMax = -Float.infinity
      var keptMin = Float.infinity
      for i in w.indices {
        if o[i] == 0 {
          zeros += 1
          prunedMax = max(prunedMax, magnitudes[i])
        } else {
          #expect(o[i] == w[i], "\(context): element \(i) changed")
          keptMin = min(keptMin, magnitudes[i])
        }
      }
      #expect(prunedMax < keptMin, "\(context): pruned up to \(prunedMax), kept from \(keptMin)")
      // numpy's linear percentile is ≥ the ⌊i⌋-th smallest |w|, i = (N−1)·(q/100).
      let atLeast = s == 0 ? magnitudes.filter { $0 == 0 }.count : Int((Double(w.count - 1) * (s * 100 / 100)).rounded(.down)) + 1
      #expect(zeros >= atLeast, "\(context): \(zeros) zeros, expected at least \(atLeast)")
      if s == 1 { #expect(zeros == w.count, "\(context)") }
    }
  }

  @Test("magnitudePrune: ties push sparsity above s")
  func magnitudeTies() throws {
    // |W| sorted: [0, .5, 1, 1, 1, 2, 2, 2, 3, 4]; q = 35, i = 9·0.35 = 3.15 → a = b = sorted[3] =
    // sorted[4] = 1, so the percentile is 1 and all five |w| ≤ 1 go: 50 % for s = 0.35.
    let dense = try Tensor(floats: [0.5, -1, 1, 2, -2, 2, 3, 0, 4, -1], shape: [2, 5])
    let e = try SparseEncoding.magnitudePrune(dense, targetSparsity: 0.35)
    #expect(maskBits(e) == [0, 0, 0, 1, 1, 1, 1, 0, 1, 0])
    #expect(e.nonzeroData.floats() == [2, -2, 2, 3, 4])
  }

  @Test("magnitudePrune: linear interpolation, and sparsity below s for small N")
  func magnitudeInterpolation() throws {
    // i = 4·0.3 = 1.2: a = 2, b = 3, t ≈ 0.2 → 2 + 1·0.2 = 2.2, so 1 and 2 go.
    let five = try SparseEncoding.magnitudePrune(try Tensor(floats: [5, -1, 3, 2, -4], shape: [5]), targetSparsity: 0.3)
    #expect(maskBits(five) == [1, 0, 1, 0, 1])
    // N = 2, s = 0.9: i = 0.9, t = 0.9 ≥ 0.5 → 2 − 1·0.1 = 1.9: only 1 goes (50 % < 90 %).
    let two = try SparseEncoding.magnitudePrune(try Tensor(floats: [1, 2], shape: [2]), targetSparsity: 0.9)
    #expect(maskBits(two) == [0, 1])
  }

  @Test("magnitudePrune: numpy 2 interpolates fp16 weights in fp16")
  func magnitudeHalfArithmetic() throws {
    // [1, 1 + 2⁻¹⁰], s = 0.6: i = 0.6, t = 0.6 ≥ 0.5 → b − (b − a)·fp16(0.4) =
    // 1.0009765625 − 2⁻¹⁰·0.39990234375 = 1.000586… which rounds to fp16 1.0009765625 = b, so both
    // go. In Double (numpy 1) the percentile would be 1.000586 and b would stay.
    let e = try SparseEncoding.magnitudePrune(try Tensor(fp16Bits: [0x3C00, 0x3C01], shape: [2]), targetSparsity: 0.6)
    #expect(maskBits(e) == [0, 0])
    // The same values in fp32 keep b: 1.0001220703125 − 2⁻¹³·0.4 rounds to about 1.0000732 < b.
    let f = try SparseEncoding.magnitudePrune(try Tensor(floats: [1, 1.0001220703125], shape: [2]), targetSparsity: 0.6)
    #expect(maskBits(f) == [0, 1])
  }

  @Test("magnitudePrune: NaN, ±Inf, −0 and s = 0 or 1 as coremltools")
  func magnitudeSpecials() throws {
    // A NaN weight makes the percentile NaN: nothing is pruned, the sNaN is copied as is; −0 is
    // dropped because coremltools stores value != 0.
    let withNaN = try Tensor(fp16Bits: [0x7C01, 0x3C00, 0x4000, 0x8000, 0x4200], shape: [5])
    let e = try SparseEncoding.magnitudePrune(withNaN, targetSparsity: 0.5)
    #expect(maskBits(e) == [1, 1, 1, 0, 1])
    #expect(try decode(e).fp16Bits() == [0x7C01, 0x3C00, 0x4000, 0, 0x4200])
    // [1, Inf, 2], s = 0.5: i = 1, a = 2, b = Inf, t = 0 → 2 + Inf·0 = NaN: nothing is pruned.
    let withInf = try SparseEncoding.magnitudePrune(try Tensor(floats: [1, .infinity, 2], shape: [3]), targetSparsity: 0.5)
    #expect(maskBits(withInf) == [1, 1, 1])
    // s = 1 computes 0·W: ±0 (dropped), NaN quieted, 0·±Inf the default NaN (kept).
    let all = try Tensor(fp16Bits: [0x3C00, 0xC000, 0x7C00, 0xFC00, 0x7C01, 0xFE05, 0], shape: [7])
    let one = try SparseEncoding.magnitudePrune(all, targetSparsity: 1)
    #expect(maskBits(one) == [0, 0, 1, 1, 1, 1, 0])
    #expect(fields(one.nonzeroData) == [defaultNaN16, defaultNaN16, 0x7E01, 0xFE05])
    // s = 0 prunes nothing but still drops −0.
    let zero = try SparseEncoding.magnitudePrune(try Tensor(floats: [-0.0, 1, 0, -3], shape: [4]), targetSparsity: 0)
    #expect(maskBits(zero) == [0, 1, 0, 1])
  }

  // MARK: - nmPrune

  @Test("nmPrune: every run has ≥ n zeros (padding included), pruned |w| ≤ kept |w|", .shrinking(false))
  func nmProperty() async {
    await Property.check(count: 300) { seed in
      var r = SplitMix64(seed: seed)
      let dtype = r.pick([DType.fp16, .fp32])
      let rank = r.int(2...4)
      let shape = r.shape(rank: rank, maxCount: 2000, maxExtent: 40)
      let axis = r.int(-rank..<rank)
      let m = r.pick([1, 2, 3, 4, 5, 8, 16, 17, 20])
      let n = r.int(0...m)
      let dense = try r.tiedFloats(dtype, shape: shape)
      let out = fields(try decode(SparseEncoding.nmPrune(dense, n: n, m: m, axis: axis)))
      let context = "seed \(hex(seed)) (replay with WK_SEED=\(hex(seed))) \(dtype)\(shape) \(n):\(m) axis \(axis)"
      let w = fields(dense)
      let magnitudes = dense.floats().map(abs)
      let a = axis < 0 ? axis + rank : axis
      let extent = shape[a]
      let inner = shape[(a + 1)...].reduce(1, *)
      for line in 0..<(w.count / max(1, extent)) {
        let (o, i) = line.quotientAndRemainder(dividingBy: inner)
        for start in stride(from: 0, to: extent, by: m) {
          let run = (start..<min(extent, start + m)).map { (o * extent + $0) * inner + i }
          let padding = m - run.count
          let zeros = run.filter { out[$0] == 0 }
          let kept = run.filter { out[$0] != 0 }
          #expect(zeros.count >= n - padding, "\(context): run at \(run[0]) has \(zeros.count) zeros")
          #expect(zeros.filter { w[$0] != 0 && w[$0] != (dtype == .fp16 ? 0x8000 : 0x8000_0000) }.count <= n, "\(context)")
          #expect(kept.allSatisfy { out[$0] == w[$0] }, "\(context): kept value changed")
          let prunedMax = zeros.map { magnitudes[$0] }.max() ?? 0
          #expect(kept.allSatisfy { magnitudes[$0] >= prunedMax }, "\(context): run at \(run[0])")
        }
      }
    }
  }

  @Test("nmPrune: coremltools' OpMagnitudePrunerConfig 1:2 example, both axes")
  func nmDocExample() throws {
    let w = try Tensor(floats: [3, 4, 7, 6, 1, 8, -3, -8, -2, -3, -4, 0, 5, 4, -3, -2], shape: [4, 4])
    #expect(try decode(SparseEncoding.nmPrune(w, n: 1, m: 2)).floats() == [0, 4, 7, 0, 0, 8, 0, -8, 0, -3, -4, 0, 5, 0, -3, 0])
    #expect(try decode(SparseEncoding.nmPrune(w, n: 1, m: 2, axis: 0)).floats() == [3, 0, 7, 0, 0, 8, 0, -8, 0, 0, -4, 0, 5, 4, 0, -2])
  }

  @Test("nmPrune: ties go to the lowest index for m ≤ 16; the remainder run is padded with zeros")
  func nmTiesAndRemainder() throws {
    // 2:4 over 10 columns: runs [1, −1, 1, 2] → ties 1, 1, 1: indices 0 and 1 go (the −1 becomes
    // −0, dropped); [3, 3, −3, 3] → 4 and 5 go; remainder [−5, 0.5] + 2 padding zeros: argsort
    // |·| = [pad, pad, 0.5, −5] → only padding goes. Second row, 3:4: remainder [0.5, 7] + 2 pads →
    // pads first, then 0.5.
    let w = try fp16([1, -1, 1, 2, 3, 3, -3, 3, -5, 0.5, 1, -1, 1, 2, 3, 3, -3, 3, 0.5, 7], shape: [2, 10])
    #expect(try decode(SparseEncoding.nmPrune(w, n: 2, m: 4)).floats()[..<10] == [0, 0, 1, 2, 0, 0, -3, 3, -5, 0.5])
    #expect(try decode(SparseEncoding.nmPrune(w, n: 3, m: 4)).floats()[10...] == [0, 0, 0, 2, 0, 0, 0, 3, 0, 7])
    // A real zero ties with the padding and comes first (lower index): [0, 0.5] + 2 pads, n = 3 →
    // 0, pad, pad; 0.5 stays.
    let z = try fp16([4, 3, 2, 1, 0, 0.5], shape: [1, 6])
    #expect(try decode(SparseEncoding.nmPrune(z, n: 3, m: 4)).floats() == [4, 0, 0, 0, 0, 0.5])
  }

  @Test("nmPrune: numpy's introsort tie order for m > 16")
  func nmIntrosortTies() throws {
    // numpy.argsort of 17 equal keys: one median-of-3 partition (pivot at 8, parked at 15) swaps
    // (1, 14), (2, 13), … (7, 8), then the pivot back to 8: [0, 14, 13, 12, 11, 10, 9, 15, 8, 6, …].
    let ones = try fp16([Float](repeating: 1, count: 17), shape: [1, 17])
    #expect(maskBits(try SparseEncoding.nmPrune(ones, n: 2, m: 17)).enumerated().filter { $0.element == 0 }.map(\.offset) == [0, 14])
    // Keys built against median-of-3 (McIlroy's adversary, halved to make ties) exhaust numpy's
    // depth limit, so it heap-sorts; its order (numpy 2.4.6, scalar argsort):
    let keys: [Float] = [
      0, 28, 1, 28, 2, 27, 3, 27, 4, 26, 5, 26, 6, 25, 7, 25, 8, 24, 9, 24, 10, 23, 11, 23, 12, 13, 32, 30, 31, 30, 29, 0,
      1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 22, 22, 21, 21, 20, 20, 19, 19, 18, 18, 17, 17, 16, 16, 15, 15, 14, 14, 29, 13,
    ]
    let order = [
      0, 31, 2, 32, 4, 33, 6, 34, 8, 35, 10, 36, 12, 37, 14, 38, 16, 39, 18, 40, 20, 41, 22, 42, 24, 43, 25, 63, 60, 61, 59, 58,
      56, 57, 55, 54, 53, 52, 51, 50, 49, 48, 47, 46, 45, 44, 23, 21, 17, 19, 15, 13, 11, 9, 7, 5, 1, 3, 62, 30, 29, 27, 28, 26,
    ]
    let adversarial = try fp16(keys.map { $0 + 1 }, shape: [1, 64])
    for dtype in [DType.fp16, .fp32] {
      let dense = dtype == .fp16 ? adversarial : try Tensor(floats: adversarial.floats(), shape: [1, 64])
      for n in [1, 27, 31, 47, 57, 63] {
        let mask = maskBits(try SparseEncoding.nmPrune(dense, n: n, m: 64))
        let pruned = Set(mask.indices.filter { mask[$0] == 0 })
        #expect(pruned == Set(order[..<n]), "\(dtype) n \(n)")
      }
    }
  }

  @Test("nmPrune: NaN sorts last, Inf·0 is NaN, kept NaNs are quieted, −0 is dropped")
  func nmSpecials() throws {
    // |run| = [Inf, NaN, 1, 0] → argsort [3, 2, 0, 1].
    let w = try Tensor(fp16Bits: [0x7C00, 0x7C01, 0x3C00, 0x8000], shape: [1, 4])
    #expect(fields(try decode(SparseEncoding.nmPrune(w, n: 2, m: 4))) == [0x7C00, 0x7E01, 0, 0])
    #expect(fields(try decode(SparseEncoding.nmPrune(w, n: 3, m: 4))) == [defaultNaN16, 0x7E01, 0, 0])
    #expect(fields(try decode(SparseEncoding.nmPrune(w, n: 0, m: 4))) == [0x7C00, 0x7E01, 0x3C00, 0])
  }

  // MARK: - Invalid arguments

  @Test("invalid arguments throw typed errors")
  func invalidArguments() throws {
    let scalar = try Tensor(floats: [1], shape: [])
    let vector = try Tensor(floats: [1, 2, 3, 4], shape: [4])
    let matrix = try Tensor(floats: [1, 2, 3, 4], shape: [2, 2])
    let int8 = try Tensor(integers: [1, 2, 3, 4], dtype: .int8, shape: [2, 2])
    let cases: [(String, WeightKernelsError.Kind, () throws -> SparseEncoded)] = [
      ("encode rank 0", .invalidShape, { try SparseEncoding.encode(scalar) }),
      ("encode int16", .invalidDType, { try SparseEncoding.encode(Tensor(integers: [1], dtype: .int16, shape: [1])) }),
      ("encode uint2", .invalidDType, { try SparseEncoding.encode(Tensor(integers: [1], dtype: .uint2, shape: [1])) }),
      ("magnitude int8", .invalidDType, { try SparseEncoding.magnitudePrune(int8, targetSparsity: 0.5) }),
      ("magnitude rank 0", .invalidShape, { try SparseEncoding.magnitudePrune(scalar, targetSparsity: 0.5) }),
      ("magnitude s < 0", .invalidArgument, { try SparseEncoding.magnitudePrune(vector, targetSparsity: -0.01) }),
      ("magnitude s > 1", .invalidArgument, { try SparseEncoding.magnitudePrune(vector, targetSparsity: 1.01) }),
      ("magnitude s NaN", .invalidArgument, { try SparseEncoding.magnitudePrune(vector, targetSparsity: .nan) }),
      ("nm rank 1", .invalidShape, { try SparseEncoding.nmPrune(vector, n: 1, m: 2) }),
      ("nm int8", .invalidDType, { try SparseEncoding.nmPrune(int8, n: 1, m: 2) }),
      ("nm m 0", .invalidArgument, { try SparseEncoding.nmPrune(matrix, n: 0, m: 0) }),
      ("nm n < 0", .invalidArgument, { try SparseEncoding.nmPrune(matrix, n: -1, m: 2) }),
      ("nm n > m", .invalidArgument, { try SparseEncoding.nmPrune(matrix, n: 3, m: 2) }),
      ("nm axis 2", .invalidArgument, { try SparseEncoding.nmPrune(matrix, n: 1, m: 2, axis: 2) }),
      ("nm axis -3", .invalidArgument, { try SparseEncoding.nmPrune(matrix, n: 1, m: 2, axis: -3) }),
    ]
    for (name, kind, call) in cases {
      let outcome = Outcome(call)
      #expect(outcome.kind == kind, "\(name): \(outcome)")
    }
  }
}
