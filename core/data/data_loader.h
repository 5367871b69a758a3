// DataLoader: batches from a Dataset, normalized and optionally augmented, with
// deterministic shuffling and a background prefetch thread.
//
// Order: epoch e visits a permutation that depends only on (seed, e), so a run
// resumed at epoch e sees exactly the batches the uninterrupted run saw.
// Sharding: with world_size W, global batch s is permutation slice
// [s*B*W, (s+1)*B*W) and rank r takes its r-th B-sized piece, so W ranks of
// batch B see the same examples per step as one process of batch B*W.
//
// A DataLoader is immutable, cheap to copy and may be shared; each
// EpochIterator holds its own copy (so it may outlive the loader it came from)
// and belongs to one consumer thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/data/dataset.h"
#include "core/data/transforms.h"

namespace qg::data {

struct LoaderOptions {
  int64_t batch_size = 128;  // per rank
  bool shuffle = false;
  bool drop_last = false;
  uint64_t seed = 0;
  AugmentOptions augment;
  int prefetch = 2;  // batches prepared ahead on a background thread; 0 = none
  int rank = 0;
  int world_size = 1;
  int64_t limit = 0;  // use only the first `limit` examples; 0 = all
};

class EpochIterator;

class DataLoader {
 public:
  DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options);

  const Dataset& dataset() const { return *dataset_; }
  const LoaderOptions& options() const { return options_; }
  int64_t NumExamples() const;      // examples the loader draws from (all ranks)
  int64_t BatchesPerEpoch() const;  // steps per epoch, the same on every rank
  // Iterates epoch `epoch`; starts prefetching immediately.
  std::unique_ptr<EpochIterator> Epoch(int64_t epoch) const;

 private:
  friend class EpochIterator;
  // The dataset indices of step `step` for this rank (empty past the end).
  std::vector<int64_t> StepIndices(const std::vector<int64_t>& order, int64_t step) const;
  Result<Batch> MakeBatch(const std::vector<int64_t>& indices, int64_t epoch) const;

  std::shared_ptr<const Dataset> dataset_;
  LoaderOptions options_;
};

class EpochIterator {
 public:
  ~EpochIterator();
  EpochIterator(const EpochIterator&) = delete;
  EpochIterator& operator=(const EpochIterator&) = delete;

  // The next batch; nullopt at the end of the epoch; the dataset's Error if a
  // batch could not be read (iteration stops there).
  Result<std::optional<Batch>> Next();

 private:
  friend class DataLoader;
  EpochIterator(const DataLoader& loader, int64_t epoch);
  void Produce();

  const DataLoader loader_;
  int64_t epoch_;
  std::vector<int64_t> order_;
  int64_t steps_;
  int64_t next_step_ = 0;  // consumer side, when not prefetching

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Result<Batch>> ready_;
  bool producer_done_ = false;
  bool stop_ = false;
  std::thread producer_;
};

}  // namespace qg::data
