// Whether a small batch runs faster on one intra-op thread or on all of them
// depends on the CPU. A batch of one image runs each op in microseconds, and
// forking and joining the OpenMP team around every op can cost more than the
// second core saves: compact_cnn's INT8 batch 1 ran 1.38-1.45x faster on one
// thread on AMD family 26, and 1.25x faster on two on family 25 model 17
// (`qg_bench threads`). So each model measures it: its first calls at each
// small batch size alternate blocks on one thread and on all, and from then on
// it keeps the faster.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/base/intra_op_threads.h"

namespace qg {

class SmallBatchThreads {
 public:
  // Batches up to this size are measured; larger ones always use all threads.
  static constexpr int64_t kLargestBatch = 2;
  // Four warm-up calls (a new shape's first calls make oneDNN's primitives
  // and warm the caches), then four blocks of four calls (all threads, one,
  // all, one): 20 calls, the latency measurement's warm-up. A block's first
  // call is not counted either: its thread count's primitives may be new.
  static constexpr int kWarmupCalls = 4, kBlocks = 4, kCallsPerBlock = 4;
  static constexpr int kMeasuringCalls = kWarmupCalls + kBlocks * kCallsPerBlock;

  // Skips the measurement: batches up to `n` on one thread, the rest on all
  // (0: never one thread). For benchmarks and tests that compare the modes.
  void Force(int64_t one_thread_batches) { forced_ = one_thread_batches; }
  // Once measured (or forced): whether batches of `batch` run on one thread.
  std::optional<bool> Chosen(int64_t batch) const;
  // Calls still to come before batches of `batch` are measured; 0 where the
  // measurement is done, forced, not needed, or not begun (a model that never
  // measures).
  int MeasuringCallsLeft(int64_t batch) const;

  // Holds the thread count for one call of the model, and times it while the
  // batch size is being measured.
  class Call {
   public:
    Call(SmallBatchThreads& threads, int64_t batch);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

   private:
    struct Timed {
      SmallBatchThreads* owner;
      int64_t batch;
      bool one_thread;
      std::chrono::steady_clock::time_point start;
    };
    std::optional<Timed> timed_;
    OneIntraOpThread threads_;
  };

 private:
  struct Trial {
    int calls = 0;
    std::vector<double> one_ms, all_ms;
    std::optional<bool> one_thread;  // the choice, once made
  };
  // The mode of the next call at `batch`; sets `timed` where it is counted.
  bool NextCallOnOneThread(int64_t batch, bool& timed);
  void Record(int64_t batch, bool one_thread, double ms);

  std::optional<int64_t> forced_;
  std::array<Trial, kLargestBatch + 1> trials_{};  // by batch size
};

}  // namespace qg
