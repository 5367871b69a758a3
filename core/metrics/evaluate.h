// Evaluate: run an InferenceModel over a loader's examples and report
// classification metrics, with a progress bar. Optionally keeps the logits so
// callers can compare two models (INT8 vs FP32 agreement, output difference).
#pragma once

#include <torch/types.h>

#include <string>

#include "core/base/result.h"
#include "core/data/data_loader.h"
#include "core/metrics/classification.h"
#include "core/models/inference_model.h"

namespace qg::metrics {

struct EvalResult {
  ClassificationReport report;
  torch::Tensor logits;  // [N, classes] in loader order, when asked for
};

// Errors: the dataset's (unreadable batch) or the model's (shape mismatch).
Result<EvalResult> Evaluate(models::InferenceModel& model, const data::DataLoader& loader, const std::string& label,
                            bool keep_logits = false);

}  // namespace qg::metrics
