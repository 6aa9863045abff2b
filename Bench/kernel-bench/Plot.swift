import Foundation

/// A run drawn as a roofline, hand-written SVG: x = batch, y = GFLOP/s, both log scales. For each
/// measured thread count the roofline is min(memory roof, FMA peak): the memory roof is that of
/// dense fp16 weights (2 bytes per weight, read once per call, 2 · batch FLOP per weight, so
/// GFLOP/s = batch × streaming GB/s), the peak the measured fp32 FMA peak. One marker per
/// (kernel, batch, threads); a compressed kernel reads fewer bytes and may lie above the roof.
struct RooflinePlot {
  let title: String
  let ceilings: [Ceiling]
  let results: [BenchResult]
  let fmaISA: String

  private let width = 980.0, height = 620.0
  private let left = 78.0, top = 74.0, right = 700.0, bottom = 548.0

  private static let palette = [
    "#4e79a7", "#f28e2b", "#e15759", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f",
    "#ff9da7", "#17becf", "#bcbd22", "#8c564b", "#e377c2", "#7f7f7f", "#1f3b73",
  ]
  private static let dashes = ["", "7 4", "2 3", "10 3 2 3", "4 2"]

  private var threadCounts: [Int] {
    var seen = Set<Int>()
    return (ceilings.map(\.threads) + results.map(\.threads)).filter { seen.insert($0).inserted }.sorted()
  }
  private var kernels: [String] {
    var seen = Set<String>()
    return results.map(\.kernel).filter { seen.insert($0).inserted }
  }

  // MARK: Scales

  private var xDomain: (Double, Double) {
    let batches = results.map { Double($0.batch) }
    var lo = (batches.min() ?? 1) / 1.5, hi = (batches.max() ?? 1) * 1.5
    if hi / lo < 4 { let grow = (4 / (hi / lo)).squareRoot(); lo /= grow; hi *= grow }
    return (lo, hi)
  }

  private var yDomain: (Double, Double) {
    let (xlo, xhi) = xDomain
    var values = results.compactMap(\.gflops)
    for c in ceilings {
      values += [c.peakGflops, min(c.streamGBps * xlo, c.peakGflops), min(c.streamGBps * xhi, c.peakGflops)]
    }
    values = values.filter { $0 > 0 && $0.isFinite }
    guard let lo = values.min(), let hi = values.max() else { return (1, 100) }
    return (lo / 1.8, hi * 1.8)
  }

  private func px(_ batch: Double) -> Double {
    let (lo, hi) = xDomain
    return left + (log(batch) - log(lo)) / (log(hi) - log(lo)) * (right - left)
  }

  private func py(_ gflops: Double) -> Double {
    let (lo, hi) = yDomain
    return bottom - (log(gflops) - log(lo)) / (log(hi) - log(lo)) * (bottom - top)
  }

  // MARK: Drawing

  /// A white outline under a label, so that it stays legible over lines and markers.
  private static let halo = "stroke=\"#fff\" stroke-width=\"3\" stroke-linejoin=\"round\" paint-order=\"stroke\""

  private static func f(_ v: Double) -> String { String(format: "%.1f", v) }

  private static func escape(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
      .replacingOccurrences(of: ">", with: "&gt;")
  }

  private static func number(_ v: Double) -> String {
    if v >= 1 { return v == v.rounded() ? String(format: "%.0f", v) : String(format: "%g", v) }
    return String(format: "%g", v)
  }

  private func text(
    _ x: Double, _ y: Double, _ s: String, size: Double = 12, anchor: String = "start", color: String = "#222",
    extra: String = ""
  ) -> String {
    "<text x=\"\(Self.f(x))\" y=\"\(Self.f(y))\" font-size=\"\(Self.f(size))\" text-anchor=\"\(anchor)\" fill=\"\(color)\" \(extra)>\(Self.escape(s))</text>"
  }

  private func marker(_ shape: Int, _ x: Double, _ y: Double, _ color: String, size: Double = 5) -> String {
    let s = size, fx = Self.f(x), fy = Self.f(y)
    let style = "fill=\"\(color)\" stroke=\"#fff\" stroke-width=\"1\""
    switch shape % 4 {
    case 0: return "<circle cx=\"\(fx)\" cy=\"\(fy)\" r=\"\(Self.f(s))\" \(style)/>"
    case 1: return "<rect x=\"\(Self.f(x - s))\" y=\"\(Self.f(y - s))\" width=\"\(Self.f(2 * s))\" height=\"\(Self.f(2 * s))\" \(style)/>"
    case 2:
      let pts = [(x, y - 1.2 * s), (x + 1.15 * s, y + 0.9 * s), (x - 1.15 * s, y + 0.9 * s)]
      return "<polygon points=\"\(pts.map { "\(Self.f($0.0)),\(Self.f($0.1))" }.joined(separator: " "))\" \(style)/>"
    default:
      let pts = [(x, y - 1.3 * s), (x + 1.3 * s, y), (x, y + 1.3 * s), (x - 1.3 * s, y)]
      return "<polygon points=\"\(pts.map { "\(Self.f($0.0)),\(Self.f($0.1))" }.joined(separator: " "))\" \(style)/>"
    }
  }

  private func polyline(_ points: [(Double, Double)], color: String, width: Double, dash: String, opacity: Double = 1) -> String {
    let p = points.map { "\(Self.f($0.0)),\(Self.f($0.1))" }.joined(separator: " ")
    let d = dash.isEmpty ? "" : " stroke-dasharray=\"\(dash)\""
    return "<polyline points=\"\(p)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(Self.f(width))\" stroke-opacity=\"\(opacity)\"\(d)/>"
  }

  func svg() -> String {
    var out: [String] = []
    out.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" font-family=\"Helvetica, Arial, sans-serif\">")
    out.append("<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>")
    out.append("<defs><clipPath id=\"plot\"><rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\"/></clipPath></defs>")
    out.append(text(left, 28, title, size: 16, extra: "font-weight=\"bold\""))
    out.append(text(
      left, 48,
      "roofline per thread count: min(batch × streaming GB/s [dense fp16 weights], fp32 FMA peak [\(fmaISA)]), measured in the same run",
      size: 11.5, color: "#555"))

    // Grid, ticks and labels.
    let (xlo, xhi) = xDomain, (ylo, yhi) = yDomain
    var b = pow(2, floor(log2(xlo)))
    while b <= xhi {
      if b >= xlo {
        let x = px(b)
        out.append("<line x1=\"\(Self.f(x))\" y1=\"\(top)\" x2=\"\(Self.f(x))\" y2=\"\(bottom)\" stroke=\"#e6e6e6\"/>")
        out.append("<line x1=\"\(Self.f(x))\" y1=\"\(bottom)\" x2=\"\(Self.f(x))\" y2=\"\(bottom + 5)\" stroke=\"#444\"/>")
        out.append(text(x, bottom + 19, Self.number(b), anchor: "middle"))
      }
      b *= 2
    }
    let decades = log10(yhi) - log10(ylo)
    let mantissas: [Double] = decades > 4 ? [1] : (decades > 2.2 ? [1, 3] : [1, 2, 5])
    var e = floor(log10(ylo))
    while e <= ceil(log10(yhi)) {
      for m in mantissas {
        let v = m * pow(10, e)
        guard v >= ylo, v <= yhi else { continue }
        let y = py(v)
        out.append("<line x1=\"\(left)\" y1=\"\(Self.f(y))\" x2=\"\(right)\" y2=\"\(Self.f(y))\" stroke=\"\(m == 1 ? "#dcdcdc" : "#eeeeee")\"/>")
        out.append("<line x1=\"\(left - 5)\" y1=\"\(Self.f(y))\" x2=\"\(left)\" y2=\"\(Self.f(y))\" stroke=\"#444\"/>")
        out.append(text(left - 8, y + 4, Self.number(v), anchor: "end"))
      }
      e += 1
    }
    out.append("<rect x=\"\(left)\" y=\"\(top)\" width=\"\(right - left)\" height=\"\(bottom - top)\" fill=\"none\" stroke=\"#444\"/>")
    out.append(text((left + right) / 2, bottom + 42, "batch (activation rows per call)", size: 13, anchor: "middle"))
    out.append(text(
      20, (top + bottom) / 2, "GFLOP/s  (2 · rows · cols · batch / median time)", size: 13, anchor: "middle",
      extra: "transform=\"rotate(-90 20 \(Self.f((top + bottom) / 2)))\""))

    // Rooflines, clipped to the plot area.
    out.append("<g clip-path=\"url(#plot)\">")
    let threadIndex = Dictionary(uniqueKeysWithValues: threadCounts.enumerated().map { ($0.element, $0.offset) })
    for c in ceilings {
      let dash = Self.dashes[threadIndex[c.threads]! % Self.dashes.count]
      var points = [(xlo, min(c.streamGBps * xlo, c.peakGflops))]
      let ridge = c.peakGflops / c.streamGBps
      if ridge > xlo && ridge < xhi { points.append((ridge, c.peakGflops)) }
      points.append((xhi, min(c.streamGBps * xhi, c.peakGflops)))
      out.append(polyline(points.map { (px($0.0), py($0.1)) }, color: "#333", width: 2.2, dash: dash, opacity: 0.8))
      // Extensions beyond the ridge, faint: the memory roof above the peak, the peak left of the ridge.
      out.append(polyline([(px(xlo), py(c.streamGBps * xlo)), (px(xhi), py(c.streamGBps * xhi))], color: "#333", width: 1, dash: "2 4", opacity: 0.35))
      out.append(polyline([(px(xlo), py(c.peakGflops)), (px(xhi), py(c.peakGflops))], color: "#333", width: 1, dash: "2 4", opacity: 0.35))
    }
    // Points: one per (kernel, batch, threads), joined across batches per (kernel, threads).
    let kernelIndex = Dictionary(uniqueKeysWithValues: kernels.enumerated().map { ($0.element, $0.offset) })
    for k in kernels {
      let color = Self.palette[kernelIndex[k]! % Self.palette.count]
      for t in threadCounts {
        let series = results.filter { $0.kernel == k && $0.threads == t }.sorted { $0.batch < $1.batch }
        guard !series.isEmpty else { continue }
        let dash = Self.dashes[threadIndex[t]! % Self.dashes.count]
        if series.count > 1 {
          out.append(polyline(series.map { (px(Double($0.batch)), py($0.gflops!)) }, color: color, width: 1.3, dash: dash, opacity: 0.7))
        }
        for r in series {
          out.append(marker(threadIndex[t]!, px(Double(r.batch)), py(r.gflops!), color))
        }
      }
    }
    // Labels on the rooflines: the peak at the right end, the memory roof along its slope between
    // the first two batch sizes (no markers there); successive thread counts staggered so that
    // close ceilings stay readable.
    let batches = Array(Set(results.map { Double($0.batch) })).sorted()
    let labelStart = batches.first ?? xlo
    let labelEnd = batches.count > 1 ? batches[1] : xhi
    for (i, c) in ceilings.enumerated() {
      let name = c.threads == 1 ? "1 thread" : "\(c.threads) threads"
      out.append(text(
        right - 6, py(c.peakGflops) + (i % 2 == 0 ? -6 : 14),
        String(format: "FMA peak, %@: %.0f GFLOP/s", name, c.peakGflops), size: 11, anchor: "end", color: "#333",
        extra: Self.halo))
      let x0 = labelStart * pow(labelEnd / labelStart, 0.06 + 0.3 * Double(i % 3))
      let (ax, ay) = (px(x0), py(c.streamGBps * x0)), (bx, by) = (px(x0 * 2), py(c.streamGBps * x0 * 2))
      let angle = atan2(by - ay, bx - ax) * 180 / .pi
      if c.streamGBps * x0 < c.peakGflops && c.streamGBps * x0 > ylo {
        out.append(text(
          ax, ay - 6, String(format: "%@: %.1f GB/s × batch", name, c.streamGBps), size: 11,
          color: "#333", extra: Self.halo + " transform=\"rotate(\(Self.f(angle)) \(Self.f(ax)) \(Self.f(ay)))\""))
      }
    }

    out.append("</g>")

    // Legend.
    var y = top + 4
    let lx = right + 22
    out.append(text(lx, y + 8, "kernels", size: 13, extra: "font-weight=\"bold\""))
    y += 22
    for k in kernels {
      let color = Self.palette[kernelIndex[k]! % Self.palette.count]
      out.append("<rect x=\"\(Self.f(lx))\" y=\"\(Self.f(y - 9))\" width=\"22\" height=\"10\" fill=\"\(color)\"/>")
      out.append(text(lx + 30, y, k))
      y += 18
    }
    y += 12
    out.append(text(lx, y, "threads (marker, line)", size: 13, extra: "font-weight=\"bold\""))
    y += 20
    for t in threadCounts {
      let i = threadIndex[t]!
      out.append(polyline([(lx, y - 4), (lx + 34, y - 4)], color: "#333", width: 2, dash: Self.dashes[i % Self.dashes.count]))
      out.append(marker(i, lx + 17, y - 4, "#666"))
      out.append(text(lx + 42, y, t == 1 ? "1 thread" : "\(t) threads"))
      y += 20
    }
    y += 12
    out.append(text(lx, y, "ceilings (this run)", size: 13, extra: "font-weight=\"bold\""))
    y += 18
    for c in ceilings {
      out.append(text(lx, y, String(format: "%d thr: stream %.1f GB/s,", c.threads, c.streamGBps), size: 11.5))
      y += 15
      out.append(text(lx + 10, y, String(format: "FMA peak %.1f GFLOP/s", c.peakGflops), size: 11.5))
      y += 19
    }
    y += 6
    for line in [
      "Thick line: roofline for dense fp16", "weights (batch × stream GB/s, capped",
      "by the FMA peak). Compressed kernels", "read fewer bytes and can lie above it.",
    ] {
      out.append(text(lx, y, line, size: 11, color: "#555"))
      y += 15
    }
    out.append("</svg>")
    return out.joined(separator: "\n") + "\n"
  }
}
