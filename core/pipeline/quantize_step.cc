#include "core/pipeline/quantize_step.h"

#include "core/pipeline/model_source.h"

#include <torch/torch.h>

#include <filesystem>
#include <set>

#include "core/base/files.h"
#include "core/base/logging.h"
#include "core/base/sha256.h"
#include "core/base/torch_call.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_macs.h"
#include "core/models/model_io.h"
#include "core/quant/engine.h"
#include "core/quant/layer_mse.h"
#include "core/quant/quantized_model.h"
#include "core/quant/strategy.h"

namespace qg::pipeline {

nlohmann::json QuantizeStepResult::ToJson() const {
  return {{"strategy", strategy},         {"params", params},
          {"precision", precision},       {"runtime", runtime},
          {"model_path", model_path},     {"model_sha256", model_sha256},
          {"model_bytes", model_bytes},   {"fp32_model_bytes", fp32_model_bytes},
          {"measured", measured.ToJson()}, {"vs_fp32", vs_fp32.ToJson()},
          {"layer_mse", layer_mse},       {"details", details},
          {"int8_mac_share", int8_mac_share}, {"packed_model_bytes", packed_model_bytes}};
}

namespace {

// The model file with its INT8 weights packed at `bits` each instead of a byte.
int64_t PackedBytes(int64_t file_bytes, const quant::QuantizedModel& model, int bits) {
  const int64_t weights = model.Int8WeightCount();
  return file_bytes - weights + (weights * bits + 7) / 8;
}

}  // namespace

// Percent of the model's multiply-adds that run on INT8 kernels: 0 for FP32
// and FP16 models, below 100 where layers stay FP32 (MPQ, fallbacks).
Result<double> Int8MacShare(const models::GraphModule& fp32, const quant::QuantizedModel* int8) {
  if (int8 == nullptr) return 0.0;
  QG_ASSIGN_OR_RETURN(auto macs, models::MacsPerLayer(fp32));
  int64_t total = 0, in_int8 = 0;
  const auto int8_layers = int8->Int8Layers();
  const std::set<std::string> int8_set(int8_layers.begin(), int8_layers.end());
  for (const auto& [name, n] : macs) {
    total += n;
    if (int8_set.count(name)) in_int8 += n;
  }
  return total > 0 ? 100.0 * static_cast<double>(in_int8) / static_cast<double>(total) : 0.0;
}

Result<QuantizeStepResult> RunQuantizeStep(const QuantizeStepSpec& spec, train::TrainObserver* progress) {
  QG_ASSIGN_OR_RETURN(const quant::Strategy* strategy, quant::FindStrategy(spec.strategy));
  QG_ASSIGN_OR_RETURN(nlohmann::json params, strategy->ResolveParams(spec.params, spec.strategy));
  QG_RETURN_IF_ERROR(quant::UseEngine(spec.engine));
  QG_ASSIGN_OR_RETURN(auto fp32, LoadAnyModel(spec.fp32_model_path, spec.import));
  QG_ASSIGN_OR_RETURN(auto splits, data::OpenDataset(DatasetForModel(spec.dataset, fp32)));

  QuantizeStepResult result{.strategy = spec.strategy, .params = params};
  QG_ASSIGN_OR_RETURN(result.fp32_model_bytes, FileSize(spec.fp32_model_path));
  std::filesystem::create_directories(spec.out_dir);
  Log("quant")->info("{} on {} (engine {}, params {})", spec.strategy, fp32->meta().model_name, spec.engine,
                     params.dump());
  QG_ASSIGN_OR_RETURN(quant::StrategyResult applied,
                      strategy->Apply({.fp32 = fp32,
                                       .train_set = splits.train,
                                       .engine = spec.engine,
                                       .device = spec.device,
                                       .out_dir = spec.out_dir,
                                       .seed = spec.seed,
                                       .fp32_model_bytes = result.fp32_model_bytes,
                                       .progress = progress},
                                      params));
  result.precision = applied.precision;
  result.runtime = applied.model->Describe();
  result.details = applied.details;
  result.model_path = applied.model_path;
  QG_ASSIGN_OR_RETURN(result.model_sha256, Sha256File(applied.model_path));
  QG_ASSIGN_OR_RETURN(result.model_bytes, FileSize(applied.model_path));
  if (const int bits = params.value("weight_bits", 8); applied.int8 && bits < 8) {
    result.packed_model_bytes = PackedBytes(result.model_bytes, *applied.int8, bits);
  }
  if (applied.int8) {
    for (const auto& l : applied.int8->LayerSizes()) {
      result.layer_sizes.push_back(
          {{"layer", l.layer}, {"fp32_bytes", l.fp32_bytes}, {"bytes", l.stored_bytes}, {"int8", l.int8}});
    }
  }

  // The FP32 reference on its fastest path: timed alternately with the model
  // on CPU, so that the speedup does not depend on what the machine was doing
  // when the fp32 job ran; then on the same images, for the output difference.
  QG_ASSIGN_OR_RETURN(auto reference, models::CompiledFp32Model::Compile(fp32));
  MeasureOptions measure = spec.measure;
  measure.keep_logits = true;
  measure.latency.device = spec.device;
  const bool paired = spec.device == "cpu" && spec.strategy != "fp32";
  QG_ASSIGN_OR_RETURN(result.measured, Measure(*applied.model, splits.test, measure, spec.strategy,
                                               paired ? reference.get() : nullptr));
  MeasureOptions ref_options{.eval_batch_size = measure.eval_batch_size, .eval_limit = measure.eval_limit,
                             .keep_logits = true, .latency = {.batch_sizes = {}}};
  QG_ASSIGN_OR_RETURN(auto ref, Measure(*reference, splits.test, ref_options, "fp32 reference"));
  result.vs_fp32 = metrics::CompareOutputs(ref.logits, result.measured.logits);

  if (applied.int8 && spec.layer_mse_images > 0) {
    QG_ASSIGN_OR_RETURN(auto batch, splits.test->Fetch([&] {
      std::vector<int64_t> idx;
      for (int64_t i = 0; i < std::min(spec.layer_mse_images, splits.test->Size()); ++i) idx.push_back(i);
      return idx;
    }()));
    const auto& info = splits.test->Info();
    const auto images = data::Normalize(batch.images, info.mean, info.std);
    QG_ASSIGN_OR_RETURN(result.layer_mse, quant::LayerwiseMse(fp32, *applied.int8, images));
  }
  QG_ASSIGN_OR_RETURN(result.int8_mac_share, Int8MacShare(fp32, applied.int8));
  result.measured.logits = torch::Tensor();  // not needed past here
  QG_RETURN_IF_ERROR(WriteFileAtomic((std::filesystem::path(spec.out_dir) / "result.json").string(),
                                     result.ToJson().dump(2)));
  return result;
}

}  // namespace qg::pipeline
