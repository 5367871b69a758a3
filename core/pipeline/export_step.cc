#include "core/pipeline/export_step.h"

#include "core/pipeline/model_source.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <numeric>
#include <thread>

#include "core/base/files.h"
#include "core/base/logging.h"
#include "core/data/transforms.h"
#include "core/export/export_check.h"
#include "core/export/onnx_export.h"
#include "core/export/onnx_file.h"
#include "core/export/ort_runtime.h"
#include "core/export/ort_timer.h"
#include "core/metrics/bootstrap.h"
#include "core/models/fp32_inference.h"
#include "core/models/model_io.h"
#include "core/quant/engine.h"
#include "core/quant/quantized_model.h"

namespace qg::pipeline {

nlohmann::json Fp32RuntimePair::ToJson() const {
  return {{"batch_size", batch_size},
          {"libtorch_p50_ms", libtorch_p50_ms},
          {"ort_p50_ms", ort_p50_ms},
          {"libtorch_over_ort", libtorch_over_ort}};
}

nlohmann::json ExportStepCheck::ToJson() const {
  return {{"images", images},
          {"within_steps", kWithinSteps},
          {"max_own_steps", max_own_steps},
          {"first_divergence", first_divergence.empty() ? nlohmann::json(nullptr) : nlohmann::json(first_divergence)}};
}

nlohmann::json ExportStepResult::ToJson() const {
  nlohmann::json lat = nlohmann::json::array(), pairs = nlohmann::json::array();
  for (const auto& l : latency) lat.push_back(l.ToJson());
  for (const auto& p : fp32_runtimes) pairs.push_back(p.ToJson());
  return {{"onnx_path", onnx_path},   {"format", format},         {"runtime", runtime},
          {"onnx_bytes", onnx_bytes}, {"nodes", nodes},           {"accuracy", accuracy.ToJson()},
          {"latency", lat},           {"vs_libtorch", vs_libtorch.ToJson()}, {"fp32_runtimes", pairs},
          {"saturating_layers", saturating_layers}, {"reference_engine", reference_engine},
          {"step_check", step_check.ToJson()}};
}

namespace {

// Where the export's engine saturates (quant::U8S8PairsSaturate), its INT8
// reference runs here: qnnpack widens u8 and s8 to int16 before multiplying.
constexpr const char* kUnsaturatedEngine = "qnnpack";

constexpr int kRuntimeRounds = 5;

// LibTorch FP32 (frozen, oneDNN) and ONNX Runtime FP32 in kRuntimeRounds
// alternating rounds per batch size, each round a share of the spec's runs.
// Each side warms up once per batch size; later rounds first wait
// kRuntimeSettle for the other runtime's spinning thread pool to fall asleep,
// then run kResettleRuns untimed calls for the caches it took. ONNX Runtime keeps one
// session in one process for all of it (OrtTimer).
Result<std::vector<Fp32RuntimePair>> TimeFp32OnBothRuntimes(const models::GraphModule& fp32,
                                                            const onnx_export::OnnxRuntime& ort,
                                                            const std::string& onnx_path,
                                                            const std::vector<int64_t>& image_shape,
                                                            const metrics::LatencyOptions& latency, int threads) {
  constexpr int kResettleRuns = 3;
  QG_ASSIGN_OR_RETURN(auto compiled, models::CompiledFp32Model::Compile(fp32));
  const int64_t largest = *std::max_element(latency.batch_sizes.begin(), latency.batch_sizes.end());
  QG_ASSIGN_OR_RETURN(auto ort_timer, onnx_export::OrtTimer::Open(ort, onnx_path, image_shape, largest, threads));
  std::vector<Fp32RuntimePair> pairs;
  for (int64_t batch : latency.batch_sizes) {
    metrics::LatencyOptions round = latency;
    round.batch_sizes = {batch};
    round.runs = std::max(1, latency.runs / kRuntimeRounds);
    round.min_runs = std::min(round.min_runs, round.runs);
    round.replicates = 1;
    std::vector<double> torch_ms, ort_ms, ratios;
    for (int r = 0; r < kRuntimeRounds; ++r) {
      round.warmup_runs = r == 0 ? latency.warmup_runs : std::min(latency.warmup_runs, kResettleRuns);
      if (r > 0) std::this_thread::sleep_for(onnx_export::kRuntimeSettle);
      QG_ASSIGN_OR_RETURN(auto t, metrics::MeasureLatency(*compiled, image_shape, round));
      std::this_thread::sleep_for(onnx_export::kRuntimeSettle);
      QG_ASSIGN_OR_RETURN(auto o, ort_timer->Time(batch, round.warmup_runs, round.runs));
      torch_ms.push_back(t.front().p50_ms);
      ort_ms.push_back(o.p50_ms);
      ratios.push_back(t.front().p50_ms / o.p50_ms);
    }
    pairs.push_back({batch, metrics::MedianOf(torch_ms), metrics::MedianOf(ort_ms), metrics::MedianOf(ratios)});
    Log("export")->info("FP32 at batch {}: LibTorch {:.3f} ms, ONNX Runtime {:.3f} ms ({} alternating rounds)", batch,
                        pairs.back().libtorch_p50_ms, pairs.back().ort_p50_ms, kRuntimeRounds);
  }
  return pairs;
}

// The FP32 graph of spec.reference_fp32_path next to the export, for paired
// timing; "" (with a warning: the timing goes on unpaired) when there is none
// or it cannot be exported.
std::string WriteReferenceGraph(const ExportStepSpec& spec) {
  if (spec.reference_fp32_path.empty()) return "";
  const std::string path = (std::filesystem::path(spec.out_dir) / "reference_fp32.onnx").string();
  Status written = [&]() -> Status {
    QG_ASSIGN_OR_RETURN(auto fp32, models::LoadModel(spec.reference_fp32_path));
    QG_ASSIGN_OR_RETURN(auto proto, onnx_export::ExportFp32(fp32));
    return onnx_export::WriteOnnxFile(proto, path);
  }();
  if (!written) {
    Log("export")->warn("no FP32 reference for ONNX Runtime timing: {}", written.error().ToString());
    return "";
  }
  Log("export")->info("ONNX Runtime: timed alternately with the FP32 graph of {}", spec.reference_fp32_path);
  return path;
}

// The export against `int8` step by step on the first test images. A check
// that cannot run is a warning: the export's own figures stand without it.
ExportStepCheck CheckSteps(quant::QuantizedModel& int8, const onnx_export::OnnxRuntime& ort,
                           const data::Dataset& test, int threads) {
  std::vector<int64_t> indices(std::min(ExportStepCheck::kImages, test.Size()));
  std::iota(indices.begin(), indices.end(), 0);
  auto batch = test.Fetch(indices);
  const auto& info = test.Info();
  auto check = batch ? onnx_export::CheckExportAgainstInt8(
                           int8, ort, data::Normalize(batch->images, info.mean, info.std), threads)
                     : Result<onnx_export::ExportCheck>(batch.error());
  if (!check) {
    Log("export")->warn("the step-by-step check of the export did not run: {}", check.error().ToString());
    return {};
  }
  ExportStepCheck summary{.images = check->images, .max_own_steps = onnx_export::MaxOwnSteps(*check)};
  if (const auto* first = onnx_export::FirstDivergence(*check, ExportStepCheck::kWithinSteps)) {
    summary.first_divergence = first->step;
    Log("export")->warn("ONNX Runtime: the export's step '{}' differs from LibTorch's by {} steps of its scale on the "
                        "same inputs (quantgrid check-export shows every step)",
                        first->step, first->own.max_steps);
  } else {
    Log("export")->info("ONNX Runtime: step by step on {} images, every step within {} step{} of LibTorch's",
                        summary.images, summary.max_own_steps, summary.max_own_steps == 1 ? "" : "s");
  }
  return summary;
}

}  // namespace

Result<ExportStepResult> RunExportStep(const ExportStepSpec& spec) {
  QG_ASSIGN_OR_RETURN(auto ort, onnx_export::OnnxRuntime::Find());
  std::filesystem::create_directories(spec.out_dir);
  ExportStepResult result;
  result.runtime = ort.Describe();

  // Export, and keep the LibTorch model to compare against.
  std::unique_ptr<models::InferenceModel> libtorch;
  quant::QuantizedModel* int8_reference = nullptr;  // libtorch, for INT8 exports
  models::GraphModule plain_fp32{nullptr};  // an FP32 model exported as FP32: timed on both runtimes
  onnx::ModelProto proto;
  nlohmann::json model_options;
  if (spec.int8) {
    QG_RETURN_IF_ERROR(quant::UseEngine(spec.engine));
    QG_ASSIGN_OR_RETURN(auto int8, quant::QuantizedModel::Load(spec.model_path, spec.engine));
    QG_ASSIGN_OR_RETURN(proto, onnx_export::ExportQdq(*int8));
    result.format = "qdq_int8";
    result.reference_engine = spec.engine;
    model_options = int8->meta().value("options", nlohmann::json::object());
    result.saturating_layers = int8->LayersSaturatingOnThisCpu();
    if (!result.saturating_layers.empty() && quant::EngineSupported(kUnsaturatedEngine)) {
      // The same stored integers repacked for an engine that widens before it
      // multiplies: the model's own arithmetic, not this CPU's int16 pairs.
      // The load above has warned about the layers; this says what follows.
      Log("export")->info(
          "ONNX Runtime saturates those layers on this CPU as {} does, so its figures are this CPU's; its LibTorch "
          "reference runs on {}, which does not saturate",
          spec.engine, kUnsaturatedEngine);
      QG_ASSIGN_OR_RETURN(int8, quant::QuantizedModel::Load(spec.model_path, kUnsaturatedEngine));
      result.reference_engine = kUnsaturatedEngine;
    }
    int8_reference = int8.get();
    libtorch = std::move(int8);
  } else {
    QG_ASSIGN_OR_RETURN(auto fp32, models::LoadModel(spec.model_path));
    // An FP16 file's weights, widened into a fresh FP32 module (CloneModel
    // copies into float tensors): LibTorch's reference computes in FP32 with
    // the same half-rounded values the FP16 graph stores.
    if (spec.fp16) {
      fp32 = models::CloneModel(fp32);
      fp32->UseChannelsLast();
      fp32->eval();
    }
    QG_ASSIGN_OR_RETURN(proto, onnx_export::ExportFp32(fp32));
    result.format = "fp32";
    if (spec.fp16) {
      QG_ASSIGN_OR_RETURN(proto, onnx_export::ToFp16(std::move(proto)));
      result.format = "fp16";
    }
    model_options = fp32->meta().options;
    if (!spec.fp16) plain_fp32 = fp32;
    libtorch = std::make_unique<models::EagerFp32Model>(fp32);
  }
  QG_ASSIGN_OR_RETURN(auto splits, data::OpenDataset(DatasetForOptions(spec.dataset, model_options)));
  result.nodes = proto.graph().node_size();
  result.onnx_path = (std::filesystem::path(spec.out_dir) / "model.onnx").string();
  QG_RETURN_IF_ERROR(onnx_export::WriteOnnxFile(proto, result.onnx_path));
  QG_ASSIGN_OR_RETURN(result.onnx_bytes, FileSize(result.onnx_path));
  Log("export")->info("{} ONNX, {} nodes, {:.3f} MB: {}", result.format, result.nodes, result.onnx_bytes / 1e6,
                      result.onnx_path);

  // The same test images through both runtimes.
  MeasureOptions reference = spec.measure;
  reference.keep_logits = true;
  reference.latency.batch_sizes.clear();
  QG_ASSIGN_OR_RETURN(auto torch_run, Measure(*libtorch, splits.test, reference, "libtorch reference"));
  const int64_t count = torch_run.logits.size(0);
  const auto& info = splits.test->Info();
  // Chunks of at most ~256 MB of float images, each one runner call.
  const int64_t image_bytes = static_cast<int64_t>(sizeof(float)) * info.channels * info.height * info.width;
  const int64_t chunk = std::max<int64_t>(spec.measure.eval_batch_size, (int64_t{256} << 20) / image_bytes);
  Log("export")->info("ONNX Runtime: evaluating {} test images", count);
  metrics::ClassificationAccumulator acc(torch_run.logits.size(1));
  std::vector<torch::Tensor> ort_logits;
  std::vector<int64_t> shape;
  for (int64_t begin = 0; begin < count; begin += chunk) {
    std::vector<int64_t> indices(std::min(chunk, count - begin));
    std::iota(indices.begin(), indices.end(), begin);
    QG_ASSIGN_OR_RETURN(auto batch, splits.test->Fetch(indices));
    const torch::Tensor images = data::Normalize(batch.images, info.mean, info.std);
    shape.assign(images.sizes().begin() + 1, images.sizes().end());
    QG_ASSIGN_OR_RETURN(auto logits,
                        ort.Predict(result.onnx_path, images, spec.measure.eval_batch_size, spec.threads));
    acc.Add(logits, batch.labels);
    ort_logits.push_back(logits);
  }
  if (ort_logits.empty()) return Error::InvalidArgument("{}: the test split is empty", spec.dataset.name);
  result.accuracy = acc.Report();
  result.accuracy.class_names = info.class_names;
  result.vs_libtorch = metrics::CompareOutputs(torch_run.logits, torch::cat(ort_logits));
  Log("export")->info("ONNX Runtime: top-1 {:.2f} %, agreement with LibTorch {:.2f} %, max abs diff {:.3g}",
                      result.accuracy.top1, result.vs_libtorch.top1_agreement, result.vs_libtorch.max_abs);
  if (int8_reference != nullptr) result.step_check = CheckSteps(*int8_reference, ort, *splits.test, spec.threads);

  if (!spec.measure.latency.batch_sizes.empty()) {
    Log("export")->info("ONNX Runtime: latency at batch sizes {}", nlohmann::json(spec.measure.latency.batch_sizes).dump());
    const std::string fp32_graph = WriteReferenceGraph(spec);
    QG_ASSIGN_OR_RETURN(result.latency,
                        ort.Latency(result.onnx_path, shape, spec.measure.latency, spec.threads, fp32_graph));
    if (plain_fp32 && spec.measure.latency.device == "cpu") {
      QG_ASSIGN_OR_RETURN(result.fp32_runtimes, TimeFp32OnBothRuntimes(plain_fp32, ort, result.onnx_path, shape,
                                                                       spec.measure.latency, spec.threads));
    }
  }
  QG_RETURN_IF_ERROR(WriteFileAtomic((std::filesystem::path(spec.out_dir) / "result.json").string(),
                                     result.ToJson().dump(2)));
  return result;
}

}  // namespace qg::pipeline
