// Train: the epoch loop. SGD with momentum (optionally Nesterov), weight
// decay, cosine LR with warm-up, label smoothing, early stopping on validation
// accuracy (best weights restored), auxiliary-head loss (Inception, weight
// 0.4), resumable state after every epoch, and progress through a
// TrainObserver.
//
// Determinism: initial weights come from the model's seed, the data order
// from (seed, epoch), dropout from a generator seeded from the recipe seed and
// saved in the resumable state. A run resumed from its state file ends with
// the same weights, bit for bit, as the run that was never interrupted.
#pragma once

#include <nlohmann/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/data/dataset.h"
#include "core/models/graph_module.h"
#include "core/train/gradient_sync.h"
#include "core/train/train_observer.h"
#include "core/train/train_options.h"

namespace qg::train {

struct TrainReport {
  std::vector<EpochStats> epochs;
  std::vector<double> step_losses;  // loss of every step (mean over ranks)
  int64_t best_epoch = -1;
  double best_val_accuracy = -1;
  bool stopped_early = false;
  bool resumed = false;
  int64_t steps = 0;
  double seconds = 0;

  nlohmann::json ToJson() const;
  static TrainReport FromJson(const nlohmann::json& j);
};

struct TrainRun {
  TrainOptions options;
  std::shared_ptr<const data::Dataset> train_set;  // the whole training split
  TrainObserver* observer = nullptr;
  GradientSync* sync = nullptr;  // data-parallel; null for one process
  models::ForwardHooks* hooks = nullptr;  // QAT fake-quantization; not together with sync hooks
  std::string state_path;        // resumable state written after every epoch; "" = none
  bool resume = false;           // continue from state_path when it exists
  double stop_above_loss = 0;    // > 0: a step loss above it ends training as diverged
};

// Trains `model` in place. Errors: the dataset's, a diverged loss
// (non-finite, or above stop_above_loss: FailedPrecondition), a state file that belongs to another recipe.
Result<TrainReport> Train(models::GraphModule& model, const TrainRun& run);

}  // namespace qg::train
