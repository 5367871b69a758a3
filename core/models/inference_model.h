// InferenceModel: anything that turns a batch of normalized images into
// logits: FP32 eager, FP32 compiled (TorchScript + oneDNN), real INT8, FP16,
// ONNX Runtime. Evaluation and latency measurement are written against this.
// Not thread-safe: one caller at a time.
#pragma once

#include <torch/types.h>

#include <cstdint>
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

  // The compiled FP32 and the INT8 models run batches up to this size on one
  // intra-op thread (core/base/intra_op_threads.h); `qg_bench threads`
  // measures where one thread stops winning. 0: never.
  static constexpr int64_t kOneThreadBatches = 2;
  void set_one_thread_batches(int64_t n) { one_thread_batches_ = n; }

 protected:
  bool OnOneThread(const torch::Tensor& images) const {
    return images.dim() > 0 && images.size(0) <= one_thread_batches_;
  }

 private:
  int64_t one_thread_batches_ = kOneThreadBatches;
};

}  // namespace qg::models
