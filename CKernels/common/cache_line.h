// Internal: storage that starts on a cache line, for buffers the kernels read with full-vector
// loads. std::vector's blocks start 16 bytes into a line (large ones 16 bytes past a page), which
// splits every 64-byte load, and every other 32-byte one, across two lines: measured on batch-32
// activations (20 % slower) and lut8's 64-byte table planes on Zen 5 (GEMV 2.06 against 1.81 ms
// cold).
#ifndef WK_COMMON_CACHE_LINE_H_
#define WK_COMMON_CACHE_LINE_H_

#include <cstddef>
#include <new>
#include <vector>

namespace wk {

template <class T>
struct CacheLineAllocator {
  using value_type = T;
  CacheLineAllocator() = default;
  template <class U>
  CacheLineAllocator(const CacheLineAllocator<U>&) {}
  T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{64})); }
  void deallocate(T* p, size_t) { ::operator delete(p, std::align_val_t{64}); }
  bool operator==(const CacheLineAllocator&) const { return true; }
  bool operator!=(const CacheLineAllocator&) const { return false; }
};

template <class T>
using CacheLineVector = std::vector<T, CacheLineAllocator<T>>;

}  // namespace wk

#endif  // WK_COMMON_CACHE_LINE_H_
