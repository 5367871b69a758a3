// FP32 inference paths. CompiledFp32Model is the fastest FP32 path LibTorch
// has here and the baseline every INT8 speedup is quoted against: the graph is
// emitted as TorchScript, frozen (constants folded, Conv-BN folded) and passed
// through optimize_for_inference (oneDNN convolutions on prepacked weights),
// exactly what `torch.jit.optimize_for_inference(torch.jit.freeze(...))` does in
// Python. EagerFp32Model runs the GraphModule interpreter under no-grad.
#pragma once

#include <torch/script.h>

#include <memory>
#include <string>

#include "core/base/result.h"
#include "core/models/graph_module.h"
#include "core/models/inference_model.h"

namespace qg::models {

// The TorchScript source CompileForInference builds (for tests and --explain).
std::string EmitTorchScript(const Graph& graph);

class CompiledFp32Model final : public InferenceModel {
 public:
  // Internal errors carry LibTorch's first message line.
  static Result<std::unique_ptr<CompiledFp32Model>> Compile(const GraphModule& model);
  std::string Describe() const override;
  torch::Tensor Predict(const torch::Tensor& images) override;

 private:
  explicit CompiledFp32Model(torch::jit::Module module) : module_(std::move(module)) {}
  torch::jit::Module module_;
};

class EagerFp32Model final : public InferenceModel {
 public:
  explicit EagerFp32Model(GraphModule model);
  std::string Describe() const override { return "fp32, eager interpreter, channels-last"; }
  torch::Tensor Predict(const torch::Tensor& images) override;

 private:
  GraphModule model_;
};

}  // namespace qg::models
