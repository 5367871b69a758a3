#include "experiments/job_config.h"

#include <fmt/format.h>

#include <array>
#include <utility>

#include "core/base/json_fields.h"

namespace qg::exp {

using nlohmann::json;

namespace {

constexpr std::array<std::pair<JobKind, std::string_view>, 7> kKinds{{{JobKind::kTrain, "train"},
                                                                       {JobKind::kQuantize, "quantize"},
                                                                       {JobKind::kExport, "export"},
                                                                       {JobKind::kRace, "race"},
                                                                       {JobKind::kNoop, "noop"},
                                                                       {JobKind::kSleep, "sleep"},
                                                                       {JobKind::kFail, "fail"}}};

// Ranges of the measure section (a spec's and a job's alike).
constexpr int64_t kMaxBatch = 65536;
constexpr int64_t kMaxRuns = 100000;

}  // namespace

std::string_view JobKindName(JobKind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "?";
}

Result<JobKind> ParseJobKind(std::string_view name) {
  for (const auto& [k, known] : kKinds) {
    if (known == name) return k;
  }
  return Error::InvalidArgument("unknown job kind '{}'; known: train, quantize, export, race, noop, sleep, fail", name);
}

bool IsProbe(JobKind kind) { return kind == JobKind::kNoop || kind == JobKind::kSleep || kind == JobKind::kFail; }

// ---- DatasetConfig ----

json DatasetConfig::ToJson() const {
  json j = {{"name", name}, {"dir", dir}, {"image_size", image_size}};
  // Written only when set, so the configs (and hashes) of specs without it
  // stay what they were.
  if (synthetic != SyntheticShape{}) {
    j["synthetic"] = {{"channels", synthetic.channels}, {"size", synthetic.size}, {"classes", synthetic.classes},
                      {"train", synthetic.train},       {"test", synthetic.test}};
  }
  return j;
}

Result<DatasetConfig> DatasetConfig::FromJson(const json& j, const std::string& path,
                                              const std::vector<std::string>* known) {
  JsonFields f(j, path);
  QG_RETURN_IF_ERROR(f.CheckObject());
  QG_RETURN_IF_ERROR(f.AllowOnly({"name", "dir", "image_size", "synthetic"}));
  DatasetConfig d;
  if (known != nullptr) {
    QG_ASSIGN_OR_RETURN(d.name, f.Choice("name", "", *known, /*required=*/true));
  } else {
    QG_ASSIGN_OR_RETURN(d.name, f.RequiredString("name"));
  }
  QG_ASSIGN_OR_RETURN(d.dir, f.String("dir"));
  QG_ASSIGN_OR_RETURN(d.image_size, f.Integer("image_size", d.image_size, 8, 4096));
  if (f.Has("synthetic")) {
    if (d.name != "synthetic") {
      return Error::InvalidArgument("{}: only the \"synthetic\" dataset takes a shape (this one is \"{}\")",
                                    f.Field("synthetic"), d.name);
    }
    QG_ASSIGN_OR_RETURN(json shape, f.Object("synthetic"));
    JsonFields s(shape, f.Field("synthetic"));
    QG_RETURN_IF_ERROR(s.AllowOnly({"channels", "size", "classes", "train", "test"}));
    SyntheticShape& o = d.synthetic;
    QG_ASSIGN_OR_RETURN(o.channels, s.Integer("channels", o.channels, 1, 64));
    QG_ASSIGN_OR_RETURN(o.size, s.Integer("size", o.size, 8, 1024));
    QG_ASSIGN_OR_RETURN(o.classes, s.Integer("classes", o.classes, 2, 100000));
    QG_ASSIGN_OR_RETURN(o.train, s.Integer("train", o.train, 1, 10'000'000));
    QG_ASSIGN_OR_RETURN(o.test, s.Integer("test", o.test, 1, 10'000'000));
  }
  return d;
}

// ---- MeasureConfig ----

json MeasureConfig::ToJson() const {
  json j{{"batch_sizes", batch_sizes}, {"eval_limit", eval_limit}, {"warmup_runs", warmup_runs},
         {"runs", runs}, {"threads", threads}, {"layer_mse_images", layer_mse_images}};
  if (replicates > 1) j["replicates"] = replicates;
  return j;
}

Result<MeasureConfig> MeasureConfig::FromJson(const json& j, const std::string& path) {
  JsonFields f(j, path);
  QG_RETURN_IF_ERROR(f.CheckObject());
  QG_RETURN_IF_ERROR(
      f.AllowOnly({"batch_sizes", "eval_limit", "warmup_runs", "runs", "threads", "layer_mse_images", "replicates"}));
  MeasureConfig m;
  QG_ASSIGN_OR_RETURN(m.batch_sizes, f.Integers("batch_sizes", m.batch_sizes, /*non_empty=*/true));
  for (size_t i = 0; i < m.batch_sizes.size(); ++i) {
    if (m.batch_sizes[i] <= 0 || m.batch_sizes[i] > kMaxBatch) {
      return Error::InvalidArgument("{}[{}]: {} is outside [1, {}]", f.Field("batch_sizes"), i, m.batch_sizes[i],
                                    kMaxBatch);
    }
  }
  QG_ASSIGN_OR_RETURN(m.eval_limit, f.Integer("eval_limit", m.eval_limit, 0, int64_t{1} << 40));
  QG_ASSIGN_OR_RETURN(int64_t warmup, f.Integer("warmup_runs", m.warmup_runs, 0, kMaxRuns));
  QG_ASSIGN_OR_RETURN(int64_t runs, f.Integer("runs", m.runs, 1, kMaxRuns));
  QG_ASSIGN_OR_RETURN(int64_t threads, f.Integer("threads", m.threads, 1, 1024));
  QG_ASSIGN_OR_RETURN(m.layer_mse_images, f.Integer("layer_mse_images", m.layer_mse_images, 0, kMaxRuns));
  QG_ASSIGN_OR_RETURN(int64_t replicates, f.Integer("replicates", m.replicates, 1, 1000));
  if (replicates > runs) {
    return Error::InvalidArgument("{}: {} replicates need at least as many timed runs (runs is {})",
                                  f.Field("replicates"), replicates, runs);
  }
  m.replicates = static_cast<int>(replicates);
  m.warmup_runs = static_cast<int>(warmup);
  m.runs = static_cast<int>(runs);
  m.threads = static_cast<int>(threads);
  return m;
}

// ---- ModelInput ----

json ModelInput::ToJson() const {
  json j = json::object();
  if (size) j["size"] = *size;
  if (channels) j["channels"] = *channels;
  if (!mean.empty()) j["mean"] = mean;
  if (!std.empty()) j["std"] = std;
  return j;
}

Result<ModelInput> ModelInput::FromJson(const json& j, const std::string& path) {
  JsonFields f(j, path);
  QG_RETURN_IF_ERROR(f.CheckObject());
  QG_RETURN_IF_ERROR(f.AllowOnly({"size", "channels", "mean", "std"}));
  ModelInput in;
  if (f.Has("size")) {
    QG_ASSIGN_OR_RETURN(in.size, f.Integer("size", 0, 8, 4096));
  }
  if (f.Has("channels")) {
    QG_ASSIGN_OR_RETURN(in.channels, f.Integer("channels", 0, 1, 64));
  }
  for (const char* key : {"mean", "std"}) {
    const json* list = f.Raw(key);
    if (list == nullptr) continue;
    if (!list->is_array() || list->empty()) return Error::InvalidArgument("{}: must be a list of numbers", f.Field(key));
    auto& out = std::string(key) == "mean" ? in.mean : in.std;
    for (const auto& v : *list) {
      if (!v.is_number()) return Error::InvalidArgument("{}: must be a list of numbers", f.Field(key));
      out.push_back(v.get<double>());
    }
  }
  if (in.mean.size() != in.std.size()) {
    return Error::InvalidArgument("{}: mean and std must both be given, one value per channel", path);
  }
  return in;
}

// ---- TrainConfig ----

json TrainConfig::ToJson() const {
  json model_json{{"name", model}, {"aux_logits", aux_logits}};
  if (imported) {  // only for imported models: the others' hashes stay as they were
    model_json["onnx"] = imported->path;
    model_json["sha256"] = imported->sha256;
    model_json["input"] = imported->input.ToJson();
  }
  json j{{"code", code},
         {"dataset", dataset.ToJson()},
         {"model", model_json},
         {"recipe", recipe},
         {"threads", threads},
         {"device", device}};
  if (processes != 1) j["processes"] = processes;
  return j;
}

Result<TrainConfig> TrainConfig::FromJson(const json& j, const std::string& path) {
  JsonFields f(j, path);
  QG_RETURN_IF_ERROR(f.CheckObject());
  QG_RETURN_IF_ERROR(f.AllowOnly({"code", "dataset", "model", "recipe", "threads", "device", "processes"}));
  TrainConfig c;
  QG_ASSIGN_OR_RETURN(c.code, f.RequiredString("code"));
  QG_ASSIGN_OR_RETURN(json dataset, f.Object("dataset", /*required=*/true));
  QG_ASSIGN_OR_RETURN(c.dataset, DatasetConfig::FromJson(dataset, f.Field("dataset")));
  QG_ASSIGN_OR_RETURN(json model, f.Object("model", /*required=*/true));
  JsonFields m(model, f.Field("model"));
  QG_RETURN_IF_ERROR(m.AllowOnly({"name", "aux_logits", "onnx", "sha256", "input"}));
  QG_ASSIGN_OR_RETURN(c.model, m.RequiredString("name"));
  QG_ASSIGN_OR_RETURN(c.aux_logits, m.Flag("aux_logits", false));
  if (m.Has("onnx")) {
    ImportedModelConfig imported;
    QG_ASSIGN_OR_RETURN(imported.path, m.RequiredString("onnx"));
    QG_ASSIGN_OR_RETURN(imported.sha256, m.RequiredString("sha256"));
    QG_ASSIGN_OR_RETURN(json input, m.Object("input"));
    QG_ASSIGN_OR_RETURN(imported.input, ModelInput::FromJson(input, m.Field("input")));
    c.imported = std::move(imported);
  }
  QG_ASSIGN_OR_RETURN(c.recipe, f.Object("recipe", /*required=*/true));
  QG_ASSIGN_OR_RETURN(int64_t threads, f.Integer("threads", c.threads, 0, 1024));
  c.threads = static_cast<int>(threads);
  QG_ASSIGN_OR_RETURN(c.device, f.Choice("device", c.device, {"cpu", "cuda"}));
  QG_ASSIGN_OR_RETURN(c.processes, f.Integer("processes", 1, 1, 64));
  return c;
}

// ---- QuantizeConfig ----

json QuantizeConfig::ToJson() const {
  return {{"code", code},         {"dataset", dataset.ToJson()}, {"strategy", strategy},
          {"label", label},       {"params", params},            {"engine", engine},
          {"device", device},     {"measure", measure.ToJson()}, {"seed", seed},
          {"train_hash", train_hash}};
}

namespace {

// The fields a quantize cell and its export share, read into `c`.
Status ReadCell(JsonFields& f, QuantizeConfig& c) {
  QG_ASSIGN_OR_RETURN(c.code, f.RequiredString("code"));
  QG_ASSIGN_OR_RETURN(json dataset, f.Object("dataset", /*required=*/true));
  QG_ASSIGN_OR_RETURN(c.dataset, DatasetConfig::FromJson(dataset, f.Field("dataset")));
  QG_ASSIGN_OR_RETURN(c.strategy, f.RequiredString("strategy"));
  QG_ASSIGN_OR_RETURN(c.label, f.String("label", c.strategy));
  QG_ASSIGN_OR_RETURN(c.params, f.Object("params"));
  QG_ASSIGN_OR_RETURN(c.engine, f.String("engine"));
  QG_ASSIGN_OR_RETURN(c.device, f.Choice("device", c.device, {"cpu", "cuda"}));
  QG_ASSIGN_OR_RETURN(json measure, f.Object("measure", /*required=*/true));
  QG_ASSIGN_OR_RETURN(c.measure, MeasureConfig::FromJson(measure, f.Field("measure")));
  QG_ASSIGN_OR_RETURN(c.seed, f.Integer("seed", 0, INT64_MIN, INT64_MAX));
  QG_ASSIGN_OR_RETURN(c.train_hash, f.String("train_hash"));
  return OkStatus();
}

}  // namespace

Result<QuantizeConfig> QuantizeConfig::FromJson(const json& j, const std::string& path) {
  JsonFields f(j, path);
  QG_RETURN_IF_ERROR(f.CheckObject());
  QG_RETURN_IF_ERROR(f.AllowOnly({"code", "dataset", "strategy", "label", "params", "engine", "device", "measure",
                                  "seed", "train_hash"}));
  QuantizeConfig c;
  QG_RETURN_IF_ERROR(ReadCell(f, c));
  return c;
}

std::string QuantizeConfig::Observer() const {
  const auto it = params.find("observer");
  return it != params.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t QuantizeConfig::CalibrationSize() const {
  const auto it = params.find("calibration_size");
  return it != params.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

// ---- ExportConfig ----

json ExportConfig::ToJson() const {
  json j = quantize.ToJson();
  j["code"] = code;
  j["quantize_hash"] = quantize_hash;
  return j;
}

Result<ExportConfig> ExportConfig::FromJson(const json& j, const std::string& path) {
  JsonFields f(j, path);
  QG_RETURN_IF_ERROR(f.CheckObject());
  QG_RETURN_IF_ERROR(f.AllowOnly({"code", "dataset", "strategy", "label", "params", "engine", "device", "measure",
                                  "seed", "train_hash", "quantize_hash"}));
  ExportConfig c;
  QG_RETURN_IF_ERROR(ReadCell(f, c.quantize));
  c.code = c.quantize.code;
  c.quantize.code = kQuantizeCodeVersion;
  QG_ASSIGN_OR_RETURN(c.quantize_hash, f.RequiredString("quantize_hash"));
  return c;
}

// ---- RaceConfig ----

json RaceConfig::ToJson() const {
  return {{"code", code},       {"a_key", a_key},       {"a_hash", a_hash},   {"b_key", b_key},
          {"b_hash", b_hash},   {"dataset", dataset.ToJson()}, {"engine", engine}, {"batch_size", batch_size},
          {"warmup_runs", warmup_runs}, {"runs", runs}, {"threads", threads}};
}

Result<RaceConfig> RaceConfig::FromJson(const json& j, const std::string& path) {
  JsonFields f(j, path);
  QG_RETURN_IF_ERROR(f.CheckObject());
  QG_RETURN_IF_ERROR(f.AllowOnly({"code", "a_key", "a_hash", "b_key", "b_hash", "dataset", "engine", "batch_size",
                                  "warmup_runs", "runs", "threads"}));
  RaceConfig c;
  QG_ASSIGN_OR_RETURN(c.code, f.String("code", kRaceCodeVersion));
  QG_ASSIGN_OR_RETURN(c.a_key, f.RequiredString("a_key"));
  QG_ASSIGN_OR_RETURN(c.a_hash, f.RequiredString("a_hash"));
  QG_ASSIGN_OR_RETURN(c.b_key, f.RequiredString("b_key"));
  QG_ASSIGN_OR_RETURN(c.b_hash, f.RequiredString("b_hash"));
  QG_ASSIGN_OR_RETURN(json dataset, f.Object("dataset", /*required=*/true));
  QG_ASSIGN_OR_RETURN(c.dataset, DatasetConfig::FromJson(dataset, f.Field("dataset")));
  QG_ASSIGN_OR_RETURN(c.engine, f.String("engine"));
  QG_ASSIGN_OR_RETURN(c.batch_size, f.Integer("batch_size", 64, 1, kMaxBatch));
  QG_ASSIGN_OR_RETURN(int64_t warmup, f.Integer("warmup_runs", metrics::kDefaultWarmupRuns, 0, kMaxRuns));
  QG_ASSIGN_OR_RETURN(int64_t runs, f.Integer("runs", 100, 10, kMaxRuns));
  QG_ASSIGN_OR_RETURN(int64_t threads, f.Integer("threads", 2, 1, 1024));
  c.warmup_runs = static_cast<int>(warmup);
  c.runs = static_cast<int>(runs);
  c.threads = static_cast<int>(threads);
  return c;
}

// ---- ProbeConfig ----

json ProbeConfig::ToJson() const {
  json j{{"experiment", experiment}, {"index", index}, {"value", value}};
  if (seconds) j["seconds"] = *seconds;
  return j;
}

Result<ProbeConfig> ProbeConfig::FromJson(const json& j, const std::string& path) {
  // Probes are the harness of scheduler tests: their configs may carry the
  // caller's own tags, so only the fields read here are checked.
  JsonFields f(j, path);
  QG_RETURN_IF_ERROR(f.CheckObject());
  ProbeConfig c;
  QG_ASSIGN_OR_RETURN(c.experiment, f.String("experiment"));
  QG_ASSIGN_OR_RETURN(c.index, f.Integer("index", 0, 0, INT64_MAX));
  QG_ASSIGN_OR_RETURN(c.value, f.Integer("value", 0, INT64_MIN, INT64_MAX));
  if (f.Has("seconds")) {
    QG_ASSIGN_OR_RETURN(double s, f.Number("seconds", kDefaultSleepSeconds, 0, 86400));
    c.seconds = s;
  }
  return c;
}

namespace metric {

std::string Latency(std::string_view device, int64_t batch, std::string_view stat) {
  return fmt::format("latency.{}.b{}.{}", device, batch, stat);
}

}  // namespace metric

}  // namespace qg::exp
