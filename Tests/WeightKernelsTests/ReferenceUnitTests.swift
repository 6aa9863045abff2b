import Testing
import WeightKernels
import WeightKernelsReference

// Focused tests of the reference: the worked examples of FORMATS.md, the fp16 bit helpers, the
// GEMV accumulation order, the NaN rule and the error kinds.

private func refFP16(_ bits: [UInt16], _ shape: [Int]? = nil) throws -> Tensor {
  try Tensor(fp16Bits: bits, shape: shape ?? [bits.count])
}

private func refInts(_ values: [Int], _ dtype: DType, _ shape: [Int]? = nil) throws -> Tensor {
  try Tensor(integers: values, dtype: dtype, shape: shape ?? [values.count])
}

private func refF32(_ bits: UInt32) -> Float { Float(bitPattern: bits) }

/// The error kind `body` throws, nil if it succeeds.
private func refErrorKind(_ body: () throws -> Any) -> WeightKernelsError.Kind? {
  do {
    _ = try body()
    return nil
  } catch let error as WeightKernelsError {
    return error.kind
  } catch {
    return nil
  }
}

@Suite("FORMATS.md §2.1 sub-byte packing")
struct ReferencePackingTests {
  static let examples: [(DType, [Int], [UInt8])] = [
    (.uint3, [5, 2, 7, 1, 6, 3, 0, 4, 6, 1], [0xD5, 0xE3, 0x81, 0x0E]),
    (.uint6, [45, 18, 63, 7, 33], [0xAD, 0xF4, 0x1F, 0x21]),
    (.int4, [-3, 7, -8, 0, 5], [0x7D, 0x08, 0x05]),
    (.uint2, [0, 3, 2, 1, 3], [0x6C, 0x03]),
    (.uint1, [1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1], [0x8D, 0x05]),
  ]

  @Test("worked examples pack and unpack", arguments: 0..<5)
  func workedExample(_ index: Int) throws {
    let (dtype, values, bytes) = Self.examples[index]
    #expect(BitPacking.pack(values, dtype: dtype) == bytes)
    #expect(BitPacking.unpack(bytes, dtype: dtype, count: values.count) == values)
    #expect(try refInts(values, dtype).bytes == bytes)
  }

  @Test("iOS16 LUT indices are the same stream (2-bit and 6-bit examples)")
  func iOS16IndexStream() throws {
    // 2-bit: [0, 3, 2, 1, 3] through a 4-entry uint8 LUT [10, 11, 12, 13].
    let two = try Reference.lutToDenseIOS16(
      indices: refInts([0x6C, 0x03], .uint8), lut: refInts([10, 11, 12, 13], .uint8), shape: refInts([5], .uint32))
    #expect(two.integers() == [10, 13, 12, 11, 13])
    // 6-bit: [45, 18, 63, 7, 33] through the identity LUT of 64 uint8 entries.
    let six = try Reference.lutToDenseIOS16(
      indices: refInts([0xAD, 0xF4, 0x1F, 0x21], .uint8), lut: refInts(Array(0..<64), .uint8),
      shape: refInts([5, 1], .uint32))
    #expect(six.integers() == [45, 18, 63, 7, 33])
    #expect(six.shape == [5, 1])
  }

  @Test("3-bit indices straddling bytes (iOS18) and the uint1 mask example")
  func iOS18Streams() throws {
    let indices = try Tensor(dtype: .uint3, shape: [10], bytes: [0xD5, 0xE3, 0x81, 0x0E])
    let lut = try refInts(Array(100..<108), .uint8, [1, 8, 1])
    let out = try Reference.lutToDenseIOS18(indices: indices, lut: lut, vectorAxis: nil)
    #expect(out.integers() == [105, 102, 107, 101, 106, 103, 100, 104, 106, 101])

    let mask = try Tensor(dtype: .uint1, shape: [11], bytes: [0x8D, 0x05])
    let dense = try Reference.sparseToDenseIOS18(nonzeroData: refInts([1, 2, 3, 4, 5, 6], .int8), mask: mask)
    #expect(dense.integers() == [1, 0, 2, 3, 0, 0, 0, 4, 5, 0, 6])
  }
}

@Suite("fp16 bit helpers")
struct ReferenceFloatBitsTests {
  @Test("roundToF16: exact values, ties to even, overflow, underflow")
  func roundingEdges() {
    let cases: [(UInt32, UInt16, String)] = [
      (0x3F80_0000, 0x3C00, "1.0"),
      (0x8000_0000, 0x8000, "-0"),
      (0x3F80_1000, 0x3C00, "1 + 2^-11: tie, even is down"),
      (0x3F80_1001, 0x3C01, "just above the tie"),
      (0x3F80_3000, 0x3C02, "1 + 3·2^-11: tie, even is up"),
      (0x3F80_2FFF, 0x3C01, "just below the tie"),
      (0x477F_E000, 0x7BFF, "65504 = max fp16"),
      (0x477F_EFFF, 0x7BFF, "just below 65520 rounds down"),
      (0x477F_F000, 0x7C00, "65520: tie with 2^16, even is up: inf"),
      (0xC77F_F000, 0xFC00, "-65520: -inf"),
      (0x7F7F_FFFF, 0x7C00, "FLT_MAX: inf"),
      (0x7F80_0000, 0x7C00, "inf"),
      (0xFF80_0000, 0xFC00, "-inf"),
      (0x3880_0000, 0x0400, "2^-14: smallest normal"),
      (0x387F_C000, 0x03FF, "1023·2^-24: largest subnormal"),
      (0x387F_E000, 0x0400, "tie between largest subnormal and smallest normal: even is up"),
      (0x3380_0000, 0x0001, "2^-24: smallest subnormal"),
      (0x3300_0000, 0x0000, "2^-25: tie, even is 0"),
      (0x3300_0001, 0x0001, "just above 2^-25"),
      (0x33C0_0000, 0x0002, "3·2^-25: tie, even is 2"),
      (0x32FF_FFFF, 0x0000, "just below 2^-25"),
      (0xB380_0000, 0x8001, "-2^-24"),
      (0x0000_0001, 0x0000, "fp32 subnormal"),
      (0x8000_0001, 0x8000, "negative fp32 subnormal"),
    ]
    for (input, expected, label) in cases {
      #expect(Reference.roundToF16(input) == expected, "\(label)")
    }
  }

  @Test("roundToF16 NaN rule: sign | 0x7E00 | ((mantissa >> 13) & 0x1FF)")
  func roundingNaN() {
    #expect(Reference.roundToF16(0x7FC0_0000) == 0x7E00)
    #expect(Reference.roundToF16(0x7F80_0001) == 0x7E00)  // signalling, payload below bit 13: quiet
    #expect(Reference.roundToF16(0x7FA0_0000) == 0x7F00)  // signalling with payload: quieted, kept
    #expect(Reference.roundToF16(0x7FFF_FFFF) == 0x7FFF)
    #expect(Reference.roundToF16(0xFF81_2345) == 0xFE09)
    #expect(Reference.roundToF16(0xFFC0_2000) == 0xFE01)
  }

  @Test("roundToF16 agrees with Float16(Float) on sampled and boundary values")
  func roundingAgreesWithFloat16() {
    func check(_ bits: UInt32) -> Bool {
      let x = Float(bitPattern: bits)
      return x.isNaN || Reference.roundToF16(bits) == Float16(x).bitPattern
    }
    var mismatches = 0
    var bits: UInt32 = 0
    while true {
      if !check(bits) { mismatches += 1 }
      let (next, overflow) = bits.addingReportingOverflow(4099)
      if overflow { break }
      bits = next
    }
    // Every midpoint between neighbouring finite fp16 values, and one fp32 ulp either side.
    for h in UInt16(0)..<0x7C00 {
      for sign: UInt16 in [0, 0x8000] {
        let low = Float(bitPattern: Reference.widenF16(sign | h))
        let high = Float(bitPattern: Reference.widenF16(sign | (h + 1)))
        let mid = ((low + high) / 2).bitPattern  // exact: 12 significant bits
        for candidate in [mid - 1, mid, mid + 1, low.bitPattern] where !check(candidate) {
          mismatches += 1
        }
      }
    }
    #expect(mismatches == 0)
  }

  @Test("widenF16: exact, signalling NaNs stay signalling")
  func widening() {
    let cases: [(UInt16, UInt32)] = [
      (0x3C00, 0x3F80_0000), (0x0000, 0x0000_0000), (0x8000, 0x8000_0000),
      (0x0001, 0x3380_0000), (0x8001, 0xB380_0000), (0x03FF, 0x387F_C000), (0x0200, 0x3800_0000),
      (0x0400, 0x3880_0000), (0x7BFF, 0x477F_E000), (0x7C00, 0x7F80_0000), (0xFC00, 0xFF80_0000),
      (0x7E00, 0x7FC0_0000), (0x7C01, 0x7F80_2000), (0xFD55, 0xFFAA_A000), (0xFFFF, 0xFFFF_E000),
    ]
    for (input, expected) in cases {
      #expect(Reference.widenF16(input) == expected, "0x\(String(input, radix: 16))")
    }
    // Exhaustive: every non-NaN fp16 widens to the same value as Float(Float16), and rounds back.
    var mismatches = 0
    for h in UInt16.min...UInt16.max {
      let half = Float16(bitPattern: h)
      if half.isNaN {
        if Reference.roundToF16(Reference.widenF16(h)) != h | 0x0200 { mismatches += 1 }  // quieted
        continue
      }
      if Reference.widenF16(h) != Float(half).bitPattern { mismatches += 1 }
      if Reference.roundToF16(Reference.widenF16(h)) != h { mismatches += 1 }
    }
    #expect(mismatches == 0)
  }
}

@Suite("GEMV canonical order")
struct ReferenceGEMVTests {
  @Test("cols = 17: column 16 joins partial 0, the tree adds partials 1 and 9 first")
  func seventeenColumns() throws {
    // x[0] = 2^24 and three 1s at columns 1, 9, 16 (w = 1).
    // Canonical: p0 = 2^24 ⊕ 1 = 2^24 (tie to even), p1 = 1, p9 = 1; q1 = p1 + p9 = 2;
    // s = 2^24 + 2 exactly. A left-to-right sum loses every 1 (2^24); the exact sum rounds
    // to 2^24 + 4.
    var x = [Float](repeating: 0, count: 17)
    x[0] = 16_777_216
    x[1] = 1
    x[9] = 1
    x[16] = 1
    let w = try Tensor(floats: [Float](repeating: 1, count: 17), shape: [1, 17])
    let y = try Reference.gemv(weights: w, x: Tensor(floats: x, shape: [17]), outputType: .fp32)
    #expect(y.shape == [1])
    #expect(y.fp32Bits() == [Float(16_777_218).bitPattern])
    #expect(x.reduce(0, +) == 16_777_216)  // the naive order really differs
  }

  @Test("cols = 33: the multiply-add is fused (one rounding)")
  func thirtyThreeColumns() throws {
    // Partial 0 gets columns 0, 16, 32: −(1 + 2^-11), then (1 + 2^-12)² = 1 + 2^-11 + 2^-24,
    // then 2^-24. Fused: p0 = 2^-24 then 2^-23. Unfused, (1 + 2^-12)² rounds to 1 + 2^-11 (tie,
    // even) and the result is 2^-24.
    var w = [Float](repeating: 1, count: 33)
    var x = [Float](repeating: 0, count: 33)
    x[0] = -refF32(0x3F80_1000)  // −(1 + 2^-11)
    w[16] = refF32(0x3F80_0800)  // 1 + 2^-12
    x[16] = refF32(0x3F80_0800)
    x[32] = refF32(0x3380_0000)  // 2^-24
    let weights = try Tensor(floats: w, shape: [1, 33])
    let y32 = try Reference.gemv(weights: weights, x: Tensor(floats: x, shape: [33]), outputType: .fp32)
    #expect(y32.fp32Bits() == [0x3400_0000])  // 2^-23
    let y16 = try Reference.gemv(weights: weights, x: Tensor(floats: x, shape: [33]), outputType: .fp16)
    #expect(y16.fp16Bits() == [0x0002])  // 2^-23 = 2 fp16 subnormal units
    #expect(w[16] * x[16] == refF32(0x3F80_1000))  // the unfused product does round
  }

  @Test("batches, fp16 operands, canonical NaN")
  func batchesAndNaN() throws {
    // 2 × 3 fp16 weights, batch of 2.
    let w = try refFP16([0x3C00, 0x4000, 0x4200, 0xBC00, 0x0000, 0x7E05], [2, 3])  // [1,2,3],[-1,0,NaN]
    let x = try refFP16([0x3C00, 0x3C00, 0x3C00, 0x4000, 0x0000, 0xBC00], [2, 3])  // [1,1,1],[2,0,-1]
    let y = try Reference.gemv(weights: w, x: x, outputType: .fp16)
    #expect(y.shape == [2, 2])
    #expect(y.fp16Bits() == [0x4600, 0x7E00, 0xBC00, 0x7E00])  // 6, NaN, -1, NaN
    let y32 = try Reference.gemv(weights: w, x: x, outputType: .fp32)
    #expect(y32.fp32Bits() == [0x40C0_0000, 0x7FC0_0000, 0xBF80_0000, 0x7FC0_0000])
  }

  @Test("operand errors")
  func errors() throws {
    let w = try Tensor(floats: [1, 2, 3, 4, 5, 6], shape: [2, 3])
    #expect(refErrorKind { try Reference.gemv(weights: w, x: Tensor(floats: [1, 2], shape: [2]), outputType: .fp32) } == .invalidShape)
    #expect(refErrorKind { try Reference.gemv(weights: Tensor(floats: [1, 2], shape: [2]), x: Tensor(floats: [1, 2], shape: [2]), outputType: .fp32) } == .invalidShape)
    #expect(refErrorKind { try Reference.gemv(weights: refInts([1, 2], .int8, [1, 2]), x: Tensor(floats: [1, 2], shape: [2]), outputType: .fp32) } == .invalidDType)
    #expect(refErrorKind { try Reference.gemv(weights: w, x: Tensor(floats: [1, 2, 3], shape: [3]), outputType: .int8) } == .invalidDType)
    #expect(refErrorKind { try Reference.gemv(weights: w, x: Tensor(floats: [1, 2, 3], shape: [1, 1, 3]), outputType: .fp32) } == .invalidShape)
  }
}

@Suite("reference ops: FORMATS.md examples, NaN rule, error kinds")
struct ReferenceOpTests {
  @Test("§7.1 vector palettization shapes and placement")
  func vectorPalettization() throws {
    // indices [2, 4] uint1, lut [1, 2, 2, 2] (2 groups along axis 1), vector_axis 1 → [2, 8].
    let indices = try refInts([0, 1, 1, 0, 1, 1, 0, 0], .uint1, [2, 4])
    let lut = try refInts([10, 11, 20, 21, 30, 31, 40, 41], .uint8, [1, 2, 2, 2])
    let out = try Reference.lutToDenseIOS18(indices: indices, lut: lut, vectorAxis: -1)
    #expect(out.shape == [2, 8])
    #expect(out.integers() == [10, 11, 20, 21, 40, 41, 30, 31, 20, 21, 20, 21, 30, 31, 30, 31])
    // vector_axis 0: rows 2r and 2r + 1 come from index row r.
    let rows = try Reference.lutToDenseIOS18(
      indices: refInts([1, 0], .uint1, [1, 2]), lut: refInts([1, 2, 3, 4], .int8, [1, 1, 2, 2]), vectorAxis: 0)
    #expect(rows.shape == [2, 2])
    #expect(rows.integers() == [3, 1, 4, 2])
  }

  @Test("lut_to_sparse docstring example (vector_axis 0)")
  func lutToSparseExample() throws {
    let mask = try refInts(
      [1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 1, 0, 1, 0, 0, 0, 0, 1, 0, 0], .uint1, [4, 6])
    let nonzero = try refInts([0, 1, 1, 0, 1, 1, 0, 0, 1], .uint1)
    let lut = try refFP16([0x4000, 0x4000, 0x4200, 0x4200], [1, 1, 2, 2])  // [[2, 2], [3, 3]]
    let (outMask, values) = try Reference.lutToSparse(
      indicesMask: mask, indicesNonzeroData: nonzero, lut: lut, vectorAxis: 0)
    #expect(outMask.shape == [8, 6])
    let rows = mask.integers()
    var expandedRows = [Int]()
    for r in 0..<8 { expandedRows += rows[(r / 2 * 6)..<(r / 2 * 6 + 6)] }
    #expect(outMask.integers() == expandedRows)
    // Row-major over the expanded tensor: rows 0 and 1 are both [2, 3] ...
    let two: UInt16 = 0x4000, three: UInt16 = 0x4200
    let expectedValues: [UInt16] = [two, three, two, three, three, two, three, three, two, three]
      + [three, two, two, three, two, two, three, three]
    #expect(values.fp16Bits() == expectedValues)
    // ... and sparse_to_dense of both outputs gives the dense weight.
    let dense = try Reference.sparseToDenseIOS18(nonzeroData: values, mask: outMask)
    #expect(dense.shape == [8, 6])
  }

  @Test("blockwise shift scale rounds an fp16 offset difference before the multiply")
  func fp16OffsetRounding() throws {
    // y = RN16(−12 − (−1.779296875)) = −10.21875; RN16(0.5322265625 · y) = −5.4375 (0xC570);
    // the fused RN16(s · (x − off)) would be 0xC571.
    let out = try Reference.blockwiseShiftScale(
      data: refInts([-12], .int8, [1]), scale: refFP16([0x3842]), offset: refFP16([0xBF1E]))
    #expect(out.fp16Bits() == [0xC570])
  }

  @Test("affine: a zero difference times a negative scale is −0; fp16 overflow is inf")
  func affineEdges() throws {
    let out = try Reference.affineDequantize(
      quantizedData: refInts([3, 3, 127], .int8), zeroPoint: refInts([3], .int8, []),
      scale: refFP16([0xB800]).refReshaped([]), axis: 0)
    #expect(out.fp16Bits() == [0x8000, 0x8000, 0xD3C0])  // −0, −0, −0.5 · 124 = −62
    let big = try Reference.affineDequantize(
      quantizedData: refInts([127, -128], .int8), zeroPoint: refInts([0], .int8, []),
      scale: refFP16([0x7800]).refReshaped([]), axis: -1)  // 32768
    #expect(big.fp16Bits() == [0x7C00, 0xFC00])
  }

  @Test("NaN rule: the data-side NaN wins, quieted; then the parameter's")
  func nanRule() throws {
    // fp16 data NaN (signalling 0x7C05) with NaN scale: the data's NaN, quieted.
    let a = try Reference.blockwiseShiftScale(
      data: refFP16([0x7C05, 0x3C00, 0xFE07], [3, 1]), scale: refFP16([0x7E33], [1, 1]), offset: nil)
    #expect(a.fp16Bits() == [0x7E05, 0x7E33, 0xFE07])
    // fp16 offset NaN: x' wins over the offset, the offset over the scale.
    let b = try Reference.blockwiseShiftScale(
      data: refFP16([0x7D01, 0x3C00], [2]), scale: refFP16([0x7E77]), offset: refFP16([0x7C02]))
    #expect(b.fp16Bits() == [0x7F01, 0x7E02])
    // fp32 data with an fp16 scale: x' is narrowed as numpy narrows (a payload that truncates
    // to 0 becomes 1), then the multiply quiets it.
    let c = try Reference.blockwiseShiftScale(
      data: Tensor(fp32Bits: [0x7F80_0001, 0x7FA0_0000], shape: [2]), scale: refFP16([0x3C00]), offset: nil)
    #expect(c.fp16Bits() == [0x7E01, 0x7F00])
    // affine: fp32 zero point NaN beats the scale NaN; a NaN scale alone is quieted.
    let d = try Reference.affineDequantize(
      quantizedData: refInts([1, 1], .int8), zeroPoint: Tensor(fp32Bits: [0x7F80_0005, 0], shape: [2]),
      scale: Tensor(fp32Bits: [0x7F80_0033, 0x7F80_0033], shape: [2]), axis: 0)
    #expect(d.fp32Bits() == [0x7FC0_0005, 0x7FC0_0033])
  }

  @Test("cast widens exactly and keeps signalling NaNs")
  func cast() throws {
    let out = try Reference.cast(refFP16([0x7C01, 0x0001, 0xFBFF], [3, 1]), to: .fp32)
    #expect(out.shape == [3, 1])
    #expect(out.fp32Bits() == [0x7F80_2000, 0x3380_0000, 0xC77F_E000])
  }

  @Test("error kinds follow the library convention")
  func errorKinds() throws {
    let lut4 = try refFP16([0, 1, 2, 3])
    let shape5 = try refInts([5], .uint32)
    // iOS16 LUT.
    #expect(refErrorKind { try Reference.lutToDenseIOS16(indices: refInts([0, 0], .int8), lut: lut4, shape: shape5) } == .invalidDType)
    #expect(refErrorKind { try Reference.lutToDenseIOS16(indices: refInts([0, 0], .uint8), lut: lut4, shape: refInts([5], .int32)) } == .invalidDType)
    #expect(refErrorKind { try Reference.lutToDenseIOS16(indices: refInts([0, 0], .uint8), lut: refInts([0, 1, 2, 3], .int32), shape: shape5) } == .invalidDType)
    #expect(refErrorKind { try Reference.lutToDenseIOS16(indices: refInts([0, 0, 0], .uint8), lut: lut4, shape: shape5) } == .invalidShape)
    #expect(try Reference.lutToDenseIOS16(indices: refInts([0, 0xFC], .uint8), lut: lut4, shape: shape5).count == 5)  // padding unchecked
    // iOS18 LUT.
    let idx = try refInts([0, 1, 2, 3], .uint2, [2, 2])
    #expect(refErrorKind { try Reference.lutToDenseIOS18(indices: idx, lut: refFP16([0, 1, 2, 3, 4, 5, 6, 7], [1, 1, 4, 2]), vectorAxis: nil) } == .invalidArgument)
    #expect(refErrorKind { try Reference.lutToDenseIOS18(indices: idx, lut: refFP16([0, 1, 2, 3], [1, 1, 4, 1]), vectorAxis: -3) } == .invalidArgument)
    #expect(refErrorKind { try Reference.lutToDenseIOS18(indices: idx, lut: refFP16([0, 1, 2, 3], [1, 4, 1]), vectorAxis: nil) } == .invalidShape)
    #expect(refErrorKind { try Reference.lutToDenseIOS18(indices: refInts([0, 1, 2, 3], .uint4, [2, 2]), lut: refFP16([0, 1, 2, 3], [1, 1, 4, 1]), vectorAxis: nil) } == .invalidShape)
    #expect(refErrorKind { try Reference.lutToDenseIOS18(indices: refInts([0, 1, 2, 3], .int8, [2, 2]), lut: refFP16([0, 1, 2, 3], [1, 1, 4, 1]), vectorAxis: nil) } == .invalidDType)
    #expect(try Reference.lutToDenseIOS18(indices: idx, lut: refFP16([0, 1, 2, 3], [1, 1, 4, 1]), vectorAxis: 1).shape == [2, 2])
    // Sparse.
    #expect(refErrorKind { try Reference.sparseToDenseIOS16(nonzeroData: refInts([1, 2, 3], .int8), mask: refInts([0x23], .uint8), shape: shape5) } == .invalidArgument)
    #expect(refErrorKind { try Reference.sparseToDenseIOS16(nonzeroData: refInts([1, 2], .int8), mask: refInts([0x03, 0], .uint8), shape: shape5) } == .invalidShape)
    #expect(refErrorKind { try Reference.sparseToDenseIOS16(nonzeroData: refInts([1], .int8), mask: refInts([0x03], .uint8), shape: shape5) } == .invalidShape)
    #expect(refErrorKind { try Reference.sparseToDenseIOS16(nonzeroData: refInts([1, 2], .int4), mask: refInts([0x03], .uint8), shape: shape5) } == .invalidDType)
    #expect(try Reference.sparseToDenseIOS18(nonzeroData: refInts([1, 2], .int4), mask: refInts([1, 0, 1], .uint1)).integers() == [1, 0, 2])
    #expect(refErrorKind { try Reference.sparseToDenseIOS18(nonzeroData: refInts([1, 2], .int4), mask: refInts([1, 0, 1], .uint8)) } == .invalidDType)
    // Shift scale.
    let data = try refInts([1, 2, 3, 4], .int8, [2, 2])
    let scale = try refFP16([0x3C00, 0x3C00], [2, 1])
    #expect(refErrorKind { try Reference.blockwiseShiftScale(data: data, scale: scale, offset: refInts([0, 0], .int8, [1, 2])) } == .invalidShape)
    #expect(refErrorKind { try Reference.blockwiseShiftScale(data: data, scale: scale, offset: refInts([0, 0], .uint8, [2, 1])) } == .invalidDType)
    #expect(refErrorKind { try Reference.blockwiseShiftScale(data: data, scale: scale, offset: Tensor(floats: [0, 0], shape: [2, 1])) } == .unsupported)
    #expect(refErrorKind { try Reference.blockwiseShiftScale(data: data, scale: refFP16([0x3C00, 0x3C00, 0x3C00], [3, 1]), offset: nil) } == .invalidShape)
    #expect(refErrorKind { try Reference.blockwiseShiftScale(data: data, scale: refInts([1, 1], .int8, [2, 1]), offset: nil) } == .invalidDType)
    #expect(try Reference.blockwiseShiftScale(data: data, scale: scale, offset: refFP16([0x3C00, 0], [2, 1])).fp16Bits() == [0, 0x3C00, 0x4200, 0x4400])
    // Affine and cast.
    #expect(refErrorKind { try Reference.affineDequantize(quantizedData: data, zeroPoint: refInts([0], .int8, []), scale: refFP16([0x3C00]), axis: -3) } == .invalidArgument)
    #expect(refErrorKind { try Reference.affineDequantize(quantizedData: data, zeroPoint: refInts([0], .int4, []), scale: refFP16([0x3C00]), axis: 0) } == .invalidDType)
    #expect(refErrorKind { try Reference.affineDequantize(quantizedData: data, zeroPoint: refInts([0, 0, 0], .int8), scale: refFP16([0x3C00]), axis: 0) } == .invalidShape)
    #expect(refErrorKind { try Reference.cast(Tensor(floats: [1], shape: [1]), to: .fp32) } == .invalidDType)
    #expect(refErrorKind { try Reference.cast(refFP16([0x3C00]), to: .fp16) } == .invalidArgument)
  }
}

extension Tensor {
  /// The same bytes with another shape of the same element count (test helper).
  fileprivate func refReshaped(_ shape: [Int]) throws -> Tensor {
    try Tensor(dtype: dtype, shape: shape, bytes: bytes)
  }
}
