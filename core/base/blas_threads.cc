#include "core/base/blas_threads.h"

#include <dlfcn.h>

namespace qg {
namespace {

// OpenBLAS's own entry points, looked up in the process rather than linked:
// qg_base does not link BLAS, and another BLAS may stand in for OpenBLAS.
struct OpenBlas {
  int (*get)() = nullptr;
  void (*set)(int) = nullptr;
};

const OpenBlas& Lookup() {
  static const OpenBlas blas = [] {
    OpenBlas b;
    b.get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
    b.set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
    if (b.get == nullptr || b.set == nullptr) b = {};
    return b;
  }();
  return blas;
}

}  // namespace

int BlasThreads() { return Lookup().get ? Lookup().get() : 0; }

ScopedBlasThreads::ScopedBlasThreads(int threads) : previous_(BlasThreads()) {
  if (previous_ > 0 && previous_ != threads) Lookup().set(threads);
}

ScopedBlasThreads::~ScopedBlasThreads() {
  if (previous_ > 0 && previous_ != BlasThreads()) Lookup().set(previous_);
}

}  // namespace qg
