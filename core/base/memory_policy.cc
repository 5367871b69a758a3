#include "core/base/memory_policy.h"

#include <malloc.h>

#include <climits>

namespace qg {

void KeepFreedMemoryInProcess() {
  // M_MMAP_MAX 0: no block gets a mapping of its own (a threshold cannot do
  // it: glibc caps M_MMAP_THRESHOLD at 32 MB). Setting either option also
  // turns off glibc's own threshold tuning, so both go together.
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, INT_MAX);
}

const char* KeepFreedMemoryTunables() { return "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=2147483647"; }

}  // namespace qg
