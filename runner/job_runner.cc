#include "core/pipeline/job_runner.h"

#include <fmt/format.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/base/build_info.h"
#include "core/base/clock.h"
#include "core/base/sha256.h"
#include "core/pipeline/export_step.h"
#include "core/pipeline/quantize_step.h"
#include "core/pipeline/torch_runtime.h"
#include "core/pipeline/train_step.h"
#include "core/train/distributed.h"
#include "worker/probe_jobs.h"

namespace qg::pipeline {
namespace {

using nlohmann::json;

std::string Hostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

data::DatasetSpec DatasetFrom(const json& j) {
  data::DatasetSpec d;
  d.name = j.value("name", d.name);
  d.dir = j.value("dir", "");
  d.image_size = j.value("image_size", d.image_size);
  return d;
}

Result<storage::Artifact> ArtifactOf(const std::string& kind, const std::string& path) {
  const std::string absolute = std::filesystem::absolute(path).string();
  QG_ASSIGN_OR_RETURN(std::string sha, Sha256File(absolute));
  std::error_code ec;
  return storage::Artifact{kind, absolute, sha, static_cast<int64_t>(std::filesystem::file_size(absolute, ec))};
}

// Scalars of a classification report, and the report's documents.
void AddAccuracy(const metrics::ClassificationReport& r, storage::RunRecord& run) {
  run.metrics["top1"] = r.top1;
  run.metrics["top5"] = r.top5;
  run.metrics["eval_images"] = static_cast<double>(r.count);
  run.documents["confusion"] = r.confusion;
  run.documents["per_class_accuracy"] = r.per_class_accuracy;
}

Result<storage::RunRecord> RunTrain(const JobRequest& req, train::TrainObserver* progress, storage::RunRecord run) {
  const json& c = req.config;
  TrainStepSpec spec;
  spec.dataset = DatasetFrom(c.at("dataset"));
  spec.model = c.at("model").at("name");
  spec.aux_logits = c.at("model").value("aux_logits", false);
  QG_ASSIGN_OR_RETURN(spec.recipe, train::TrainOptions::FromJson(c.at("recipe"), "train"));
  // A grid on cuda trains its model there too (the job asked for a GPU).
  if (c.value("device", "cpu") == "cuda") spec.recipe.device = "cuda";
  spec.out_dir = req.work_dir;
  spec.resume = true;  // a retried or restarted job continues from its last epoch
  // One rank of a data-parallel job (the worker started `processes` of us).
  QG_ASSIGN_OR_RETURN(auto distributed, train::DistributedConfigFromEnv());
  std::unique_ptr<train::GradientSync> sync;
  if (distributed) {
    QG_ASSIGN_OR_RETURN(sync, train::ConnectProcessGroup(*distributed, spec.recipe.device));
  }
  QG_ASSIGN_OR_RETURN(auto result, RunTrainStep(spec, progress, sync.get()));
  run.seed = static_cast<int64_t>(spec.recipe.seed);
  if (sync) run.metrics["train_processes"] = sync->world_size();
  if (sync && sync->rank() != 0) return run;  // rank 0 reports the job's result
  AddAccuracy(result.test, run);
  run.metrics["parameters"] = static_cast<double>(result.parameters);
  run.metrics["size_bytes"] = static_cast<double>(result.model_bytes);
  run.metrics["train_seconds"] = result.report.seconds;
  if (!result.report.epochs.empty()) {
    run.metrics["train_images_per_second"] = result.report.epochs.back().images_per_second;
  }
  run.documents["train_report"] = result.report.ToJson();
  QG_ASSIGN_OR_RETURN(auto artifact, ArtifactOf("model_fp32", result.model_path));
  run.artifacts.push_back(artifact);
  run.result = result.ToJson();
  return run;
}

Result<std::string> DependencyArtifact(const JobRequest& req, const std::string& kind) {
  for (const auto& [key, dep] : req.deps) {
    for (const auto& a : dep.artifacts) {
      if (a.kind == kind) return a.path;
    }
  }
  return Error::FailedPrecondition("job '{}' needs a '{}' artifact from its dependencies, and none has one", req.key,
                                   kind);
}

// Measure options of a job's "measure" config (quantize and export jobs).
MeasureOptions MeasureFrom(const json& m) {
  MeasureOptions o;
  o.eval_limit = m.value("eval_limit", int64_t{0});
  o.latency.batch_sizes = m.at("batch_sizes").get<std::vector<int64_t>>();
  o.latency.warmup_runs = m.value("warmup_runs", 20);
  o.latency.runs = m.value("runs", 50);
  return o;
}

void AddLatency(const std::vector<metrics::LatencyStats>& latency, storage::RunRecord& run) {
  for (const auto& l : latency) {
    const std::string p = fmt::format("latency.{}.b{}.", l.device, l.batch_size);
    run.metrics[p + "mean_ms"] = l.mean_ms;
    run.metrics[p + "std_ms"] = l.std_ms;
    run.metrics[p + "p50_ms"] = l.p50_ms;
    run.metrics[p + "p95_ms"] = l.p95_ms;
    run.metrics[p + "ms_per_image"] = l.p50_ms / static_cast<double>(l.batch_size);
    if (l.speedup_vs_reference > 0) {  // the FP32 model, timed alternately in this job
      run.metrics[p + "fp32_p50_ms"] = l.reference_p50_ms;
      run.metrics[p + "speedup_vs_fp32"] = l.speedup_vs_reference;
    }
  }
}

void AddOutputDiff(const metrics::OutputDiff& d, storage::RunRecord& run) {
  run.metrics["output.max_abs"] = d.max_abs;
  run.metrics["output.mean_abs"] = d.mean_abs;
  run.metrics["output.relative_mse"] = d.relative_mse;
  run.metrics["output.top1_agreement"] = d.top1_agreement;
}

Result<storage::RunRecord> RunQuantize(const JobRequest& req, train::TrainObserver* progress, storage::RunRecord run) {
  const json& c = req.config;
  QuantizeStepSpec spec;
  QG_ASSIGN_OR_RETURN(spec.fp32_model_path, DependencyArtifact(req, "model_fp32"));
  spec.dataset = DatasetFrom(c.at("dataset"));
  spec.strategy = c.at("strategy");
  spec.params = c.at("params");
  spec.engine = c.value("engine", "");
  if (spec.engine.empty()) spec.engine = "onednn";
  spec.device = c.value("device", "cpu");
  const json& m = c.at("measure");
  spec.measure = MeasureFrom(m);
  spec.layer_mse_images = m.value("layer_mse_images", int64_t{256});
  spec.seed = c.value("seed", uint64_t{0});
  spec.out_dir = req.work_dir;
  QG_ASSIGN_OR_RETURN(auto r, RunQuantizeStep(spec, progress));
  run.seed = static_cast<int64_t>(spec.seed);
  run.engine = c.value("engine", "");
  run.device = spec.device;
  AddAccuracy(r.measured.accuracy, run);
  run.metrics["size_bytes"] = static_cast<double>(r.model_bytes);
  run.metrics["fp32_size_bytes"] = static_cast<double>(r.fp32_model_bytes);
  AddLatency(r.measured.latency, run);
  AddOutputDiff(r.vs_fp32, run);
  run.documents["layer_mse"] = r.layer_mse;
  run.documents["details"] = r.details;
  run.documents["params"] = r.params;
  run.documents["precision"] = r.precision;
  run.documents["runtime"] = r.runtime;
  QG_ASSIGN_OR_RETURN(auto artifact, ArtifactOf(r.precision == "fp32" || r.precision == "fp16" ? "model_" + r.precision
                                                                                                : "model_int8",
                                                r.model_path));
  run.artifacts.push_back(artifact);
  json result = r.ToJson();
  result["measured"].erase("accuracy");  // already in documents/metrics
  run.result = result;
  return run;
}

// The ONNX step: export what the quantize job wrote, measure it in ONNX
// Runtime. Its output.* metrics compare with the same model in LibTorch.
Result<storage::RunRecord> RunExport(const JobRequest& req, storage::RunRecord run) {
  const json& c = req.config;
  ExportStepSpec spec;
  if (auto int8 = DependencyArtifact(req, "model_int8")) {
    spec.model_path = *int8;
    spec.int8 = true;
  } else {
    QG_ASSIGN_OR_RETURN(spec.model_path, DependencyArtifact(req, "model_fp32"));
  }
  spec.engine = c.value("engine", "");
  if (spec.engine.empty()) spec.engine = "onednn";
  spec.dataset = DatasetFrom(c.at("dataset"));
  spec.measure = MeasureFrom(c.at("measure"));
  spec.threads = run.threads;
  spec.out_dir = req.work_dir;
  QG_ASSIGN_OR_RETURN(auto r, RunExportStep(spec));
  run.seed = c.value("seed", int64_t{0});
  run.engine = c.value("engine", "");
  AddAccuracy(r.accuracy, run);
  run.metrics["size_bytes"] = static_cast<double>(r.onnx_bytes);
  run.metrics["onnx_nodes"] = static_cast<double>(r.nodes);
  AddLatency(r.latency, run);
  AddOutputDiff(r.vs_libtorch, run);
  run.documents["precision"] = r.format == "fp32" ? "fp32" : "int8";
  run.documents["runtime"] = r.runtime;
  run.documents["format"] = r.format;
  QG_ASSIGN_OR_RETURN(auto artifact, ArtifactOf(r.format == "fp32" ? "onnx_fp32" : "onnx_qdq_int8", r.onnx_path));
  run.artifacts.push_back(artifact);
  run.result = r.ToJson();
  return run;
}

}  // namespace

Result<storage::RunRecord> RunJob(const JobRequest& req, train::TrainObserver* progress) {
  storage::RunRecord run;
  run.config_hash = req.config_hash;
  run.kind = req.kind;
  run.job_key = req.key;
  run.commit = kGitCommit;
  run.quantgrid_version = kQuantgridVersion;
  run.torch_version = TORCH_VERSION;
  run.cpu_model = CpuModel();
  run.host = Hostname();
  run.device = req.config.value("device", "cpu");
  int threads = req.config.value("threads", req.config.contains("measure") ? req.config["measure"].value("threads", 0) : 0);
  if (const char* world = std::getenv("QG_WORLD_SIZE"); world != nullptr && threads == 0) {
    // Ranks of one job share the machine's cores.
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, std::atoi(world)));
  }
  run.threads = ConfigureThreads(threads);
  run.started_ms = SystemClock::Instance().WallMillis();
  if (!req.work_dir.empty()) std::filesystem::create_directories(req.work_dir);
  Result<storage::RunRecord> out = Error::InvalidArgument("unknown job kind '{}' (job '{}')", req.kind, req.key);
  if (req.kind == "train") {
    out = RunTrain(req, progress, run);
  } else if (req.kind == "quantize") {
    out = RunQuantize(req, progress, run);
  } else if (req.kind == "export") {
    out = RunExport(req, run);
  } else if (worker::IsProbeJob(req.kind)) {
    out = worker::RunProbeJob(req, run);
  }
  if (out) out->finished_ms = SystemClock::Instance().WallMillis();
  return out;
}

}  // namespace qg::pipeline
