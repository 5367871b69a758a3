// OrtTimer: one ONNX Runtime session kept open in a runner process
// (ort_runner.js --mode serve) and timed on request. For callers that
// alternate ONNX Runtime with LibTorch round by round: the process starts,
// loads the model and warms up once, not once per round.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/metrics/latency.h"

namespace qg::onnx_export {

class OnnxRuntime;

// How long a caller that alternates the two runtimes waits before timing
// either: both runtimes' thread pools spin a while after their last call and
// would take the cores from the other (ort_runner.js's paired rounds wait the
// same).
inline constexpr std::chrono::milliseconds kRuntimeSettle{20};

class OrtTimer {
 public:
  // Starts the runner on `model_path` with the fixed latency input
  // (OnnxRuntime::WriteLatencyInput) for batches up to `largest_batch` of
  // `input_shape` images. Fails naming the model when the runner cannot load it.
  static Result<std::unique_ptr<OrtTimer>> Open(const OnnxRuntime& ort, const std::string& model_path,
                                                const std::vector<int64_t>& input_shape, int64_t largest_batch,
                                                int threads);
  ~OrtTimer();  // closes the session and waits for the process
  OrtTimer(const OrtTimer&) = delete;
  OrtTimer& operator=(const OrtTimer&) = delete;

  // `warmup` untimed calls, then `runs` timed ones at `batch` (at most the
  // largest batch): statistics as metrics::Summarize computes them.
  Result<metrics::LatencyStats> Time(int64_t batch, int warmup, int runs);

 private:
  struct Process;
  explicit OrtTimer(std::unique_ptr<Process> p);

  std::unique_ptr<Process> p_;
};

}  // namespace qg::onnx_export
