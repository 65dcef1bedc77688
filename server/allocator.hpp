// Which allocator serves this process's malloc and operator new, for --version.
#pragma once
#include <string>

namespace meridian::cli {

// "mimalloc 2.0.9" when the build links mimalloc and it does serve malloc (a block from
// calloc lies in mimalloc's heap), else "system malloc".
std::string allocator_in_use();

}  // namespace meridian::cli
