#include "runner/job_runner.h"

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "core/base/clock.h"
#include "core/base/logging.h"
#include "core/base/sha256.h"
#include "core/pipeline/export_step.h"
#include "core/pipeline/quantize_step.h"
#include "core/pipeline/race_step.h"
#include "core/pipeline/torch_runtime.h"
#include "core/pipeline/train_step.h"
#include "core/quant/engine.h"
#include "core/train/distributed.h"
#include "experiments/job_config.h"
#include "runner/run_record.h"

namespace qg::runner {
namespace {

using exp::JobRequest;
using storage::RunRecord;
namespace metric = exp::metric;
namespace document = exp::document;
namespace artifact = exp::artifact;

data::DatasetSpec DatasetOf(const exp::DatasetConfig& c) {
  data::DatasetSpec d;
  d.name = c.name;
  d.dir = c.dir;
  d.image_size = c.image_size;
  d.synthetic_channels = c.synthetic.channels;
  d.synthetic_size = c.synthetic.size;
  d.synthetic_classes = c.synthetic.classes;
  d.synthetic_train = c.synthetic.train;
  d.synthetic_test = c.synthetic.test;
  return d;
}

pipeline::MeasureOptions MeasureOf(const exp::MeasureConfig& m) {
  pipeline::MeasureOptions o;
  o.eval_limit = m.eval_limit;
  o.latency.batch_sizes = m.batch_sizes;
  o.latency.warmup_runs = m.warmup_runs;
  o.latency.runs = m.runs;
  o.latency.replicates = m.replicates;
  return o;
}

onnx_export::ImportOptions ImportOptionsOf(const exp::ModelInput& in) {
  onnx_export::ImportOptions o;
  o.image_size = in.size;
  o.channels = in.channels;
  o.mean.assign(in.mean.begin(), in.mean.end());
  o.std.assign(in.std.begin(), in.std.end());
  return o;
}

std::string EngineOf(const std::string& configured) {
  return configured.empty() ? quant::DefaultEngine() : configured;
}

// The artifact of `kind` a dependency stored, if any.
const storage::Artifact* FindArtifact(const JobRequest& req, const std::string& kind, std::string* dep_key = nullptr) {
  for (const auto& [key, dep] : req.deps) {
    for (const auto& a : dep.artifacts) {
      if (a.kind != kind) continue;
      if (dep_key) *dep_key = key;
      return &a;
    }
  }
  return nullptr;
}

// The file a dependency stored as `kind`, checked against its recorded
// sha256: a model overwritten or damaged since (another attempt, a disk
// error) fails here by name instead of quietly producing other numbers.
Result<std::string> DependencyArtifact(const JobRequest& req, const std::string& kind) {
  std::string key;
  const storage::Artifact* a = FindArtifact(req, kind, &key);
  if (a == nullptr) {
    return Error::FailedPrecondition("job '{}' needs a '{}' artifact from its dependencies, and none has one", req.key,
                                     kind);
  }
  QG_ASSIGN_OR_RETURN(std::string sha, Sha256File(a->path));
  if (!a->sha256.empty() && sha != a->sha256) {
    return Error::FailedPrecondition("artifact '{}' of job '{}' changed since it was stored (sha256 {} is not {})",
                                     a->path, key, sha.substr(0, 12), a->sha256.substr(0, 12));
  }
  return a->path;
}

// The FP32 model a quantize dependency started from, when it recorded one
// and the file is unchanged; "" otherwise (older stores): the export then
// times ONNX Runtime without a paired FP32 reference.
std::string ReferenceFp32(const JobRequest& req) {
  for (const auto& [key, dep] : req.deps) {
    const auto it = dep.documents.find(document::kReferenceFp32);
    if (it == dep.documents.end() || !it->second.is_object()) continue;
    const std::string path = it->second.value("path", ""), sha = it->second.value("sha256", "");
    auto actual = Sha256File(path);
    if (path.empty() || !actual || *actual != sha) {
      Log("export")->warn("the FP32 model of '{}' ({}) is missing or changed: ONNX Runtime timed without it", key,
                          path);
      return "";
    }
    return path;
  }
  return "";
}

Result<RunRecord> RunTrain(const JobRequest& req, train::TrainObserver* progress, RunRecord run) {
  QG_ASSIGN_OR_RETURN(auto c, exp::TrainConfig::FromJson(req.config));
  pipeline::TrainStepSpec spec;
  spec.dataset = DatasetOf(c.dataset);
  spec.model = c.model;
  spec.aux_logits = c.aux_logits;
  if (c.imported) {
    // The file the config names, as it was when the spec was read.
    QG_ASSIGN_OR_RETURN(std::string sha, Sha256File(c.imported->path));
    if (sha != c.imported->sha256) {
      return Error::FailedPrecondition("model file '{}' changed since its spec was read (sha256 {} is not {}); run the "
                                       "spec again",
                                       c.imported->path, sha.substr(0, 12), c.imported->sha256.substr(0, 12));
    }
    spec.onnx_path = c.imported->path;
    spec.import = ImportOptionsOf(c.imported->input);
  }
  QG_ASSIGN_OR_RETURN(spec.recipe, train::TrainOptions::FromJson(c.recipe, "config.recipe"));
  if (c.device == "cuda") spec.recipe.device = "cuda";  // a grid on cuda trains there too
  spec.out_dir = req.work_dir;
  spec.resume = true;  // a retried or restarted job continues from its last epoch
  // One rank of a data-parallel job (the worker started `processes` of us).
  QG_ASSIGN_OR_RETURN(auto distributed, train::DistributedConfigFromEnv());
  std::unique_ptr<train::GradientSync> sync;
  if (distributed) {
    QG_ASSIGN_OR_RETURN(sync, train::ConnectProcessGroup(*distributed, spec.recipe.device));
  }
  QG_ASSIGN_OR_RETURN(auto result, pipeline::RunTrainStep(spec, progress, sync.get()));
  run.seed = static_cast<int64_t>(spec.recipe.seed);
  run.device = c.device;
  if (sync) run.metrics[metric::kTrainProcesses] = sync->world_size();
  if (sync && sync->rank() != 0) return run;  // rank 0 reports the job's result
  AddAccuracy(result.test, run);
  run.metrics[metric::kParameters] = static_cast<double>(result.parameters);
  run.metrics[metric::kSizeBytes] = static_cast<double>(result.model_bytes);
  run.metrics[metric::kTrainSeconds] = result.report.seconds;
  if (!result.report.epochs.empty()) {
    run.metrics[metric::kTrainImagesPerSecond] = result.report.epochs.back().images_per_second;
  }
  run.documents[document::kTrainReport] = result.report.ToJson();
  QG_RETURN_IF_ERROR(AddArtifact(artifact::kModelFp32, result.model_path, run));
  run.result = result.ToJson();
  return run;
}

Result<RunRecord> RunQuantize(const JobRequest& req, train::TrainObserver* progress, RunRecord run) {
  QG_ASSIGN_OR_RETURN(auto c, exp::QuantizeConfig::FromJson(req.config));
  pipeline::QuantizeStepSpec spec;
  QG_ASSIGN_OR_RETURN(spec.fp32_model_path, DependencyArtifact(req, artifact::kModelFp32));
  spec.dataset = DatasetOf(c.dataset);
  spec.strategy = c.strategy;
  spec.params = c.params;
  spec.engine = EngineOf(c.engine);
  spec.device = c.device;
  spec.measure = MeasureOf(c.measure);
  spec.layer_mse_images = c.measure.layer_mse_images;
  spec.seed = static_cast<uint64_t>(c.seed);
  spec.out_dir = req.work_dir;
  QG_ASSIGN_OR_RETURN(auto r, pipeline::RunQuantizeStep(spec, progress));
  run.seed = c.seed;
  run.engine = c.engine;
  run.device = c.device;
  AddAccuracy(r.measured.accuracy, run);
  run.metrics[metric::kSizeBytes] = static_cast<double>(r.model_bytes);
  run.metrics[metric::kFp32SizeBytes] = static_cast<double>(r.fp32_model_bytes);
  if (r.packed_model_bytes > 0) run.metrics[metric::kPackedSizeBytes] = static_cast<double>(r.packed_model_bytes);
  run.metrics[metric::kInt8MacShare] = r.int8_mac_share;
  AddLatency(r.measured.latency, run);
  AddOutputDiff(r.vs_fp32, run);
  run.documents[document::kLayerMse] = r.layer_mse;
  if (!r.layer_sizes.empty()) run.documents[document::kLayerSizes] = r.layer_sizes;
  run.documents[document::kDetails] = r.details;
  run.documents[document::kParams] = r.params;
  run.documents[document::kPrecision] = r.precision;
  run.documents[document::kRuntime] = r.runtime;
  {
    QG_ASSIGN_OR_RETURN(std::string sha, Sha256File(spec.fp32_model_path));
    run.documents[document::kReferenceFp32] = {{"path", std::filesystem::absolute(spec.fp32_model_path).string()},
                                               {"sha256", sha}};
  }
  const char* kind = r.precision == "fp32"   ? artifact::kModelFp32
                     : r.precision == "fp16" ? artifact::kModelFp16
                                             : artifact::kModelInt8;
  QG_RETURN_IF_ERROR(AddArtifact(kind, r.model_path, run));
  nlohmann::json result = r.ToJson();
  result["measured"].erase("accuracy");  // already in documents/metrics
  run.result = result;
  return run;
}

// The ONNX step: export what the quantize job wrote, measure it in ONNX
// Runtime. Its output.* metrics compare with the same model in LibTorch.
Result<RunRecord> RunExport(const JobRequest& req, RunRecord run) {
  QG_ASSIGN_OR_RETURN(auto c, exp::ExportConfig::FromJson(req.config));
  pipeline::ExportStepSpec spec;
  spec.int8 = FindArtifact(req, artifact::kModelInt8) != nullptr;
  spec.fp16 = FindArtifact(req, artifact::kModelFp16) != nullptr;
  if (spec.int8) {
    QG_ASSIGN_OR_RETURN(spec.model_path, DependencyArtifact(req, artifact::kModelInt8));
  } else if (spec.fp16) {
    QG_ASSIGN_OR_RETURN(spec.model_path, DependencyArtifact(req, artifact::kModelFp16));
  } else {
    QG_ASSIGN_OR_RETURN(spec.model_path, DependencyArtifact(req, artifact::kModelFp32));
  }
  spec.engine = EngineOf(c.quantize.engine);
  spec.dataset = DatasetOf(c.quantize.dataset);
  spec.measure = MeasureOf(c.quantize.measure);
  spec.threads = run.threads;
  spec.out_dir = req.work_dir;
  if (spec.int8 || spec.fp16) spec.reference_fp32_path = ReferenceFp32(req);
  QG_ASSIGN_OR_RETURN(auto r, pipeline::RunExportStep(spec));
  run.seed = c.quantize.seed;
  run.engine = c.quantize.engine;
  run.device = "cpu";
  AddAccuracy(r.accuracy, run);
  run.metrics[metric::kSizeBytes] = static_cast<double>(r.onnx_bytes);
  run.metrics[metric::kOnnxNodes] = static_cast<double>(r.nodes);
  AddLatency(r.latency, run);
  for (const auto& p : r.fp32_runtimes) {
    run.metrics[metric::Latency("cpu", p.batch_size, metric::kLibtorchFp32P50Ms)] = p.libtorch_p50_ms;
    run.metrics[metric::Latency("cpu", p.batch_size, metric::kLibtorchFp32OverThis)] = p.libtorch_over_ort;
  }
  AddOutputDiff(r.vs_libtorch, run);
  if (!r.saturating_layers.empty()) run.documents[document::kSaturatingLayers] = r.saturating_layers;
  if (!r.reference_engine.empty()) run.documents[document::kReferenceEngine] = r.reference_engine;
  if (r.step_check.images > 0) run.documents[document::kExportStepCheck] = r.step_check.ToJson();
  const bool int8 = r.format == "qdq_int8";
  run.documents[document::kPrecision] = int8 ? "int8" : r.format;
  run.documents[document::kRuntime] = r.runtime;
  run.documents[document::kFormat] = r.format;
  QG_RETURN_IF_ERROR(AddArtifact(int8                  ? artifact::kOnnxQdqInt8
                                 : r.format == "fp16" ? artifact::kOnnxFp16
                                                      : artifact::kOnnxFp32,
                                 r.onnx_path, run));
  run.result = r.ToJson();
  return run;
}

// A race between two quantize jobs' models (a tune's winner and runner-up).
Result<RunRecord> RunRace(const JobRequest& req, RunRecord run) {
  QG_ASSIGN_OR_RETURN(auto c, exp::RaceConfig::FromJson(req.config));
  pipeline::RaceStepSpec spec;
  auto racer = [&](const std::string& key, pipeline::RaceModel& out) -> Status {
    const auto dep = req.deps.find(key);
    if (dep == req.deps.end()) return Error::FailedPrecondition("race '{}': no run of '{}'", req.key, key);
    for (const auto& a : dep->second.artifacts) {
      if (a.kind != artifact::kModelInt8 && a.kind != artifact::kModelFp32) continue;
      QG_ASSIGN_OR_RETURN(std::string sha, Sha256File(a.path));
      if (!a.sha256.empty() && sha != a.sha256) {
        return Error::FailedPrecondition("artifact '{}' of job '{}' changed since it was stored", a.path, key);
      }
      out = {a.path, a.kind == std::string(artifact::kModelInt8)};
      const auto ref = dep->second.documents.find(document::kReferenceFp32);
      if (ref != dep->second.documents.end() && ref->second.is_object()) {
        spec.fp32_model_path = ref->second.value("path", "");
      }
      return OkStatus();
    }
    return Error::FailedPrecondition("race '{}': '{}' left no INT8 or FP32 model to time", req.key, key);
  };
  QG_RETURN_IF_ERROR(racer(c.a_key, spec.a));
  QG_RETURN_IF_ERROR(racer(c.b_key, spec.b));
  spec.dataset = DatasetOf(c.dataset);
  spec.engine = EngineOf(c.engine);
  spec.latency.batch_sizes = {c.batch_size};
  spec.latency.warmup_runs = c.warmup_runs;
  spec.latency.runs = c.runs;
  QG_ASSIGN_OR_RETURN(auto stats, pipeline::RunRaceStep(spec));
  run.engine = c.engine;
  run.device = "cpu";
  run.metrics[metric::kRaceAP50Ms] = stats.p50_ms;
  run.metrics[metric::kRaceBP50Ms] = stats.reference_p50_ms;
  run.metrics[metric::kRaceBOverA] = stats.speedup_vs_reference;
  run.result = stats.ToJson();
  return run;
}

// Threads a job runs with: its config's, or the machine's cores shared out
// among the ranks of one data-parallel job.
int ThreadsFor(const JobRequest& req) {
  const auto& c = req.config;
  int threads = c.value("threads", c.contains("measure") ? c["measure"].value("threads", 0) : 0);
  if (const char* world = std::getenv("QG_WORLD_SIZE"); world != nullptr && threads == 0) {
    threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / std::max(1, std::atoi(world)));
  }
  return pipeline::ConfigureThreads(threads);
}

}  // namespace

Result<RunRecord> RunJob(const JobRequest& req, train::TrainObserver* progress) {
  QG_ASSIGN_OR_RETURN(exp::JobKind kind, exp::ParseJobKind(req.kind));
  if (exp::IsProbe(kind)) {
    return Error::InvalidArgument("job '{}' is a '{}' probe: workers run probes themselves, not exec-job", req.key,
                                  req.kind);
  }
  RunRecord run = NewRunRecord(req.config_hash, req.kind, req.key, ThreadsFor(req));
  if (!req.work_dir.empty()) std::filesystem::create_directories(req.work_dir);
  Result<RunRecord> out = kind == exp::JobKind::kTrain      ? RunTrain(req, progress, std::move(run))
                          : kind == exp::JobKind::kQuantize ? RunQuantize(req, progress, std::move(run))
                          : kind == exp::JobKind::kRace     ? RunRace(req, std::move(run))
                                                            : RunExport(req, std::move(run));
  if (out) out->finished_ms = SystemClock::Instance().WallMillis();
  return out;
}

}  // namespace qg::runner
