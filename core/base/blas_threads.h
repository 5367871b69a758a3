// The BLAS library's own threads. Debian's LibTorch runs FP32 matrix products
// (Linear layers, also in the frozen FP32 inference graph) through BLAS, which
// with libopenblas0-pthread keeps a thread pool of its own beside LibTorch's
// OpenMP threads. After each call its idle threads spin on sched_yield and
// take cores away from the OpenMP threads of the next convolution: compact_cnn
// FP32 at batch 64 on 2 threads took 5.5-8 ms (median per round) instead of
// 4.7 ms, with ~200 sched_yield calls per forward pass. Latency measurements
// therefore hold BLAS at one thread, so that one pool owns the cores.
//
// Where the BLAS library has no thread control (the reference BLAS), these are
// no-ops. Process-wide; not for use while another thread runs BLAS calls.
#pragma once

namespace qg {

// The BLAS thread count in effect, or 0 where the library offers no control.
int BlasThreads();

// Sets the BLAS thread count for its lifetime, then restores the previous one.
class ScopedBlasThreads {
 public:
  explicit ScopedBlasThreads(int threads);
  ~ScopedBlasThreads();
  ScopedBlasThreads(const ScopedBlasThreads&) = delete;
  ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

 private:
  int previous_;  // 0: nothing to restore
};

}  // namespace qg
