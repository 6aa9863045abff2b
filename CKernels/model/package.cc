// The .mlpackage directory (FORMATS.md §8.1 "Package layout"): Manifest.json, read by a small
// strict JSON parser, names the model item and the weights directory; model.mlmodel is read into
// memory and weight.bin mapped read-only.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"
#include "model/model.h"

namespace wk {
namespace model {
namespace {

constexpr size_t kMaxManifestBytes = size_t{1} << 20;
constexpr int kMaxJsonDepth = 16;

struct Json {
  enum Kind { kNull, kBool, kNumber, kString, kArray, kObject } kind = kNull;
  std::string text;  // string value
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> members;

  const Json* Get(const char* key) const {
    for (const auto& m : members)
      if (m.first == key) return &m.second;
    return nullptr;
  }
};

// RFC 8259 without extensions; fails on anything else, nesting deeper than kMaxJsonDepth too.
class JsonParser {
 public:
  JsonParser(const char* p, const char* end) : p_(p), end_(end) {}

  bool Document(Json* out) {
    if (!Value(out, 0)) return false;
    Space();
    return p_ == end_;
  }

 private:
  void Space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }
  bool Literal(const char* word) {
    const size_t n = std::strlen(word);
    if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0) return false;
    p_ += n;
    return true;
  }
  bool Value(Json* out, int depth) {
    if (depth > kMaxJsonDepth) return false;
    Space();
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return Object(out, depth);
      case '[': return Array(out, depth);
      case '"': out->kind = Json::kString; return String(&out->text);
      case 't': out->kind = Json::kBool; return Literal("true");
      case 'f': out->kind = Json::kBool; return Literal("false");
      case 'n': out->kind = Json::kNull; return Literal("null");
      default: out->kind = Json::kNumber; return Number();
    }
  }
  bool Object(Json* out, int depth) {
    out->kind = Json::kObject;
    ++p_;
    Space();
    if (p_ != end_ && *p_ == '}') { ++p_; return true; }
    for (;;) {
      Space();
      std::pair<std::string, Json> member;
      if (p_ == end_ || *p_ != '"' || !String(&member.first)) return false;
      Space();
      if (p_ == end_ || *p_++ != ':') return false;
      if (!Value(&member.second, depth + 1)) return false;
      out->members.push_back(std::move(member));
      Space();
      if (p_ == end_) return false;
      if (*p_ == '}') { ++p_; return true; }
      if (*p_++ != ',') return false;
    }
  }
  bool Array(Json* out, int depth) {
    out->kind = Json::kArray;
    ++p_;
    Space();
    if (p_ != end_ && *p_ == ']') { ++p_; return true; }
    for (;;) {
      Json item;
      if (!Value(&item, depth + 1)) return false;
      out->items.push_back(std::move(item));
      Space();
      if (p_ == end_) return false;
      if (*p_ == ']') { ++p_; return true; }
      if (*p_++ != ',') return false;
    }
  }
  static int Hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }
  bool String(std::string* out) {
    ++p_;  // opening quote
    while (p_ != end_) {
      const unsigned char c = static_cast<unsigned char>(*p_++);
      if (c == '"') return true;
      if (c < 0x20) return false;
      if (c != '\\') { out->push_back(static_cast<char>(c)); continue; }
      if (p_ == end_) return false;
      const char e = *p_++;
      switch (e) {
        case '"': case '\\': case '/': out->push_back(e); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          if (end_ - p_ < 4) return false;
          unsigned cp = 0;
          for (int i = 0; i < 4; ++i) {
            const int h = Hex(p_[i]);
            if (h < 0) return false;
            cp = cp * 16 + static_cast<unsigned>(h);
          }
          p_ += 4;
          // UTF-8 of the code unit; names in a manifest are ASCII, surrogates pass through.
          if (cp < 0x80) {
            out->push_back(static_cast<char>(cp));
          } else if (cp < 0x800) {
            out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          } else {
            out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
            out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
            out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
          }
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  bool Digits() {
    const char* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ != start;
  }
  bool Number() {
    if (p_ != end_ && *p_ == '-') ++p_;
    if (!Digits()) return false;
    if (p_ != end_ && *p_ == '.') { ++p_; if (!Digits()) return false; }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!Digits()) return false;
    }
    return true;
  }

  const char* p_;
  const char* end_;
};

wk_status IoError(wk_context* ctx, const char* what, const std::string& path) {
  return Fail(ctx, WK_ERROR_IO, "%s '%.180s': %s", what, path.c_str(), std::strerror(errno));
}

// Reads a whole regular file of at most max_bytes.
wk_status ReadFile(const std::string& path, size_t max_bytes, std::vector<uint8_t>* out,
                   wk_context* ctx) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError(ctx, "cannot open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ctx, WK_ERROR_IO, "not a regular file: '%.180s'", path.c_str());
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Fail(ctx, WK_ERROR_INVALID_MODEL, "'%.180s': %lld bytes, more than %zu", path.c_str(),
                static_cast<long long>(st.st_size), max_bytes);
  }
  out->resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < out->size()) {
    const ssize_t n = ::read(fd, out->data() + done, out->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return n == 0 ? Fail(ctx, WK_ERROR_IO, "'%.180s' shrank while being read", path.c_str())
                    : IoError(ctx, "cannot read", path);
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return WK_OK;
}

// Maps weight.bin read-only; an absent file maps nothing (a program without blobs).
wk_status MapWeights(const std::string& path, Model* m, wk_context* ctx) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return WK_OK;
    return IoError(ctx, "cannot open", path);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ctx, WK_ERROR_IO, "not a regular file: '%.180s'", path.c_str());
  }
  if (st.st_size > 0) {
    void* p = ::mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      const wk_status s = IoError(ctx, "cannot map", path);
      ::close(fd);
      return s;
    }
    m->mapping = p;
    m->mapping_size = static_cast<size_t>(st.st_size);
    m->weights = Span{static_cast<const uint8_t*>(p), m->mapping_size};
  }
  ::close(fd);
  return WK_OK;
}

// A manifest item path: relative, no "..", no empty component.
bool SafeRelativePath(const std::string& path) {
  if (path.empty() || path[0] == '/') return false;
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    const std::string part = path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part.empty() || part == "..") return false;
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

}  // namespace

wk_status OpenPackage(const char* dir, Model* m, wk_context* ctx) {
  const std::string root = dir;
  const std::string manifest_path = root + "/Manifest.json";
  std::vector<uint8_t> text;
  WK_TRY(ReadFile(manifest_path, kMaxManifestBytes, &text, ctx));
  Json doc;
  JsonParser parser(reinterpret_cast<const char*>(text.data()),
                    reinterpret_cast<const char*>(text.data()) + text.size());
  if (!parser.Document(&doc) || doc.kind != Json::kObject)
    return Fail(ctx, WK_ERROR_INVALID_MODEL, "Manifest.json: not a JSON object");
  const Json* entries = doc.Get("itemInfoEntries");
  if (entries == nullptr || entries->kind != Json::kObject)
    return Fail(ctx, WK_ERROR_INVALID_MODEL, "Manifest.json: no itemInfoEntries object");
  const Json* root_id = doc.Get("rootModelIdentifier");
  std::string model_path, weights_path;
  for (const auto& entry : entries->members) {
    const Json* path = entry.second.Get("path");
    const Json* name = entry.second.Get("name");
    if (entry.second.kind != Json::kObject || path == nullptr || path->kind != Json::kString)
      return Fail(ctx, WK_ERROR_INVALID_MODEL, "Manifest.json: item '%.64s' has no path",
                  entry.first.c_str());
    if (!SafeRelativePath(path->text))
      return Fail(ctx, WK_ERROR_INVALID_MODEL, "Manifest.json: item '%.64s': path '%.64s' leaves Data/",
                  entry.first.c_str(), path->text.c_str());
    const bool is_root = root_id != nullptr && root_id->kind == Json::kString && root_id->text == entry.first;
    const bool named = name != nullptr && name->kind == Json::kString;
    if (is_root || (model_path.empty() && named && name->text == "model.mlmodel")) model_path = path->text;
    if (named && name->text == "weights") weights_path = path->text;
  }
  if (model_path.empty())
    return Fail(ctx, WK_ERROR_INVALID_MODEL, "Manifest.json: no model item (rootModelIdentifier or model.mlmodel)");
  WK_TRY(ReadFile(root + "/Data/" + model_path, SIZE_MAX / 2, &m->program_copy, ctx));
  m->program = Span{m->program_copy.data(), m->program_copy.size()};
  if (!weights_path.empty()) WK_TRY(MapWeights(root + "/Data/" + weights_path + "/weight.bin", m, ctx));
  return WK_OK;
}

void UnmapPackage(Model* m) {
  if (m->mapping != nullptr) ::munmap(m->mapping, m->mapping_size);
  m->mapping = nullptr;
}

}  // namespace model
}  // namespace wk
