#include "core/base/small_batch_threads.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/base/median.h"

namespace qg {

std::optional<bool> SmallBatchThreads::Chosen(int64_t batch) const {
  if (forced_) return batch <= *forced_;
  if (batch < 1 || batch > kLargestBatch) return false;
  return trials_[static_cast<size_t>(batch)].one_thread;
}

int SmallBatchThreads::MeasuringCallsLeft(int64_t batch) const {
  if (Chosen(batch)) return 0;
  const int calls = trials_[static_cast<size_t>(batch)].calls;
  return calls == 0 ? 0 : std::max(0, kMeasuringCalls - calls);
}

bool SmallBatchThreads::NextCallOnOneThread(int64_t batch, bool& timed) {
  timed = false;
  if (const auto chosen = Chosen(batch)) return *chosen;
  Trial& t = trials_[static_cast<size_t>(batch)];
  const int call = t.calls++ - kWarmupCalls;
  if (call < 0) return true;
  timed = call % kCallsPerBlock != 0;
  return (call / kCallsPerBlock) % 2 == 1;
}

void SmallBatchThreads::Record(int64_t batch, bool one_thread, double ms) {
  Trial& t = trials_[static_cast<size_t>(batch)];
  (one_thread ? t.one_ms : t.all_ms).push_back(ms);
  if (t.calls < kMeasuringCalls) return;
  const double one = MedianOf(t.one_ms), all = MedianOf(t.all_ms);
  t.one_thread = one <= all;
  spdlog::debug("batches of {} run on {}: {:.1f} us on one intra-op thread, {:.1f} us on all", batch,
                *t.one_thread ? "one thread" : "all threads", one * 1e3, all * 1e3);
}

SmallBatchThreads::Call::Call(SmallBatchThreads& threads, int64_t batch)
    : threads_([&] {
        bool timed = false;
        const bool one = threads.NextCallOnOneThread(batch, timed);
        if (timed) timed_ = Timed{&threads, batch, one, std::chrono::steady_clock::now()};
        return one;
      }()) {}

SmallBatchThreads::Call::~Call() {
  if (!timed_) return;
  const std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - timed_->start;
  timed_->owner->Record(timed_->batch, timed_->one_thread, ms.count());
}

}  // namespace qg
