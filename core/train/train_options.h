// TrainOptions: the training recipe. Everything here affects the trained
// weights, so all of it goes into a training job's config hash.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

#include "core/base/result.h"

namespace qg::train {

struct TrainOptions {
  int64_t epochs = 3;
  int64_t batch_size = 128;  // global: split across ranks in data-parallel runs
  double lr = 0.05;
  double min_lr = 0.0;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 5e-4;
  double warmup_epochs = 0.0;
  double label_smoothing = 0.0;
  int64_t early_stopping_patience = 0;  // epochs; 0 = off
  int64_t val_size = 0;                 // training examples held out for validation
  int64_t crop_padding = 0;             // random-crop augmentation; 0 = off
  bool horizontal_flip = false;
  uint64_t seed = 0;
  int64_t max_steps_per_epoch = 0;  // 0 = whole epoch (tests and benchmarks cut it)
  // Data-parallel ranks a worker starts for this training (1 = one process).
  // Only in the JSON when > 1, so single-process recipes keep their hashes.
  int64_t processes = 1;
  // Where training runs: "cpu", or "cuda" (LibTorch with CUDA and a visible
  // GPU); `amp` trains in mixed precision (FP16 autocast and dynamic loss
  // scaling) and needs cuda. Both only in the JSON when not the default.
  std::string device = "cpu";
  bool amp = false;

  nlohmann::json ToJson() const;
  // InvalidArgument naming the field ("train.lr: must be positive").
  static Result<TrainOptions> FromJson(const nlohmann::json& j, const std::string& path = "train");
};

}  // namespace qg::train
