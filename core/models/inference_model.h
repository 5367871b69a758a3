// InferenceModel: anything that turns a batch of normalized images into
// logits: FP32 eager, FP32 compiled (TorchScript + oneDNN), real INT8, FP16,
// ONNX Runtime. Evaluation and latency measurement are written against this.
// Not thread-safe: one caller at a time.
#pragma once

#include <torch/types.h>

#include <string>

namespace qg::models {

class InferenceModel {
 public:
  virtual ~InferenceModel() = default;
  // Says honestly what runs: "fp32, TorchScript frozen, oneDNN convolutions".
  virtual std::string Describe() const = 0;
  // Logits [B, classes] for float images [B, C, H, W]. Throws c10::Error on
  // shape mismatch; callers at a boundary wrap it with TorchCall.
  virtual torch::Tensor Predict(const torch::Tensor& images) = 0;
};

}  // namespace qg::models
