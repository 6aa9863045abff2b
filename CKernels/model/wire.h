// Internal: a bounds-checked reader of the protobuf wire format (varints, fixed32/64,
// length-delimited fields), just what the model reader needs (FORMATS.md §8.1). Every read stays
// inside its span; malformed input (truncated varint or field, wire types 3/4/6/7, field number 0)
// ends the loop with failed() set.
#ifndef WK_MODEL_WIRE_H_
#define WK_MODEL_WIRE_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace wk {
namespace model {

struct Span {
  const uint8_t* data = nullptr;
  size_t size = 0;
  std::string str() const { return std::string(reinterpret_cast<const char*>(data), size); }
};

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

struct Field {
  uint32_t number = 0;
  uint32_t type = 0;
  uint64_t value = 0;  // varint, fixed32 or fixed64
  Span bytes;          // length-delimited payload
};

class WireReader {
 public:
  explicit WireReader(Span span) : p_(span.data), end_(span.data + span.size) {}

  // Reads the next field; false at the end of the span or on malformed input.
  bool Next(Field* f) {
    if (failed_ || p_ == end_) return false;
    uint64_t tag;
    if (!Varint(&tag) || (tag >> 3) == 0 || (tag >> 3) > 0x1FFFFFFF) return Fail();
    f->number = static_cast<uint32_t>(tag >> 3);
    f->type = static_cast<uint32_t>(tag & 7);
    f->bytes = Span();
    switch (f->type) {
      case kVarint:
        return Varint(&f->value) || Fail();
      case kFixed64:
        return Fixed(8, &f->value) || Fail();
      case kFixed32:
        return Fixed(4, &f->value) || Fail();
      case kLengthDelimited: {
        uint64_t n;
        if (!Varint(&n) || n > static_cast<uint64_t>(end_ - p_)) return Fail();
        f->bytes = Span{p_, static_cast<size_t>(n)};
        p_ += n;
        return true;
      }
      default:
        return Fail();
    }
  }

  bool failed() const { return failed_; }

  // Reads one varint of a packed repeated field.
  bool Varint(uint64_t* v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t b = *p_++;
      r |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *v = r;
        return true;
      }
    }
    return false;
  }

  bool AtEnd() const { return p_ == end_; }

 private:
  bool Fixed(int n, uint64_t* v) {
    if (end_ - p_ < n) return false;
    uint64_t r = 0;
    for (int i = 0; i < n; ++i) r |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += n;
    *v = r;
    return true;
  }
  bool Fail() {
    failed_ = true;
    return false;
  }

  const uint8_t* p_;
  const uint8_t* end_;
  bool failed_ = false;
};

}  // namespace model
}  // namespace wk

#endif  // WK_MODEL_WIRE_H_
