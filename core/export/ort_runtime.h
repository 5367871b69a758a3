// OnnxRuntime: ONNX Runtime as a measured runtime beside LibTorch. Debian has
// no ONNX Runtime package; npm's onnxruntime-node carries its native CPU
// library, so deploy/setup.sh installs it into deploy/ort and a small Node
// runner (core/export/ort_runner.js) runs sessions for us. Tensors cross as
// raw float32 files in a private temporary folder, one `node` process per
// call: a call covers a whole test split or a whole latency sweep, so the
// process start (~0.1 s) is paid once, never inside a timed run.
#pragma once

#include <torch/types.h>

#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "core/metrics/latency.h"

namespace qg::onnx_export {

class OnnxRuntime {
 public:
  // Finds node, the runner and onnxruntime-node ($QG_ORT_MODULES, else
  // deploy/ort/node_modules of the source tree). FailedPrecondition says what
  // is missing and how to install it.
  static Result<OnnxRuntime> Find();

  // The onnxruntime-node version, e.g. "1.20.1".
  const std::string& version() const { return version_; }
  std::string Describe() const;

  // Logits [N, classes] for float images [N, C, H, W], in batches.
  Result<torch::Tensor> Predict(const std::string& model_path, const torch::Tensor& images, int64_t batch_size,
                                int threads) const;
  // Every graph output of one run over all of `images` (one batch), by name
  // in the graph's order: float32 or uint8 tensors of the shapes ONNX
  // Runtime gave them.
  Result<std::vector<std::pair<std::string, torch::Tensor>>> RunAllOutputs(const std::string& model_path,
                                                                          const torch::Tensor& images,
                                                                          int threads) const;
  // Writes the graph ONNX Runtime runs for `model_path` (its optimized model:
  // fusions, inserted Casts) to `out_path`.
  Status WriteOptimizedGraph(const std::string& model_path, const std::string& out_path, int threads) const;
  // The LibTorch protocol: per batch size, warm-up runs then timed runs on a
  // fixed random input; statistics as metrics::Summarize computes them. With
  // a `reference_path` (the FP32 graph of the same model), the two sessions
  // alternate in 10 rounds in one process, as MeasureLatency alternates
  // LibTorch models, and the stats carry reference_p50_ms and
  // speedup_vs_reference (the median of the rounds' ratios).
  Result<std::vector<metrics::LatencyStats>> Latency(const std::string& model_path,
                                                     const std::vector<int64_t>& input_shape,
                                                     const metrics::LatencyOptions& options, int threads,
                                                     const std::string& reference_path = "") const;

  // The input every latency measurement times (randn after seed 1234, as
  // metrics::MeasureLatency draws it), `shape` with the batch first, written
  // as raw float32 to `path`.
  static Status WriteLatencyInput(const std::string& path, const std::vector<int64_t>& shape);

 private:
  friend class OrtTimer;  // starts the runner in serve mode
  OnnxRuntime(std::string node, std::string runner, std::string modules)
      : node_(std::move(node)), runner_(std::move(runner)), modules_(std::move(modules)) {}
  Result<nlohmann::json> RunRunner(const std::vector<std::string>& args) const;

  std::string node_, runner_, modules_, version_;
};

}  // namespace qg::onnx_export
