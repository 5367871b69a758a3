// How far a model's outputs are from a reference model's on the same inputs
// (INT8 or FP16 vs FP32): max and mean absolute difference of the logits,
// relative MSE, and how often the top-1 predictions agree.
#pragma once

#include <torch/types.h>

#include <nlohmann/json.hpp>

namespace qg::metrics {

struct OutputDiff {
  int64_t count = 0;
  double max_abs = 0;
  double mean_abs = 0;
  double relative_mse = 0;    // mean((a - b)^2) / mean(a^2)
  double top1_agreement = 0;  // percent

  nlohmann::json ToJson() const;
};

// `reference` and `other` are logits [N, classes] for the same N inputs.
OutputDiff CompareOutputs(const torch::Tensor& reference, const torch::Tensor& other);

}  // namespace qg::metrics
