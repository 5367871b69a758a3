// LibTorch's intra-op threads (and oneDNN's inside it) are one OpenMP team
// on this build. A batch of one image runs each op in microseconds, and
// forking and joining the team around every op costs more than the second
// core saves: the inference paths run small batches on one thread.
#pragma once

namespace qg {

// One OpenMP thread for its lifetime where `on`, then the previous count.
// Only the calling thread's team size changes (omp_set_num_threads):
// at::set_num_threads would also drop oneDNN's primitive cache. oneDNN fixes
// a primitive's thread count when it makes it, at a shape's first call, so a
// model should run each batch size in one mode only.
class OneIntraOpThread {
 public:
  explicit OneIntraOpThread(bool on);
  ~OneIntraOpThread();
  OneIntraOpThread(const OneIntraOpThread&) = delete;
  OneIntraOpThread& operator=(const OneIntraOpThread&) = delete;

 private:
  int previous_;  // 0: nothing to restore
};

}  // namespace qg
