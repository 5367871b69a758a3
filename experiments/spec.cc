#include "experiments/spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <set>

#include "core/base/files.h"
#include "experiments/slurm_spec.h"
#include "experiments/spec_fields.h"

namespace qg::exp {
namespace {

using nlohmann::json;

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

Result<std::string> Choose(const json& obj, const std::string& path, const std::string& key,
                           const std::vector<std::string>& known, bool required, const std::string& fallback = "") {
  QG_ASSIGN_OR_RETURN(std::string v, GetString(obj, path, key, required, fallback));
  if (!Contains(known, v)) {
    return Error::InvalidArgument("{}: unknown \"{}\"; known: {}", JoinPath(path, key), v, fmt::join(known, ", "));
  }
  return v;
}

template <typename T>
Result<std::vector<T>> GetList(const json& obj, const std::string& path, const std::string& key,
                               std::vector<T> fallback) {
  if (!obj.contains(key)) return fallback;
  const auto& v = obj[key];
  const std::string field = JoinPath(path, key);
  if (!v.is_array() || v.empty()) return Error::InvalidArgument("{}: must be a non-empty list", field);
  std::vector<T> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const bool ok = std::is_same_v<T, std::string> ? v[i].is_string() : v[i].is_number_integer();
    if (!ok) {
      return Error::InvalidArgument("{}[{}]: must be {}", field, i,
                                    std::is_same_v<T, std::string> ? "a string" : "an integer");
    }
    out.push_back(v[i].get<T>());
  }
  return out;
}

Result<int64_t> GetInt(const json& obj, const std::string& path, const std::string& key, int64_t fallback, int64_t min,
                       int64_t max) {
  if (!obj.contains(key)) return fallback;
  if (!obj[key].is_number_integer()) return Error::InvalidArgument("{}: must be an integer", JoinPath(path, key));
  const int64_t v = obj[key].get<int64_t>();
  if (v < min || v > max) return Error::InvalidArgument("{}: {} is outside [{}, {}]", JoinPath(path, key), v, min, max);
  return v;
}

Result<json> GetObject(const json& obj, const std::string& path, const std::string& key, bool required) {
  if (!obj.contains(key)) {
    if (required) return Error::InvalidArgument("{}: required", JoinPath(path, key));
    return json::object();
  }
  if (!obj[key].is_object()) return Error::InvalidArgument("{}: must be an object", JoinPath(path, key));
  return obj[key];
}

Result<std::vector<StrategyEntry>> ParseStrategies(const json& grid, const Catalog& catalog) {
  if (!grid.contains("strategies")) return Error::InvalidArgument("grid.strategies: required");
  const auto& list = grid["strategies"];
  if (!list.is_array() || list.empty()) return Error::InvalidArgument("grid.strategies: must be a non-empty list");
  std::vector<StrategyEntry> out;
  std::set<std::string> labels;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = fmt::format("grid.strategies[{}]", i);
    StrategyEntry e;
    if (list[i].is_string()) {
      e.name = list[i].get<std::string>();
      if (!Contains(catalog.Strategies(), e.name)) {
        return Error::InvalidArgument("{}: unknown strategy \"{}\"; known: {}", path, e.name,
                                      fmt::join(catalog.Strategies(), ", "));
      }
    } else if (list[i].is_object()) {
      QG_RETURN_IF_ERROR(RejectUnknownKeys(list[i], path, {"name", "label", "params"}));
      QG_ASSIGN_OR_RETURN(e.name, Choose(list[i], path, "name", catalog.Strategies(), true));
      QG_ASSIGN_OR_RETURN(e.label, GetString(list[i], path, "label", false));
      QG_ASSIGN_OR_RETURN(e.params, GetObject(list[i], path, "params", false));
    } else {
      return Error::InvalidArgument("{}: must be a strategy name or an object with \"name\"", path);
    }
    if (e.label.empty()) e.label = e.name;
    if (!labels.insert(e.label).second) {
      return Error::InvalidArgument("{}: label \"{}\" is used twice; give this entry its own \"label\"", path, e.label);
    }
    // Check the parameters now (each grid cell re-resolves with its observer/size).
    QG_RETURN_IF_ERROR(catalog.ResolveStrategyParams(e.name, e.params, path));
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

Result<ExperimentSpec> ParseSpec(const json& j, const Catalog& catalog, const std::string& default_engine) {
  if (!j.is_object()) return Error::InvalidArgument("spec: must be a JSON object");
  QG_RETURN_IF_ERROR(RejectUnknownKeys(j, "", {"name", "description", "dataset", "model", "train", "seeds", "grid",
                                               "measure", "export", "max_attempts", "published", "slurm"}));
  ExperimentSpec s;
  s.raw = j;
  QG_ASSIGN_OR_RETURN(s.name, GetString(j, "", "name", true));
  if (s.name.empty() || s.name.find_first_of("/ \t\n") != std::string::npos) {
    return Error::InvalidArgument("name: \"{}\" must be non-empty, without spaces or '/'", s.name);
  }
  QG_ASSIGN_OR_RETURN(s.description, GetString(j, "", "description", false));

  QG_ASSIGN_OR_RETURN(auto dataset, GetObject(j, "", "dataset", true));
  QG_RETURN_IF_ERROR(RejectUnknownKeys(dataset, "dataset", {"name", "dir", "image_size"}));
  QG_ASSIGN_OR_RETURN(std::string dataset_name, Choose(dataset, "dataset", "name", catalog.Datasets(), true));
  QG_ASSIGN_OR_RETURN(std::string dir, GetString(dataset, "dataset", "dir", false));
  QG_ASSIGN_OR_RETURN(int64_t image_size, GetInt(dataset, "dataset", "image_size", 224, 8, 4096));
  s.dataset = {{"name", dataset_name}, {"dir", dir}, {"image_size", image_size}};

  QG_ASSIGN_OR_RETURN(auto model, GetObject(j, "", "model", true));
  QG_RETURN_IF_ERROR(RejectUnknownKeys(model, "model", {"name", "aux_logits"}));
  QG_ASSIGN_OR_RETURN(s.model, Choose(model, "model", "name", catalog.Models(), true));
  if (model.contains("aux_logits")) {
    if (!model["aux_logits"].is_boolean()) return Error::InvalidArgument("model.aux_logits: must be true or false");
    s.aux_logits = model["aux_logits"];
  }

  QG_ASSIGN_OR_RETURN(auto train, GetObject(j, "", "train", false));
  if (train.contains("seed")) return Error::InvalidArgument("train.seed: set seeds with the top-level \"seeds\" list");
  QG_ASSIGN_OR_RETURN(s.recipe, catalog.ResolveRecipe(train, "train"));
  s.recipe.erase("seed");
  QG_ASSIGN_OR_RETURN(s.seeds, GetList<int64_t>(j, "", "seeds", {0}));

  QG_ASSIGN_OR_RETURN(auto grid, GetObject(j, "", "grid", true));
  QG_RETURN_IF_ERROR(RejectUnknownKeys(
      grid, "grid", {"strategies", "observers", "calibration_sizes", "engines", "devices"}));
  QG_ASSIGN_OR_RETURN(s.strategies, ParseStrategies(grid, catalog));
  QG_ASSIGN_OR_RETURN(s.observers, GetList<std::string>(grid, "grid", "observers", {}));
  for (size_t i = 0; i < s.observers.size(); ++i) {
    if (!Contains(catalog.Observers(), s.observers[i])) {
      return Error::InvalidArgument("grid.observers[{}]: unknown \"{}\"; known: {}", i, s.observers[i],
                                    fmt::join(catalog.Observers(), ", "));
    }
  }
  QG_ASSIGN_OR_RETURN(s.calibration_sizes, GetList<int64_t>(grid, "grid", "calibration_sizes", {}));
  for (size_t i = 0; i < s.calibration_sizes.size(); ++i) {
    if (s.calibration_sizes[i] <= 0) {
      return Error::InvalidArgument("grid.calibration_sizes[{}]: {} must be positive", i, s.calibration_sizes[i]);
    }
  }
  QG_ASSIGN_OR_RETURN(s.engines, GetList<std::string>(grid, "grid", "engines", {default_engine}));
  for (size_t i = 0; i < s.engines.size(); ++i) {
    if (!Contains(catalog.Engines(), s.engines[i])) {
      return Error::InvalidArgument("grid.engines[{}]: \"{}\" is not in this LibTorch build; supported: {}", i,
                                    s.engines[i], fmt::join(catalog.Engines(), ", "));
    }
  }
  QG_ASSIGN_OR_RETURN(s.devices, GetList<std::string>(grid, "grid", "devices", {"cpu"}));
  for (size_t i = 0; i < s.devices.size(); ++i) {
    if (s.devices[i] != "cpu" && s.devices[i] != "cuda") {
      return Error::InvalidArgument("grid.devices[{}]: unknown \"{}\"; known: cpu, cuda", i, s.devices[i]);
    }
  }

  QG_ASSIGN_OR_RETURN(auto measure, GetObject(j, "", "measure", false));
  QG_RETURN_IF_ERROR(RejectUnknownKeys(measure, "measure", {"batch_sizes", "eval_limit", "warmup_runs", "runs",
                                                             "threads", "layer_mse_images"}));
  QG_ASSIGN_OR_RETURN(s.measure.batch_sizes, GetList<int64_t>(measure, "measure", "batch_sizes", {1, 64}));
  for (size_t i = 0; i < s.measure.batch_sizes.size(); ++i) {
    if (s.measure.batch_sizes[i] <= 0 || s.measure.batch_sizes[i] > 65536) {
      return Error::InvalidArgument("measure.batch_sizes[{}]: {} is outside [1, 65536]", i, s.measure.batch_sizes[i]);
    }
  }
  QG_ASSIGN_OR_RETURN(s.measure.eval_limit, GetInt(measure, "measure", "eval_limit", 0, 0, 1LL << 40));
  QG_ASSIGN_OR_RETURN(auto warmup, GetInt(measure, "measure", "warmup_runs", 20, 0, 100000));
  QG_ASSIGN_OR_RETURN(auto runs, GetInt(measure, "measure", "runs", 50, 1, 100000));
  QG_ASSIGN_OR_RETURN(auto threads, GetInt(measure, "measure", "threads", 2, 1, 1024));
  QG_ASSIGN_OR_RETURN(s.measure.layer_mse_images, GetInt(measure, "measure", "layer_mse_images", 256, 0, 100000));
  s.measure.warmup_runs = static_cast<int>(warmup);
  s.measure.runs = static_cast<int>(runs);
  s.measure.threads = static_cast<int>(threads);

  QG_ASSIGN_OR_RETURN(auto exp, GetObject(j, "", "export", false));
  QG_RETURN_IF_ERROR(RejectUnknownKeys(exp, "export", {"onnx"}));
  if (exp.contains("onnx")) {
    if (!exp["onnx"].is_boolean()) return Error::InvalidArgument("export.onnx: must be true or false");
    s.export_.onnx = exp["onnx"];
  }
  QG_ASSIGN_OR_RETURN(auto attempts, GetInt(j, "", "max_attempts", 3, 1, 100));
  s.max_attempts = static_cast<int>(attempts);
  QG_ASSIGN_OR_RETURN(s.published, GetObject(j, "", "published", false));
  QG_RETURN_IF_ERROR(ParseSlurmSection(j));  // validated now, read by the Slurm backend
  return s;
}

Result<ExperimentSpec> LoadSpec(const std::string& path, const Catalog& catalog, const std::string& default_engine) {
  QG_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Error::InvalidArgument("spec '{}' is not valid JSON: {}", path, e.what());
  }
  auto spec = ParseSpec(j, catalog, default_engine);
  if (!spec) return spec.error().WithContext(fmt::format("spec '{}'", path));
  return spec;
}

}  // namespace qg::exp
