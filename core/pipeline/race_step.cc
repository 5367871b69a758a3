#include "core/pipeline/race_step.h"

#include "core/models/fp32_inference.h"
#include "core/models/model_io.h"
#include "core/pipeline/model_source.h"
#include "core/quant/engine.h"
#include "core/quant/quantized_model.h"

namespace qg::pipeline {
namespace {

Result<std::unique_ptr<models::InferenceModel>> LoadRacer(const RaceModel& m, const std::string& engine) {
  if (m.int8) {
    QG_ASSIGN_OR_RETURN(auto model, quant::QuantizedModel::Load(m.path, engine));
    return std::unique_ptr<models::InferenceModel>(std::move(model));
  }
  QG_ASSIGN_OR_RETURN(auto fp32, models::LoadModel(m.path));
  QG_ASSIGN_OR_RETURN(auto compiled, models::CompiledFp32Model::Compile(fp32));
  return std::unique_ptr<models::InferenceModel>(std::move(compiled));
}

}  // namespace

Result<metrics::LatencyStats> RunRaceStep(const RaceStepSpec& spec) {
  if (spec.latency.batch_sizes.size() != 1) return Error::InvalidArgument("race: time one batch size");
  QG_RETURN_IF_ERROR(quant::UseEngine(spec.engine));
  QG_ASSIGN_OR_RETURN(auto fp32, LoadAnyModel(spec.fp32_model_path));
  QG_ASSIGN_OR_RETURN(auto splits, data::OpenDataset(DatasetForModel(spec.dataset, fp32)));
  const auto& info = splits.test->Info();
  QG_ASSIGN_OR_RETURN(auto a, LoadRacer(spec.a, spec.engine));
  QG_ASSIGN_OR_RETURN(auto b, LoadRacer(spec.b, spec.engine));
  QG_ASSIGN_OR_RETURN(auto stats,
                      metrics::MeasureLatency(*a, {info.channels, info.height, info.width}, spec.latency, b.get()));
  return stats.front();
}

}  // namespace qg::pipeline
