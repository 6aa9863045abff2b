/// Core ML's constexpr decompression ops (FORMATS.md), one static function per op, each
/// bit-exact with coremltools and with `WeightKernelsReference` on every SIMD target.
/// `target: nil` runs the best target this CPU supports.
public enum CoreMLOps {}
