// A stateless allocator for the header fields of the L7 proxy's requests and responses.
// Beast allocates every field (and the start line) separately; a proxied request
// allocates and frees a dozen of them, always of a few small sizes, always on the
// tier's io thread. Blocks up to kMaxBlock bytes come from thread-local free lists by
// 32-byte size class (a pop and a push instead of malloc and free); larger ones go to
// operator new. Each list keeps at most kMaxCached blocks, so memory stays bounded
// after a burst.
#pragma once
#include <cstddef>
#include <new>

namespace meridian::forward::l7 {

namespace pool_detail {

inline constexpr std::size_t kStep = 32;
inline constexpr std::size_t kMaxBlock = 512;
inline constexpr std::size_t kClasses = kMaxBlock / kStep;
inline constexpr std::size_t kMaxCached = 4096;

struct FreeBlock {
  FreeBlock* next;
};

struct Lists {
  FreeBlock* head[kClasses] = {};
  std::size_t count[kClasses] = {};
  ~Lists() {
    for (std::size_t c = 0; c < kClasses; ++c)
      while (FreeBlock* b = head[c]) {
        head[c] = b->next;
        ::operator delete(static_cast<void*>(b));
      }
  }
};

inline Lists& lists() {
  thread_local Lists l;
  return l;
}

inline void* allocate(std::size_t bytes) {
  if (bytes == 0 || bytes > kMaxBlock) return ::operator new(bytes);
  const std::size_t c = (bytes - 1) / kStep;
  Lists& l = lists();
  if (FreeBlock* b = l.head[c]) {
    l.head[c] = b->next;
    --l.count[c];
    return b;
  }
  return ::operator new((c + 1) * kStep);
}

inline void deallocate(void* p, std::size_t bytes) noexcept {
  if (bytes == 0 || bytes > kMaxBlock) {
    ::operator delete(p);
    return;
  }
  const std::size_t c = (bytes - 1) / kStep;
  Lists& l = lists();
  if (l.count[c] >= kMaxCached) {
    ::operator delete(p);
    return;
  }
  auto* b = static_cast<FreeBlock*>(p);
  b->next = l.head[c];
  l.head[c] = b;
  ++l.count[c];
}

}  // namespace pool_detail

template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() noexcept = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}  // NOLINT: converting, as allocators are
  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= alignof(std::max_align_t), "over-aligned types are not pooled");
    return static_cast<T*>(pool_detail::allocate(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) noexcept { pool_detail::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const PoolAllocator<U>&) const noexcept {
    return false;
  }
};

}  // namespace meridian::forward::l7
