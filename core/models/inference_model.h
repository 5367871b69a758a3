// InferenceModel: anything that turns a batch of normalized images into
// logits: FP32 eager, FP32 compiled (TorchScript + oneDNN), real INT8, FP16,
// ONNX Runtime. Evaluation and latency measurement are written against this.
// Not thread-safe: one caller at a time.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/base/small_batch_threads.h"

namespace qg::models {

// One layer's share of a forward pass (see InferenceModel::PredictTimingLayers).
struct LayerTime {
  std::string layer;  // the graph node's name
  std::string kind;   // what ran: "conv", "add", "fp32_op", "conv2d", ...
  double ms = 0;
};

class InferenceModel {
 public:
  virtual ~InferenceModel() = default;
  // Says honestly what runs: "fp32, TorchScript frozen, oneDNN convolutions".
  virtual std::string Describe() const = 0;
  // Logits [B, classes] for float images [B, C, H, W]. Throws c10::Error on
  // shape mismatch; callers at a boundary wrap it with TorchCall.
  virtual torch::Tensor Predict(const torch::Tensor& images) = 0;
  // Predict, timing each layer on the steady clock: per layer in execution
  // order, the milliseconds it took. Models that run as one compiled graph
  // (TorchScript, ONNX Runtime) time only as a whole and return nothing.
  virtual std::vector<LayerTime> PredictTimingLayers(const torch::Tensor& images) {
    Predict(images);
    return {};
  }

  // The compiled FP32 and the INT8 models run small batches on one intra-op
  // thread or on all, whichever the model measured faster on its first calls
  // (core/base/small_batch_threads.h). `set_one_thread_batches` forces batches
  // up to `n` onto one thread and the rest onto all (0: never one thread).
  void set_one_thread_batches(int64_t n) { small_batch_threads_.Force(n); }
  // Whether batches of `batch` run on one thread, once measured or forced.
  std::optional<bool> OnOneThreadAt(int64_t batch) const { return small_batch_threads_.Chosen(batch); }
  // Calls at `batch` still to come before that choice is made (latency
  // measurement counts them as warm-up).
  int MeasuringCallsLeft(int64_t batch) const { return small_batch_threads_.MeasuringCallsLeft(batch); }

 protected:
  // Holds the call's thread count (and times it while measuring).
  SmallBatchThreads::Call ThreadsFor(const torch::Tensor& images) {
    return {small_batch_threads_, images.dim() > 0 ? images.size(0) : 0};
  }

 private:
  SmallBatchThreads small_batch_threads_;
};

}  // namespace qg::models
