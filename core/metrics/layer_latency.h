// Where a forward pass spends its time, layer by layer: the medians of timed
// InferenceModel::PredictTimingLayers calls. For finding the layers that keep
// an INT8 model from beating FP32 (`quantgrid bench-latency --layers`); the
// latency quantgrid reports comes from whole passes (core/metrics/latency.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/base/result.h"
#include "core/models/inference_model.h"

namespace qg::metrics {

struct LayerLatencyOptions {
  int64_t batch_size = 1;
  int warmup_runs = 5;
  int runs = 20;
};

struct LayerLatency {
  std::vector<models::LayerTime> layers;  // per layer in execution order, the median ms
  double pass_ms = 0;                     // median of the timed passes, glue between layers included
};

// `input_shape` is one image: {C, H, W}. The layers come back empty for models
// that time only as a whole. InvalidArgument when the model's layers differ
// from pass to pass; a LibTorch error (wrong shape) as Internal.
Result<LayerLatency> MeasureLayerLatency(models::InferenceModel& model, const std::vector<int64_t>& input_shape,
                                         const LayerLatencyOptions& options);

}  // namespace qg::metrics
