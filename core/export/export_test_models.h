// Models for the export tests: registry models with random weights and BN
// statistics, and the same quantized by naive PTQ on synthetic images.
#pragma once

#include <torch/torch.h>

#include <string>
#include <utility>

#include "core/data/dataset_registry.h"
#include "core/models/model_registry.h"
#include "core/quant/engine.h"
#include "core/quant/strategy.h"

namespace qg::onnx_export {

inline models::GraphModule RandomModel(const std::string& name, const models::ModelOptions& options) {
  auto model = *models::CreateModel(name, options, 7);
  // Non-trivial running statistics, so BatchNormalization is really tested.
  torch::NoGradGuard no_grad;
  for (auto& b : model->named_buffers()) {
    if (b.key().find("running_mean") != std::string::npos) b.value().uniform_(-0.2, 0.2);
    if (b.key().find("running_var") != std::string::npos) b.value().uniform_(0.5, 1.5);
  }
  model->eval();
  return model;
}

// A registry model with random weights (RandomModel), naive PTQ calibrated on
// 128 synthetic images of its input shape; with the splits, for test images.
inline auto NaivePtqOnSynthetic(const std::string& name, const models::ModelOptions& options, int64_t test_images,
                                const std::string& out_dir) {
  auto splits = *data::OpenDataset({.name = "synthetic",
                                    .synthetic_train = 128,
                                    .synthetic_test = test_images,
                                    .synthetic_channels = options.in_channels,
                                    .synthetic_size = options.image_size});
  auto model = RandomModel(name, options);
  const quant::Strategy* ptq = *quant::FindStrategy("naive_ptq");
  auto params = *ptq->ResolveParams({{"calibration_size", 128}}, "naive_ptq");
  auto applied = ptq->Apply(
      {.fp32 = model, .train_set = splits.train, .engine = quant::DefaultEngine(), .out_dir = out_dir}, params);
  return std::make_pair(std::move(splits), std::move(applied));
}

}  // namespace qg::onnx_export
