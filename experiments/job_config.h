// Job configs: the one owner of what a job of each kind is told to do. The
// grid (grid.cc) writes them, the runner (runner/) reads them to run a job,
// and reports (report/) read them to label rows; nothing else parses a config.
//
// The JSON form is what is stored and hashed: ToJson() writes exactly the
// fields the grid has always written, so config hashes stay stable, and a
// change that alters a kind's results bumps its code version below (which is
// part of every config, hence of every hash). FromJson() is strict: errors
// name the JSON path ("config.measure.runs: must be an integer").
//
// The metric, document and artifact names a job stores are built here too,
// so the runner that writes "latency.cpu.b64.p50_ms" and the report that
// reads it cannot drift apart.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "core/metrics/latency_stats.h"

namespace qg::exp {

// Every kind of job there is; the stored form is its name.
enum class JobKind { kTrain, kQuantize, kExport, kRace, kNoop, kSleep, kFail };

std::string_view JobKindName(JobKind kind);
// InvalidArgument naming the unknown kind and listing the known ones.
Result<JobKind> ParseJobKind(std::string_view name);
// Scheduling probes: no model work (worker/probe_jobs.h runs them).
bool IsProbe(JobKind kind);

// Bumped when a job kind's results change meaning; part of every config hash.
inline constexpr const char* kTrainCodeVersion = "train-1";
// quantize 3: 7-bit weights where u8 x s8 pair sums saturate; 4: per-channel
// requantization scales inverted in float as oneDNN does (outputs on a .5 tie
// rounded the other way), small batches on the thread count the model measures
// faster (latency at b1 and b2 moves).
inline constexpr const char* kQuantizeCodeVersion = "quantize-4";
inline constexpr const char* kExportCodeVersion = "export-2";  // 2: the first pool over pairs of pixels
inline constexpr const char* kRaceCodeVersion = "race-1";

// Synthetic data's shape and size ("synthetic": {"channels": 3, "size": 32,
// ...}); the defaults are a Fashion-MNIST-like 1x28x28, 10 classes.
struct SyntheticShape {
  int64_t channels = 1;
  int64_t size = 28;
  int64_t classes = 10;
  int64_t train = 2048;
  int64_t test = 512;

  bool operator==(const SyntheticShape&) const = default;
};

struct DatasetConfig {
  std::string name;
  std::string dir;               // empty: the dataset's default location
  int64_t image_size = 224;      // image-folder: side of the centre crop
  SyntheticShape synthetic;      // "synthetic" only; stored only when not the default

  nlohmann::json ToJson() const;
  // `known` (when given) lists the dataset names a spec may use.
  static Result<DatasetConfig> FromJson(const nlohmann::json& j, const std::string& path,
                                        const std::vector<std::string>* known = nullptr);
};

// How quantize and export jobs measure a model (the spec's "measure" section).
struct MeasureConfig {
  std::vector<int64_t> batch_sizes = metrics::kDefaultBatchSizes;
  int64_t eval_limit = 0;  // 0: the whole test split
  int warmup_runs = metrics::kDefaultWarmupRuns;
  int runs = metrics::kDefaultTimedRuns;
  int threads = 2;
  int64_t layer_mse_images = 256;
  // Latency rounds per row: > 1 reports the median of round medians with a
  // bootstrap 95 % interval (metrics::LatencyOptions::replicates). Written to
  // the config only when > 1, so specs without it keep their config hashes.
  int replicates = 1;

  nlohmann::json ToJson() const;
  static Result<MeasureConfig> FromJson(const nlohmann::json& j, const std::string& path);
};

// What an imported model's file does not say about its input: the spec's
// "model": {"onnx": ..., "input": {"size": 224, "channels": 3, "mean": [...],
// "std": [...]}}. Every field optional.
struct ModelInput {
  std::optional<int64_t> size;
  std::optional<int64_t> channels;
  std::vector<double> mean, std;

  nlohmann::json ToJson() const;
  static Result<ModelInput> FromJson(const nlohmann::json& j, const std::string& path);
};

// A user's model file (ONNX): where it is and what it holds (its sha256 is
// part of the training job's config, so a changed file trains, or imports,
// again).
struct ImportedModelConfig {
  std::string path;  // absolute
  std::string sha256;
  ModelInput input;
};

struct TrainConfig {
  std::string code = kTrainCodeVersion;
  DatasetConfig dataset;
  std::string model;  // a registry name, or "onnx" with `imported`
  bool aux_logits = false;
  std::optional<ImportedModelConfig> imported;
  nlohmann::json recipe = nlohmann::json::object();  // resolved training recipe, seed included
  int threads = 2;
  std::string device = "cpu";  // a grid on cuda trains there too
  int64_t processes = 1;       // data-parallel ranks; only in the JSON when > 1

  nlohmann::json ToJson() const;
  static Result<TrainConfig> FromJson(const nlohmann::json& j, const std::string& path = "config");
};

// One strategy of the grid on one model (and its ONNX export, ExportConfig).
struct QuantizeConfig {
  std::string code = kQuantizeCodeVersion;
  DatasetConfig dataset;
  std::string strategy;
  std::string label;                                   // the table row's name
  nlohmann::json params = nlohmann::json::object();    // resolved by the strategy
  std::string engine;                                  // empty: the build's default engine
  std::string device = "cpu";
  MeasureConfig measure;
  int64_t seed = 0;
  std::string train_hash;  // the training job whose model this quantizes

  nlohmann::json ToJson() const;
  static Result<QuantizeConfig> FromJson(const nlohmann::json& j, const std::string& path = "config");
  // The observer and calibration size of an INT8 strategy ("" / 0 otherwise).
  std::string Observer() const;
  int64_t CalibrationSize() const;
};

struct ExportConfig {
  std::string code = kExportCodeVersion;
  QuantizeConfig quantize;   // the quantize job's cell (its code, hash and train hash aside)
  std::string quantize_hash;

  nlohmann::json ToJson() const;
  static Result<ExportConfig> FromJson(const nlohmann::json& j, const std::string& path = "config");
};

// Two quantize jobs' models timed against each other in alternating rounds
// on one input (a tune's winner against its runner-up): a latency ratio
// that does not move with what the machine did between the two jobs.
struct RaceConfig {
  std::string code = kRaceCodeVersion;
  std::string a_key, a_hash;  // the quantize jobs (their keys are this job's dependencies)
  std::string b_key, b_hash;
  DatasetConfig dataset;      // the input's shape
  std::string engine;
  int64_t batch_size = 64;
  int warmup_runs = metrics::kDefaultWarmupRuns;
  int runs = 100;             // per model, in 10 alternating rounds
  int threads = 2;

  nlohmann::json ToJson() const;
  static Result<RaceConfig> FromJson(const nlohmann::json& j, const std::string& path = "config");
};

// A scheduling probe of a probe experiment (experiments/probe_spec.h).
struct ProbeConfig {
  std::string experiment;
  int64_t index = 0;
  int64_t value = 0;                 // reported back as the run's "value" metric
  std::optional<double> seconds;     // sleep probes

  nlohmann::json ToJson() const;
  static Result<ProbeConfig> FromJson(const nlohmann::json& j, const std::string& path = "config");
};
inline constexpr double kDefaultSleepSeconds = 0.5;

// Names of what jobs store (RunRecord metrics, documents, artifacts).
namespace metric {
inline constexpr const char* kTop1 = "top1";
inline constexpr const char* kTop5 = "top5";
inline constexpr const char* kEvalImages = "eval_images";
inline constexpr const char* kSizeBytes = "size_bytes";
inline constexpr const char* kFp32SizeBytes = "fp32_size_bytes";
inline constexpr const char* kPackedSizeBytes = "packed_size_bytes";  // weights below 8 bits, packed
inline constexpr const char* kParameters = "parameters";
inline constexpr const char* kTrainSeconds = "train_seconds";
inline constexpr const char* kTrainImagesPerSecond = "train_images_per_second";
inline constexpr const char* kTrainProcesses = "train_processes";
inline constexpr const char* kOnnxNodes = "onnx_nodes";
inline constexpr const char* kProbeValue = "value";
inline constexpr const char* kOutputMaxAbs = "output.max_abs";
inline constexpr const char* kOutputMeanAbs = "output.mean_abs";
inline constexpr const char* kOutputRelativeMse = "output.relative_mse";
inline constexpr const char* kTop1Agreement = "output.top1_agreement";
inline constexpr const char* kInt8MacShare = "int8_mac_share";  // percent of multiply-adds on INT8 kernels

// Per-batch latency statistics: "latency.<device>.b<batch>.<stat>".
inline constexpr const char* kMeanMs = "mean_ms";
inline constexpr const char* kStdMs = "std_ms";
inline constexpr const char* kP50Ms = "p50_ms";
inline constexpr const char* kP95Ms = "p95_ms";
inline constexpr const char* kMsPerImage = "ms_per_image";
inline constexpr const char* kReplicates = "replicates";        // rounds behind the p50 and its interval
inline constexpr const char* kP50CiLowMs = "p50_ci_low_ms";     // bootstrap 95 % interval of the p50
inline constexpr const char* kP50CiHighMs = "p50_ci_high_ms";
inline constexpr const char* kFp32P50Ms = "fp32_p50_ms";          // the FP32 model timed alternately
inline constexpr const char* kSpeedupVsFp32 = "speedup_vs_fp32";  // median of paired round ratios
// An FP32 ONNX Runtime row's: LibTorch's FP32 timed alternately with it, and
// LibTorch / ONNX Runtime (median of round ratios; > 1: ONNX Runtime faster).
inline constexpr const char* kLibtorchFp32P50Ms = "libtorch_fp32_p50_ms";
inline constexpr const char* kLibtorchFp32OverThis = "libtorch_fp32_over_this";
std::string Latency(std::string_view device, int64_t batch, std::string_view stat);
// A race job's: each model's p50 at the race's batch, and b / a (the median
// of the rounds' ratios; > 1: a is faster).
inline constexpr const char* kRaceAP50Ms = "race.a_p50_ms";
inline constexpr const char* kRaceBP50Ms = "race.b_p50_ms";
inline constexpr const char* kRaceBOverA = "race.b_over_a";
}  // namespace metric

namespace document {
inline constexpr const char* kConfusion = "confusion";
inline constexpr const char* kPerClassAccuracy = "per_class_accuracy";
inline constexpr const char* kClassNames = "class_names";  // the confusion matrix's rows and columns
inline constexpr const char* kTrainReport = "train_report";
inline constexpr const char* kLayerMse = "layer_mse";
inline constexpr const char* kLayerSizes = "layer_sizes";
inline constexpr const char* kDetails = "details";
inline constexpr const char* kParams = "params";
inline constexpr const char* kPrecision = "precision";
inline constexpr const char* kRuntime = "runtime";
inline constexpr const char* kFormat = "format";
// The GPU a cuda job's latencies were timed on ("NVIDIA H200"): its machine
// in tables and nightly compares, where a CPU job's is its CPU.
inline constexpr const char* kGpuModel = "gpu_model";
// A quantize job's FP32 model ({"path", "sha256"}): the export job times its
// ONNX Runtime model alternately with this model's FP32 graph.
inline constexpr const char* kReferenceFp32 = "reference_fp32";
// An INT8 export job's layers whose 8-bit weights its worker's CPU saturates
// (no VNNI), in ONNX Runtime as in oneDNN: its accuracy is that CPU's. Absent
// when none.
inline constexpr const char* kSaturatingLayers = "saturating_layers";
// An INT8 export job's LibTorch reference engine ("onednn", or "qnnpack"
// where the job's engine saturates the model's weights on its CPU).
inline constexpr const char* kReferenceEngine = "reference_engine";
// An INT8 export job's step-by-step check (pipeline::ExportStepCheck):
// {"images", "within_steps", "max_own_steps", "first_divergence"}.
inline constexpr const char* kExportStepCheck = "export_step_check";
}  // namespace document

namespace artifact {
inline constexpr const char* kModelFp32 = "model_fp32";
inline constexpr const char* kModelFp16 = "model_fp16";
inline constexpr const char* kModelInt8 = "model_int8";
inline constexpr const char* kOnnxFp32 = "onnx_fp32";
inline constexpr const char* kOnnxFp16 = "onnx_fp16";
inline constexpr const char* kOnnxQdqInt8 = "onnx_qdq_int8";
}  // namespace artifact

}  // namespace qg::exp
