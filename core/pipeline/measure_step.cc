#include "core/pipeline/measure_step.h"

#include <torch/torch.h>

#include "core/data/data_loader.h"
#include "core/metrics/evaluate.h"

namespace qg::pipeline {

nlohmann::json MeasureResult::ToJson() const {
  nlohmann::json lat = nlohmann::json::array();
  for (const auto& l : latency) lat.push_back(l.ToJson());
  return {{"accuracy", accuracy.ToJson()}, {"latency", lat}};
}

Result<MeasureResult> Measure(models::InferenceModel& model, std::shared_ptr<const data::Dataset> test_set,
                              const MeasureOptions& options, const std::string& label,
                              models::InferenceModel* latency_reference) {
  const auto& info = test_set->Info();
  data::DataLoader loader(test_set, {.batch_size = options.eval_batch_size, .limit = options.eval_limit});
  QG_ASSIGN_OR_RETURN(auto eval, metrics::Evaluate(model, loader, label, options.keep_logits));
  MeasureResult result{.accuracy = eval.report, .logits = eval.logits};
  if (!options.latency.batch_sizes.empty()) {
    QG_ASSIGN_OR_RETURN(result.latency,
                        metrics::MeasureLatency(model, {info.channels, info.height, info.width}, options.latency,
                                                latency_reference));
  }
  return result;
}

}  // namespace qg::pipeline
