#include "core/base/intra_op_threads.h"

#include <omp.h>

namespace qg {

OneIntraOpThread::OneIntraOpThread(bool on) : previous_(on ? omp_get_max_threads() : 0) {
  if (previous_ > 1) {
    omp_set_num_threads(1);
  } else {
    previous_ = 0;
  }
}

OneIntraOpThread::~OneIntraOpThread() {
  if (previous_ > 0) omp_set_num_threads(previous_);
}

}  // namespace qg
