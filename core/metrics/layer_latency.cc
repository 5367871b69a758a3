#include "core/metrics/layer_latency.h"

#include <torch/torch.h>

#include <chrono>

#include "core/base/blas_threads.h"
#include "core/base/torch_call.h"
#include "core/base/median.h"

namespace qg::metrics {

Result<LayerLatency> MeasureLayerLatency(models::InferenceModel& model, const std::vector<int64_t>& input_shape,
                                         const LayerLatencyOptions& o) {
  const ScopedBlasThreads one_pool(1);  // as whole-pass latency runs (core/base/blas_threads.h)
  std::vector<int64_t> shape{o.batch_size};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  std::vector<std::vector<models::LayerTime>> passes;
  std::vector<double> pass_ms;
  QG_RETURN_IF_ERROR(TorchCall("timing layers", [&] {
    const auto input = torch::randn(shape);
    for (int i = 0; i < o.warmup_runs || (i > 0 && model.MeasuringCallsLeft(o.batch_size) > 0); ++i) {
      model.Predict(input);
    }
    for (int r = 0; r < std::max(1, o.runs); ++r) {
      const auto start = std::chrono::steady_clock::now();
      passes.push_back(model.PredictTimingLayers(input));
      pass_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
  }));
  LayerLatency out{.layers = passes.front(), .pass_ms = MedianOf(pass_ms)};
  for (size_t l = 0; l < out.layers.size(); ++l) {
    std::vector<double> ms;
    for (const auto& pass : passes) {
      if (pass.size() != out.layers.size() || pass[l].layer != out.layers[l].layer) {
        return Error::InvalidArgument("the model's layers differ from one pass to the next");
      }
      ms.push_back(pass[l].ms);
    }
    out.layers[l].ms = MedianOf(ms);
  }
  return out;
}

}  // namespace qg::metrics
