// Resumable training state: model, optimizer (momentum buffers), generator
// state, epoch, early-stopping state and the report so far, in one LibTorch
// archive written atomically after every epoch.
#pragma once

#include <torch/optim/sgd.h>

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

#include "core/base/result.h"
#include "core/models/graph_module.h"

namespace qg::train {

struct TrainProgress {
  int64_t epochs_done = 0;
  int64_t global_step = 0;
  nlohmann::json recipe;  // TrainOptions::ToJson(): a state resumes only the same recipe
  nlohmann::json report;  // TrainReport::ToJson() so far
  double best_val = -1;
  int64_t best_epoch = -1;
  int64_t epochs_without_improvement = 0;
};

Status SaveTrainState(const std::string& path, const models::GraphModuleImpl& model, const torch::optim::SGD& optimizer,
                      const TrainProgress& progress, const std::vector<torch::Tensor>& best_state);
// nullopt when no file exists at `path`; Corruption when it cannot be read.
// Restores model, optimizer, best weights and LibTorch's default generator.
Result<std::optional<TrainProgress>> LoadTrainState(const std::string& path, models::GraphModuleImpl& model,
                                                    torch::optim::SGD& optimizer,
                                                    std::vector<torch::Tensor>& best_state);

}  // namespace qg::train
