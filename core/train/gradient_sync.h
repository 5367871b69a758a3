// GradientSync: what data-parallel training needs from its process group.
// The trainer calls it at fixed points; single-process training passes none.
// Implementations (core/train/distributed.h) wrap c10d's ProcessGroup.
#pragma once

#include <torch/types.h>

#include <vector>

#include "core/base/result.h"
#include "core/models/graph_module.h"

namespace qg::train {

class GradientSync {
 public:
  virtual ~GradientSync() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // Before the first step: every rank takes rank 0's parameters and buffers.
  virtual Status BroadcastModel(models::GraphModuleImpl& model) = 0;
  // Before each backward: may arm per-parameter hooks that start all-reducing
  // gradient buckets while backward is still running.
  virtual void BeforeBackward(models::GraphModuleImpl& model) {}
  // After backward: when this returns, every gradient is the mean over ranks.
  virtual Status SynchronizeGradients(models::GraphModuleImpl& model) = 0;
  // Element-wise sum over ranks (loss and accuracy counters for reporting).
  virtual Result<std::vector<double>> AllReduceSum(std::vector<double> values) = 0;
  // Hooks the interpreter uses during training (SyncBatchNorm); may be null.
  virtual models::ForwardHooks* TrainingHooks() { return nullptr; }
};

}  // namespace qg::train
