// FP32 inference paths. CompiledFp32Model is the fastest FP32 path LibTorch
// has here and the baseline every INT8 speedup is quoted against: the graph is
// emitted as TorchScript, frozen (constants folded, Conv-BN folded) and passed
// through optimize_for_inference (oneDNN convolutions on prepacked weights),
// exactly what `torch.jit.optimize_for_inference(torch.jit.freeze(...))` does in
// Python. EagerFp32Model runs the GraphModule interpreter under no-grad, and
// DeviceModel runs it on a GPU or in a 16-bit dtype.
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
  std::vector<LayerTime> PredictTimingLayers(const torch::Tensor& images) override;

 private:
  GraphModule model_;
};

// The eager interpreter on a device (a GPU) in a dtype (fp32, fp16, bf16):
// images go there, logits come back as float32 on CPU. It moves the module it
// is given (a handle): pass a clone to leave the caller's model where it was.
class DeviceModel final : public InferenceModel {
 public:
  DeviceModel(GraphModule model, torch::Device device, torch::ScalarType dtype = torch::kFloat32);
  // A clone of `model` on the GPU in `dtype` (what fp32 and fp16 run on cuda);
  // FailedPrecondition "<fp32|fp16> on cuda asked for, but ..." without one.
  static Result<std::unique_ptr<InferenceModel>> OnCuda(const GraphModule& model, torch::ScalarType dtype);
  std::string Describe() const override;
  torch::Tensor Predict(const torch::Tensor& images) override;

 private:
  GraphModule model_;
  torch::Device device_;
  torch::ScalarType dtype_;
};

}  // namespace qg::models
