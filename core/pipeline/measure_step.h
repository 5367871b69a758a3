// MeasureStep: evaluate an InferenceModel on a test split and time it. What
// `quantgrid eval` / `bench-latency` run and every strategy job of a grid ends
// with.
#pragma once

#include <nlohmann/json.hpp>

#include <vector>

#include "core/base/result.h"
#include "core/data/dataset.h"
#include "core/metrics/classification.h"
#include "core/metrics/latency.h"
#include "core/models/inference_model.h"

namespace qg::pipeline {

struct MeasureOptions {
  int64_t eval_batch_size = 256;
  int64_t eval_limit = 0;  // 0 = the whole split
  bool keep_logits = false;
  metrics::LatencyOptions latency;  // empty batch_sizes: no timing
};

struct MeasureResult {
  metrics::ClassificationReport accuracy;
  std::vector<metrics::LatencyStats> latency;
  torch::Tensor logits;  // when keep_logits

  nlohmann::json ToJson() const;
};

// With a `latency_reference`, latency alternates it with `model` (see
// metrics::MeasureLatency) and the stats carry the speedup against it.
Result<MeasureResult> Measure(models::InferenceModel& model, std::shared_ptr<const data::Dataset> test_set,
                              const MeasureOptions& options, const std::string& label,
                              models::InferenceModel* latency_reference = nullptr);

}  // namespace qg::pipeline
