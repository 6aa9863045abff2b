/// A sparse weight as Core ML's iOS18 `constexpr_sparse_to_dense` stores it (FORMATS.md §7.2):
/// the j-th one of `mask` (row-major) receives `nonzeroData[j]`, every other element is 0.
public struct SparseEncoded: Equatable, Sendable {
  /// uint1, the dense shape.
  public let mask: Tensor
  /// The dense dtype, `[D]` with D = number of ones in `mask`.
  public let nonzeroData: Tensor
}

/// Encoders for `constexpr_sparse_to_dense`: exact encoding of a dense tensor, and coremltools'
/// `prune_weights` with `OpMagnitudePrunerConfig` (`coremltools/optimize/coreml/_quantization_passes.py`).
public enum SparseEncoding {
  /// The sparse form of `dense`: the mask is set where the element's bit pattern is not all zero
  /// (so -0.0 is kept as a stored value, unlike coremltools' `value != 0`, and
  /// `sparseToDense(encode(W))` equals W bit for bit, NaN payloads included); values in row-major
  /// order.
  ///
  /// - Parameter dense: fp16, fp32, int8, uint8, int4 or uint4, rank ≥ 1.
  /// - Throws: `.invalidDType` for another dtype; `.invalidShape` for a rank-0 tensor.
  public static func encode(_ dense: Tensor) throws -> SparseEncoded {
    try require(dense, [.fp16, .fp32, .int8, .uint8, .int4, .uint4], minimumRank: 1)
    let fields = BitPacking.unpack(dense.bytes, dtype: dense.dtype, count: dense.count)
    return try encoded(fields, like: dense) { $0 != 0 }
  }

  /// coremltools' unstructured magnitude pruning (`prune_weights.compress_by_magnitude` with
  /// `target_sparsity` s, numpy 2.4): with q = 100·s,
  /// - q = 100: W ← 0·W. Finite weights become ±0 and are dropped; NaN and ±Inf become NaN
  ///   (NaN quieted; 0·Inf is the CPU's default NaN, negative on x86) and stay stored.
  /// - 0 < q < 100: zero (+0) where |w| ≤ `numpy.percentile(|W|, q)`. numpy's "linear" method:
  ///   i = (N−1)·(q/100) in Double, a and b the ⌊i⌋-th and next smallest |w|, t = i − ⌊i⌋; with the
  ///   Python-float q that coremltools passes, numpy 2 interpolates in the weight dtype:
  ///   `t < 0.5 ? a + (b−a)·T(t) : b − (b−a)·T(1−t)`, each step rounded to T. Any NaN weight makes the
  ///   percentile NaN and nothing is pruned; a NaN from Inf arithmetic (Inf − Inf, Inf·0) likewise.
  ///   Ties are all pruned, so sparsity can exceed s; it can also fall short of it (finite weights:
  ///   at least ⌊(N−1)·s⌋ + 1 are pruned; N = 2, s = 0.9 prunes one).
  /// - q = 0: nothing is pruned.
  ///
  /// Then coremltools stores `value != 0`: -0.0 weights are dropped and decode as +0.
  ///
  /// - Parameters:
  ///   - dense: fp16 or fp32, rank ≥ 1.
  ///   - targetSparsity: s in [0, 1].
  /// - Throws: `.invalidDType`, `.invalidShape` (rank 0), `.invalidArgument` (s outside [0, 1] or NaN).
  /// - Complexity: O(N log N) (a sort of the magnitudes).
  public static func magnitudePrune(_ dense: Tensor, targetSparsity: Double) throws -> SparseEncoded {
    try require(dense, [.fp16, .fp32], minimumRank: 1)
    guard (0...1).contains(targetSparsity) else {
      throw WeightKernelsError.invalidArgument("targetSparsity \(targetSparsity) is not in [0, 1]")
    }
    let layout = FloatLayout(dense.dtype)
    var fields = BitPacking.unpack(dense.bytes, dtype: dense.dtype, count: dense.count)
    let q = targetSparsity * 100
    if q == 100 {
      fields = fields.map(layout.timesZero)
    } else if q != 0 && !fields.isEmpty {
      let threshold = layout.percentile(fields.map { $0 & ~layout.signBit }, q: q)
      fields = fields.map { layout.magnitude($0) <= threshold ? 0 : $0 }
    }
    return try encoded(fields, like: dense) { !layout.isZero($0) }
  }

  /// coremltools' n:m structured pruning (`prune_weights.compress_by_nm_sparsity`, `n_m_ratio`
  /// with `dim` = `axis`): along `axis`, every line is cut into runs of m consecutive elements from
  /// index 0, the last run padded with +0 to length m; in each run the n elements first in
  /// `numpy.argsort(|run|)` order are zeroed, so a padding zero counts towards n.
  ///
  /// Ties follow numpy's scalar argsort (introsort: insertion sort for m ≤ 16, which is
  /// stable, so the lowest index goes first; median-of-3 quicksort above), which numpy uses for
  /// fp16 and, except on x86 CPUs with AVX2 or AVX-512 (x86-simd-sort), for fp32. NaN sorts last.
  /// As in coremltools, W ← W·(1 − pruned): pruned ±Inf and NaN become NaN and stay stored (see
  /// `magnitudePrune`), kept NaNs are quieted, and ±0 results are dropped (-0.0 decodes as +0).
  /// coremltools' pass skips weights whose extent along `axis` is below 2m; this function prunes them.
  ///
  /// - Parameters:
  ///   - dense: fp16 or fp32, rank ≥ 2 (a linear weight `[out, in]`, a conv `[out, in, k…]`).
  ///   - n: zeros per run, 0 ≤ n ≤ m.
  ///   - m: run length, m ≥ 1.
  ///   - axis: the run axis, in −rank..<rank; coremltools' default 1 is the input axis.
  /// - Throws: `.invalidDType`, `.invalidShape` (rank < 2), `.invalidArgument` (n, m or axis).
  /// - Complexity: O(N log m).
  public static func nmPrune(_ dense: Tensor, n: Int, m: Int, axis: Int = 1) throws -> SparseEncoded {
    try require(dense, [.fp16, .fp32], minimumRank: 2)
    guard m >= 1, (0...m).contains(n) else {
      throw WeightKernelsError.invalidArgument("n:m = \(n):\(m) needs m ≥ 1 and 0 ≤ n ≤ m")
    }
    guard (-dense.rank..<dense.rank).contains(axis) else {
      throw WeightKernelsError.invalidArgument("axis \(axis) out of range for rank \(dense.rank)")
    }
    let axis = axis < 0 ? axis + dense.rank : axis
    let layout = FloatLayout(dense.dtype)
    let fields = BitPacking.unpack(dense.bytes, dtype: dense.dtype, count: dense.count)
    let extent = dense.shape[axis]
    let inner = dense.shape[(axis + 1)...].reduce(1, *)
    let outer = dense.shape[..<axis].reduce(1, *)

    var pruned = [Bool](repeating: false, count: fields.count)
    var keys = [Int](repeating: 0, count: m)
    var order = [Int](repeating: 0, count: m)
    for o in 0..<outer {
      for i in 0..<inner {
        for start in stride(from: 0, to: extent, by: m) {
          let length = min(m, extent - start)
          let position = { (k: Int) in ((o * extent) + start + k) * inner + i }
          for k in 0..<m { keys[k] = k < length ? layout.sortKey(fields[position(k)]) : 0 }
          numpyArgsort(keys, into: &order)
          for k in order[..<n] where k < length { pruned[position(k)] = true }
        }
      }
    }
    let result = fields.indices.map { pruned[$0] ? layout.timesZero(fields[$0]) : layout.timesOne(fields[$0]) }
    return try encoded(result, like: dense) { !layout.isZero($0) }
  }

  // MARK: - Helpers

  private static func require(_ dense: Tensor, _ dtypes: [DType], minimumRank: Int) throws {
    guard dtypes.contains(dense.dtype) else {
      throw WeightKernelsError.invalidDType("dense: \(dense.dtype) is not one of \(dtypes)")
    }
    guard dense.rank >= minimumRank else {
      throw WeightKernelsError.invalidShape("dense: rank \(dense.rank), needs at least \(minimumRank)")
    }
  }

  /// Mask and values of the fields (raw element values) that `keep` accepts.
  private static func encoded(_ fields: [Int], like dense: Tensor, keep: (Int) -> Bool) throws -> SparseEncoded {
    var mask = [Int](repeating: 0, count: fields.count)
    var values = [Int]()
    for (i, field) in fields.enumerated() where keep(field) {
      mask[i] = 1
      values.append(field)
    }
    return SparseEncoded(
      mask: try Tensor(dtype: .uint1, shape: dense.shape, bytes: BitPacking.pack(mask, dtype: .uint1)),
      nonzeroData: try Tensor(
        dtype: dense.dtype, shape: [values.count], bytes: BitPacking.pack(values, dtype: dense.dtype)))
  }

  /// numpy's scalar `aquicksort_` (`numpy/_core/src/npysort/quicksort.cpp`): the permutation that
  /// sorts `keys`, with numpy's (unstable) order of equal keys.
  private static func numpyArgsort(_ keys: [Int], into order: inout [Int]) {
    let count = keys.count
    order = Array(0..<count)
    guard count > 1 else { return }
    var pl = 0
    var pr = count - 1
    var stack = [(pl: Int, pr: Int, depth: Int)]()
    var depth = 2 * (Int.bitWidth - 1 - count.leadingZeroBitCount)
    while true {
      if depth < 0 {
        numpyArgHeapsort(keys, &order, pl...pr)
      } else {
        while pr - pl > 15 {
          let pm = pl + ((pr - pl) >> 1)
          if keys[order[pm]] < keys[order[pl]] { order.swapAt(pm, pl) }
          if keys[order[pr]] < keys[order[pm]] { order.swapAt(pr, pm) }
          if keys[order[pm]] < keys[order[pl]] { order.swapAt(pm, pl) }
          let pivot = keys[order[pm]]
          var pi = pl
          var pj = pr - 1
          order.swapAt(pm, pj)
          while true {
            repeat { pi += 1 } while keys[order[pi]] < pivot
            repeat { pj -= 1 } while pivot < keys[order[pj]]
            if pi >= pj { break }
            order.swapAt(pi, pj)
          }
          order.swapAt(pi, pr - 1)
          depth -= 1
          // Continue with the smaller side; the larger waits on the stack.
          if pi - pl < pr - pi {
            stack.append((pi + 1, pr, depth))
            pr = pi - 1
          } else {
            stack.append((pl, pi - 1, depth))
            pl = pi + 1
          }
        }
        if pl < pr {
          for pi in (pl + 1)...pr {
            let vi = order[pi]
            var pj = pi
            while pj > pl && keys[vi] < keys[order[pj - 1]] {
              order[pj] = order[pj - 1]
              pj -= 1
            }
            order[pj] = vi
          }
        }
      }
      guard let next = stack.popLast() else { return }
      (pl, pr, depth) = next
    }
  }

  /// numpy's `aheapsort_` (`npysort_heapsort.h`), the introsort fallback, on `order[range]`.
  private static func numpyArgHeapsort(_ keys: [Int], _ order: inout [Int], _ range: ClosedRange<Int>) {
    // numpy indexes the heap from 1.
    let base = range.lowerBound - 1
    func siftDown(_ value: Int, from start: Int, size: Int) {
      var i = start
      var j = 2 * start
      while j <= size {
        if j < size && keys[order[base + j]] < keys[order[base + j + 1]] { j += 1 }
        guard keys[value] < keys[order[base + j]] else { break }
        order[base + i] = order[base + j]
        i = j
        j += j
      }
      order[base + i] = value
    }
    var n = range.count
    for l in stride(from: n >> 1, to: 0, by: -1) {
      siftDown(order[base + l], from: l, size: n)
    }
    while n > 1 {
      let value = order[base + n]
      order[base + n] = order[base + 1]
      n -= 1
      siftDown(value, from: 1, size: n)
    }
  }
}

/// Bit patterns of fp16 / fp32 weights (as `Int` fields) and numpy's arithmetic on them.
private struct FloatLayout {
  let dtype: DType
  let signBit: Int
  let infinity: Int
  let quietBit: Int

  init(_ dtype: DType) {
    self.dtype = dtype
    if dtype == .fp16 {
      (signBit, infinity, quietBit) = (0x8000, 0x7C00, 0x0200)
    } else {
      (signBit, infinity, quietBit) = (0x8000_0000, 0x7F80_0000, 0x0040_0000)
    }
  }

  func isZero(_ field: Int) -> Bool { field & ~signBit == 0 }
  func isNaN(_ field: Int) -> Bool { field & ~signBit > infinity }

  /// |value| (exact; NaN for NaN).
  func magnitude(_ field: Int) -> Float { value(field & ~signBit) }

  func value(_ field: Int) -> Float {
    dtype == .fp16
      ? Float(Float16(bitPattern: UInt16(truncatingIfNeeded: field)))
      : Float(bitPattern: UInt32(truncatingIfNeeded: field))
  }

  /// |value| as an integer with numpy's float order: magnitudes order as their bit patterns, every
  /// NaN ties with every other NaN above +Inf.
  func sortKey(_ field: Int) -> Int { min(field & ~signBit, infinity + 1) }

  /// numpy's `x * 1`: NaNs come back quiet.
  func timesOne(_ field: Int) -> Int { isNaN(field) ? field | quietBit : field }

  /// numpy's `0 * x`: a signed zero, the quieted NaN, or the CPU's default NaN for ±Inf.
  func timesZero(_ field: Int) -> Int {
    if isNaN(field) { return field | quietBit }
    if field & ~signBit == infinity {
      #if arch(x86_64) || arch(i386)
        return signBit | infinity | quietBit
      #else
        return infinity | quietBit
      #endif
    }
    return field & signBit
  }

  /// numpy 2's `percentile(magnitudes, q)` (method "linear", q a Python float) as a Float (exact).
  func percentile(_ magnitudes: [Int], q: Double) -> Float {
    // numpy returns the last element after partitioning, a NaN if there is one.
    if magnitudes.contains(where: { $0 > infinity }) { return .nan }
    let sorted = magnitudes.sorted()
    let last = sorted.count - 1
    let index = Double(last) * (q / 100)
    let lower = index >= Double(last) ? last : Int(index.rounded(.down))
    let upper = index >= Double(last) ? last : lower + 1
    // At the top numpy indexes −1, so t = index + 1 there.
    let t = index >= Double(last) ? index + 1 : index - index.rounded(.down)
    if dtype == .fp16 {
      let a = Float16(bitPattern: UInt16(sorted[lower]))
      let b = Float16(bitPattern: UInt16(sorted[upper]))
      return Float(FloatLayout.lerp(a, b, t))
    }
    return FloatLayout.lerp(Float(bitPattern: UInt32(sorted[lower])), Float(bitPattern: UInt32(sorted[upper])), t)
  }

  /// numpy's `_lerp(a, b, t)` with a Python-float t: every step in T.
  static func lerp<T: BinaryFloatingPoint>(_ a: T, _ b: T, _ t: Double) -> T {
    let difference = b - a
    return t >= 0.5 ? b - difference * T(1 - t) : a + difference * T(t)
  }
}
