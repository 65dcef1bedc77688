#include "allocator.hpp"

#include <cstdlib>

#ifdef MERIDIAN_MIMALLOC
#include <mimalloc.h>
#endif

namespace meridian::cli {

std::string allocator_in_use() {
#ifdef MERIDIAN_MIMALLOC
  // Linked first, mimalloc's malloc and free take the place of libc's for the whole
  // process (its libraries too); check that they did rather than assume it.
  void* probe = std::calloc(1, 64);
  const bool ours = probe != nullptr && mi_is_in_heap_region(probe);
  std::free(probe);
  if (ours) {
    const int v = mi_version();  // 209 is 2.0.9
    return "mimalloc " + std::to_string(v / 100) + "." + std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
  }
#endif
  return "system malloc";
}

}  // namespace meridian::cli
