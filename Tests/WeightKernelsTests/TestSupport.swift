import Foundation
import PropertyBased
import Testing
import WeightKernels

// Shared machinery of the property-based suites: a seeded generator, value and shape generators
// that favour boundaries and special values, the property runner (seed printed on failure,
// replayable with WK_SEED), bit-exact tensor comparison and error-kind capture.

// MARK: - Seeded generator

/// SplitMix64: tiny, fast, and fully determined by its seed, so a failing case is rebuilt from
/// the one UInt64 printed with it.
struct SplitMix64: RandomNumberGenerator {
  private var state: UInt64

  init(seed: UInt64) { state = seed }

  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
  mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &self) }
  mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &self) < p }
  mutating func pick<T>(_ values: [T]) -> T { values[int(0..<values.count)] }
  mutating func bits(_ count: Int) -> UInt64 { count == 0 ? 0 : next() >> UInt64(64 - count) }
}

/// "0x0123456789abcdef".
func hex(_ value: UInt64) -> String {
  let digits = String(value, radix: 16)
  return "0x" + String(repeating: "0", count: max(0, 16 - digits.count)) + digits
}

func hex(_ value: UInt64, width: Int) -> String {
  let digits = String(value, radix: 16)
  return "0x" + String(repeating: "0", count: max(0, width - digits.count)) + digits
}

// MARK: - Property runner

/// Runs properties with seeded inputs. Each case is built from one UInt64 seed; the seed is in
/// every failure message, together with PropertyBased's `.fixedSeed(...)` hint.
///
/// Environment:
/// - `WK_SEED=0x…` (hex, as the failure messages print it) or `WK_SEED=123…` (decimal, as
///   PropertyBased's "Failure occured with input …" prints it) runs only that seed in every
///   property (replay: `WK_SEED=0x… swift test --filter <test>`);
/// - `WK_PROPERTY_SCALE=10` multiplies every property's case count (a longer soak).
enum Property {
  static let scale: Double = {
    guard let text = ProcessInfo.processInfo.environment["WK_PROPERTY_SCALE"], let v = Double(text),
      v > 0
    else { return 1 }
    return v
  }()

  static let replaySeed: UInt64? = {
    guard var text = ProcessInfo.processInfo.environment["WK_SEED"] else { return nil }
    if text.hasPrefix("0x") || text.hasPrefix("0X") {
      text.removeFirst(2)
      return UInt64(text, radix: 16)
    }
    return UInt64(text)  // decimal, as PropertyBased prints its input
  }()

  static func count(_ base: Int) -> Int { max(1, Int((Double(base) * scale).rounded())) }

  /// Calls `body` with `count` random seeds (or only WK_SEED). A thrown error is recorded with
  /// its seed. `body` records its own expectation failures (with the seed in the message).
  static func check(
    count: Int, sourceLocation: SourceLocation = #_sourceLocation, _ body: (UInt64) throws -> Void
  ) async {
    if let seed = replaySeed {
      run(seed, sourceLocation, body)
      return
    }
    await propertyCheck(
      count: Self.count(count), input: Gen.uint64(in: 0...UInt64.max),
      perform: { seed in run(seed, sourceLocation, body) }, sourceLocation: sourceLocation)
  }

  private static func run(_ seed: UInt64, _ location: SourceLocation, _ body: (UInt64) throws -> Void) {
    do {
      try body(seed)
    } catch {
      Issue.record("seed \(hex(seed)) (replay with WK_SEED=\(hex(seed))): unexpected error \(error)", sourceLocation: location)
    }
  }
}

/// Skips (explicitly) a target this CPU cannot run.
func requireSupported(_ target: SIMDTarget) throws {
  guard target.isSupported else { try Test.cancel("\(target) is not supported by this CPU") }
}

// MARK: - Shapes

enum Shapes {
  /// 1, 2, 3, primes, and N−1, N, N+1 for every vector width N (4, 8, 16 fp32 lanes; 16-column
  /// chunks; 32 and 64 for two and four chunks).
  static let boundaries = [1, 2, 3, 4, 5, 7, 8, 9, 13, 15, 16, 17, 31, 32, 33, 37, 63, 64, 65]

  static func divisors(_ n: Int) -> [Int] {
    guard n > 0 else { return [1] }
    return (1...n).filter { n % $0 == 0 }
  }
}

extension SplitMix64 {
  /// An extent in 1...max, usually a boundary value.
  mutating func extent(max: Int) -> Int {
    let limit = Swift.max(1, max)
    let candidates = Shapes.boundaries.filter { $0 <= limit }
    if candidates.isEmpty || chance(0.2) { return int(1...limit) }
    return pick(candidates)
  }

  /// A shape of `rank` extents with at most `maxCount` elements (boundary values favoured).
  mutating func shape(rank: Int, maxCount: Int, maxExtent: Int = 70) -> [Int] {
    var shape = [Int]()
    var product = 1
    for _ in 0..<rank {
      let budget = Swift.min(maxExtent, Swift.max(1, maxCount / product))
      let e = extent(max: budget)
      shape.append(e)
      product *= e
    }
    // Shuffle so that large extents are not always first.
    return shape.shuffled(using: &self)
  }

  /// A random divisor of n (n itself and 1 included).
  mutating func divisor(of n: Int) -> Int { pick(Shapes.divisors(n)) }
}

// MARK: - Values

/// How special the generated float values are.
struct ValueMix {
  /// Probability of a special value (±0, ±Inf, NaN, subnormal, max/min normal, ±1).
  var special = 0.08
  /// Whether NaNs may be signalling (only where values are copied bit for bit).
  var signallingNaN = false
  /// Probability of an ordinary value with any exponent (otherwise a moderate magnitude).
  var wide = 0.05
  /// Biased exponent range of moderate ordinary values (fp32 numbering; fp16 is shifted).
  var moderate: ClosedRange<Int> = 121...131  // 2^-6 ... 2^4

  static let moderate = ValueMix()
  /// Copied bit for bit: any pattern, including signalling NaNs.
  static let anyBits = ValueMix(special: 0.25, signallingNaN: true, wide: 0.5)
  /// No specials: finite, moderate values.
  static let finite = ValueMix(special: 0, wide: 0)
}

extension SplitMix64 {
  mutating func fp16(_ mix: ValueMix) -> UInt16 {
    let sign: UInt16 = chance(0.5) ? 0x8000 : 0
    if chance(mix.special) {
      switch int(0..<10) {
      case 0: return sign  // ±0
      case 1: return sign | 0x7C00  // ±Inf
      case 2, 3:
        // NaN: quiet with a random payload, or signalling when allowed.
        if mix.signallingNaN && chance(0.5) { return sign | 0x7C00 | UInt16(int(1...0x1FF)) }
        return sign | 0x7E00 | UInt16(bits(9))
      case 4, 5: return sign | UInt16(int(1...0x3FF))  // subnormal
      case 6: return sign | 0x7BFF  // max normal
      case 7: return sign | 0x0400  // min normal
      case 8: return sign | 0x3C00  // ±1
      default: return sign | 0x0001  // smallest subnormal
      }
    }
    let exponent: Int
    if chance(mix.wide) {
      exponent = int(1...30)
    } else {
      exponent = Swift.min(30, Swift.max(1, int(mix.moderate) - 112))
    }
    return sign | UInt16(exponent << 10) | UInt16(bits(10))
  }

  mutating func fp32(_ mix: ValueMix) -> UInt32 {
    let sign: UInt32 = chance(0.5) ? 0x8000_0000 : 0
    if chance(mix.special) {
      switch int(0..<10) {
      case 0: return sign
      case 1: return sign | 0x7F80_0000
      case 2, 3:
        if mix.signallingNaN && chance(0.5) { return sign | 0x7F80_0000 | UInt32(int(1...0x3F_FFFF)) }
        return sign | 0x7FC0_0000 | UInt32(bits(22))
      case 4, 5: return sign | UInt32(int(1...0x7F_FFFF))  // subnormal
      case 6: return sign | 0x7F7F_FFFF
      case 7: return sign | 0x0080_0000
      case 8: return sign | 0x3F80_0000
      default: return sign | UInt32(int(1...0x3FF)) << 13  // fp16-subnormal-sized normal
      }
    }
    let exponent = chance(mix.wide) ? int(1...254) : int(mix.moderate)
    return sign | UInt32(exponent) << 23 | UInt32(bits(23))
  }

  /// A float tensor of `dtype` (fp16 / fp32) with values drawn from `mix`.
  mutating func floatTensor(_ dtype: DType, shape: [Int], _ mix: ValueMix) throws -> Tensor {
    let count = shape.reduce(1, *)
    switch dtype {
    case .fp16: return try Tensor(fp16Bits: (0..<count).map { _ in fp16(mix) }, shape: shape)
    case .fp32: return try Tensor(fp32Bits: (0..<count).map { _ in fp32(mix) }, shape: shape)
    default: preconditionFailure("floatTensor(\(dtype))")
    }
  }

  /// An integer tensor with uniformly random values of `dtype`'s range (extremes favoured).
  mutating func integerTensor(_ dtype: DType, shape: [Int]) throws -> Tensor {
    let range = dtype.integerRange!
    let count = shape.reduce(1, *)
    let values = (0..<count).map { _ -> Int in
      if chance(0.1) { return chance(0.5) ? range.lowerBound : range.upperBound }
      return int(range)
    }
    return try Tensor(integers: values, dtype: dtype, shape: shape)
  }

  /// Any tensor of `dtype`: floats from `mix`, integers uniform.
  mutating func tensor(_ dtype: DType, shape: [Int], _ mix: ValueMix) throws -> Tensor {
    dtype.isFloatingPoint ? try floatTensor(dtype, shape: shape, mix) : try integerTensor(dtype, shape: shape)
  }

  /// Random n-bit indices of `shape`; with `garbagePadding` the unused high bits of the last
  /// byte are random too (Core ML ignores them).
  mutating func indices(bits: Int, shape: [Int], garbagePadding: Bool) throws -> Tensor {
    let dtype = DType.indexType(bits: bits)!
    let count = shape.reduce(1, *)
    let values = (0..<count).map { _ in int(0..<(1 << bits)) }
    let packed = try Tensor(integers: values, dtype: dtype, shape: shape)
    let usedBits = bits * count
    guard garbagePadding, usedBits % 8 != 0 else { return packed }
    var bytes = packed.bytes
    let padding = UInt8(truncatingIfNeeded: 0xFF << (usedBits % 8))
    bytes[bytes.count - 1] |= UInt8(truncatingIfNeeded: next()) & padding
    return try Tensor(dtype: dtype, shape: shape, bytes: bytes)
  }
}

// MARK: - Comparing tensors bit for bit

extension Tensor {
  /// The same bytes under another shape (test helper).
  func reshaped(_ shape: [Int]) throws -> Tensor { try Tensor(dtype: dtype, shape: shape, bytes: bytes) }

  /// Element i's raw bits (floats as bit patterns, integers as their unpacked value).
  func rawElement(_ i: Int) -> UInt64 {
    if dtype.bits >= 8 {
      let width = dtype.bits / 8
      var value: UInt64 = 0
      for j in 0..<width { value |= UInt64(bytes[i * width + j]) << UInt64(8 * j) }
      return value
    }
    return UInt64(bitPattern: Int64(BitPacking.element(bytes, dtype: dtype, index: i)))
  }

  /// Row b of a [batch, n] tensor as an [n] tensor.
  func row(_ b: Int) throws -> Tensor {
    precondition(rank == 2 && dtype.bits >= 8)
    let width = shape[1] * dtype.bits / 8
    return try Tensor(dtype: dtype, shape: [shape[1]], bytes: Array(bytes[(b * width)..<((b + 1) * width)]))
  }
}

func coordinates(_ linear: Int, shape: [Int]) -> [Int] {
  var rest = linear
  var result = [Int](repeating: 0, count: shape.count)
  for axis in stride(from: shape.count - 1, through: 0, by: -1) where shape[axis] > 0 {
    result[axis] = rest % shape[axis]
    rest /= shape[axis]
  }
  return result
}

/// nil when `actual` and `expected` have the same dtype, shape and bytes; otherwise where and
/// how they first differ (element, coordinates, bits) and how many elements differ.
func bitDifference(_ actual: Tensor, _ expected: Tensor) -> String? {
  guard actual.dtype == expected.dtype, actual.shape == expected.shape else {
    return "got \(actual.dtype)\(actual.shape), expected \(expected.dtype)\(expected.shape)"
  }
  guard actual.bytes != expected.bytes else { return nil }
  var first: Int?
  var differing = 0
  for i in 0..<actual.count where actual.rawElement(i) != expected.rawElement(i) {
    if first == nil { first = i }
    differing += 1
  }
  guard let i = first else {
    return "elements equal but bytes differ (padding bits): got \(actual.bytes.suffix(2)), expected \(expected.bytes.suffix(2))"
  }
  let width = max(2, actual.dtype.bits / 4)
  return "\(differing) of \(actual.count) elements differ; first: element \(i) at \(coordinates(i, shape: actual.shape)) "
    + "got \(hex(actual.rawElement(i), width: width)), expected \(hex(expected.rawElement(i), width: width))"
}

/// Records an issue (with `context`, which should name seed and target) unless the tensors are
/// bit-identical. Returns whether they were.
@discardableResult
func expectBits(
  _ actual: Tensor, _ expected: Tensor, _ context: @autoclosure () -> String,
  sourceLocation: SourceLocation = #_sourceLocation
) -> Bool {
  guard let difference = bitDifference(actual, expected) else { return true }
  Issue.record("\(context()): \(difference)", sourceLocation: sourceLocation)
  return false
}

// MARK: - Errors

/// The outcome of a call that may throw a WeightKernelsError.
enum Outcome<T>: CustomStringConvertible {
  case value(T)
  case error(WeightKernelsError)
  case otherError(any Error)

  init(_ body: () throws -> T) {
    do {
      self = .value(try body())
    } catch let error as WeightKernelsError {
      self = .error(error)
    } catch {
      self = .otherError(error)
    }
  }

  var kind: WeightKernelsError.Kind? {
    if case .error(let e) = self { return e.kind }
    return nil
  }

  var description: String {
    switch self {
    case .value(let v): return "accepted (\(v))"
    case .error(let e): return "\(e)"
    case .otherError(let e): return "non-library error \(e)"
    }
  }
}

extension DType {
  static let lutValueTypes: [DType] = [.fp16, .fp32, .int8, .uint8]
  static let indexBits = [1, 2, 3, 4, 6, 8]
}
