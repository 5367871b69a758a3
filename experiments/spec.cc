#include "experiments/spec.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "core/base/files.h"
#include "core/base/sha256.h"
#include "core/base/json_fields.h"

namespace qg::exp {
namespace {

using nlohmann::json;

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Every element of `values` must be one of `known`: "<field>[i]: unknown ...".
Status CheckEach(const std::vector<std::string>& values, const std::vector<std::string>& known,
                 const std::string& field, const char* why = "unknown \"{}\"; known: {}") {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!Contains(known, values[i])) {
      return Error::InvalidArgument("{}[{}]: {}", field, i, fmt::format(fmt::runtime(why), values[i], fmt::join(known, ", ")));
    }
  }
  return OkStatus();
}

Result<StrategyEntry> ParseStrategy(const json& item, const std::string& path, const Catalog& catalog) {
  StrategyEntry e;
  if (item.is_string()) {
    e.name = item.get<std::string>();
    if (!Contains(catalog.Strategies(), e.name)) {
      return Error::InvalidArgument("{}: unknown strategy \"{}\"; known: {}", path, e.name,
                                    fmt::join(catalog.Strategies(), ", "));
    }
  } else if (item.is_object()) {
    JsonFields f(item, path);
    QG_RETURN_IF_ERROR(f.AllowOnly({"name", "label", "params"}));
    QG_ASSIGN_OR_RETURN(e.name, f.Choice("name", "", catalog.Strategies(), /*required=*/true));
    QG_ASSIGN_OR_RETURN(e.label, f.String("label"));
    QG_ASSIGN_OR_RETURN(e.params, f.Object("params"));
  } else {
    return Error::InvalidArgument("{}: must be a strategy name or an object with \"name\"", path);
  }
  if (e.label.empty()) e.label = e.name;
  // Check the parameters now (each grid cell re-resolves with its observer/size).
  QG_RETURN_IF_ERROR(catalog.ResolveStrategyParams(e.name, e.params, path));
  return e;
}

Result<std::vector<StrategyEntry>> ParseStrategies(const json& grid, const Catalog& catalog) {
  if (!grid.contains("strategies")) return Error::InvalidArgument("grid.strategies: required");
  const auto& list = grid["strategies"];
  if (!list.is_array() || list.empty()) return Error::InvalidArgument("grid.strategies: must be a non-empty list");
  std::vector<StrategyEntry> out;
  std::set<std::string> labels;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = fmt::format("grid.strategies[{}]", i);
    QG_ASSIGN_OR_RETURN(StrategyEntry e, ParseStrategy(list[i], path, catalog));
    if (!labels.insert(e.label).second) {
      return Error::InvalidArgument("{}: label \"{}\" is used twice; give this entry its own \"label\"", path, e.label);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Status ParseGrid(JsonFields& spec_fields, const Catalog& catalog, const std::string& default_engine,
                 ExperimentSpec& s) {
  QG_ASSIGN_OR_RETURN(auto grid, spec_fields.Object("grid", /*required=*/true));
  JsonFields f(grid, "grid");
  QG_RETURN_IF_ERROR(f.AllowOnly(
      {"strategies", "observers", "calibration_sizes", "weight_bits", "weight_granularities", "engines", "devices"}));
  QG_ASSIGN_OR_RETURN(s.strategies, ParseStrategies(grid, catalog));
  QG_ASSIGN_OR_RETURN(s.observers, f.Strings("observers", {}, /*non_empty=*/true));
  QG_RETURN_IF_ERROR(CheckEach(s.observers, catalog.Observers(), "grid.observers"));
  QG_ASSIGN_OR_RETURN(s.calibration_sizes, f.Integers("calibration_sizes", {}, /*non_empty=*/true));
  for (size_t i = 0; i < s.calibration_sizes.size(); ++i) {
    if (s.calibration_sizes[i] <= 0) {
      return Error::InvalidArgument("grid.calibration_sizes[{}]: {} must be positive", i, s.calibration_sizes[i]);
    }
  }
  QG_ASSIGN_OR_RETURN(s.weight_bits, f.Integers("weight_bits", {}, /*non_empty=*/true));
  for (size_t i = 0; i < s.weight_bits.size(); ++i) {
    if (s.weight_bits[i] < 2 || s.weight_bits[i] > 8) {
      return Error::InvalidArgument("grid.weight_bits[{}]: {} is outside [2, 8]", i, s.weight_bits[i]);
    }
  }
  QG_ASSIGN_OR_RETURN(s.weight_granularities, f.Strings("weight_granularities", {}, /*non_empty=*/true));
  QG_RETURN_IF_ERROR(CheckEach(s.weight_granularities, {"per_tensor", "per_channel"}, "grid.weight_granularities"));
  QG_ASSIGN_OR_RETURN(s.engines, f.Strings("engines", {default_engine}, /*non_empty=*/true));
  QG_RETURN_IF_ERROR(CheckEach(s.engines, catalog.Engines(), "grid.engines",
                               "\"{}\" is not in this LibTorch build; supported: {}"));
  QG_ASSIGN_OR_RETURN(s.devices, f.Strings("devices", {"cpu"}, /*non_empty=*/true));
  return CheckEach(s.devices, {"cpu", "cuda"}, "grid.devices");
}

// "model": {"onnx": "path.onnx", "input": {...}}: a user's model file,
// relative to the spec's folder; its sha256 is read now.
Result<ImportedModelConfig> ParseImportedModel(JsonFields& m, const std::string& base_dir) {
  ImportedModelConfig imported;
  QG_ASSIGN_OR_RETURN(std::string path, m.RequiredString("onnx"));
  std::filesystem::path file(path);
  if (file.is_relative() && !base_dir.empty()) file = std::filesystem::path(base_dir) / file;
  imported.path = std::filesystem::absolute(file).lexically_normal().string();
  auto sha = Sha256File(imported.path);
  if (!sha) return Error::NotFound("model.onnx: cannot read '{}': {}", imported.path, sha.error().message);
  imported.sha256 = *sha;
  QG_ASSIGN_OR_RETURN(json input, m.Object("input"));
  QG_ASSIGN_OR_RETURN(imported.input, ModelInput::FromJson(input, "model.input"));
  return imported;
}

Status ParseModelAndRecipe(JsonFields& f, const Catalog& catalog, const std::string& base_dir, ExperimentSpec& s) {
  QG_ASSIGN_OR_RETURN(auto model, f.Object("model", /*required=*/true));
  JsonFields m(model, "model");
  QG_RETURN_IF_ERROR(m.AllowOnly({"name", "aux_logits", "onnx", "input"}));
  if (m.Has("onnx")) {
    if (m.Has("name")) return Error::InvalidArgument("model: give a \"name\" or an \"onnx\" file, not both");
    QG_ASSIGN_OR_RETURN(s.imported, ParseImportedModel(m, base_dir));
    s.model = "onnx";
  } else {
    if (m.Has("input")) return Error::InvalidArgument("model.input: is for an \"onnx\" model file");
    QG_ASSIGN_OR_RETURN(s.model, m.Choice("name", "", catalog.Models(), /*required=*/true));
  }
  QG_ASSIGN_OR_RETURN(s.aux_logits, m.Flag("aux_logits", false));

  QG_ASSIGN_OR_RETURN(auto train, f.Object("train"));
  if (train.contains("seed")) return Error::InvalidArgument("train.seed: set seeds with the top-level \"seeds\" list");
  // An imported model comes trained: without a "train" section it is only
  // imported (0 epochs); with one it is fine-tuned from its weights.
  if (s.imported && !train.contains("epochs")) train["epochs"] = 0;
  QG_ASSIGN_OR_RETURN(s.recipe, catalog.ResolveRecipe(train, "train"));
  s.recipe.erase("seed");
  QG_ASSIGN_OR_RETURN(s.seeds, f.Integers("seeds", {0}, /*non_empty=*/true));
  return OkStatus();
}

}  // namespace

Result<ExperimentSpec> ParseSpec(const json& j, const Catalog& catalog, const std::string& default_engine,
                                 const std::string& base_dir) {
  if (!j.is_object()) return Error::InvalidArgument("spec: must be a JSON object");
  JsonFields f(j, "");
  QG_RETURN_IF_ERROR(f.AllowOnly({"name", "description", "dataset", "model", "train", "seeds", "grid", "measure",
                                  "export", "max_attempts", "published", "slurm"}));
  ExperimentSpec s;
  s.raw = j;
  QG_ASSIGN_OR_RETURN(s.name, f.RequiredString("name"));
  if (s.name.empty() || s.name.find_first_of("/ \t\n") != std::string::npos) {
    return Error::InvalidArgument("name: \"{}\" must be non-empty, without spaces or '/'", s.name);
  }
  QG_ASSIGN_OR_RETURN(s.description, f.String("description"));
  QG_ASSIGN_OR_RETURN(auto dataset, f.Object("dataset", /*required=*/true));
  const auto datasets = catalog.Datasets();
  if (dataset.contains("stand_in")) {
    if (!dataset["stand_in"].is_object()) return Error::InvalidArgument("dataset.stand_in: must be an object");
    QG_ASSIGN_OR_RETURN(s.stand_in, DatasetConfig::FromJson(dataset["stand_in"], "dataset.stand_in", &datasets));
    dataset.erase("stand_in");
  }
  if (const std::string key(kStandsInFor); dataset.contains(key)) {
    if (!dataset[key].is_string()) return Error::InvalidArgument("dataset.{}: must be a string", key);
    s.stands_in_for = dataset[key].get<std::string>();
    dataset.erase(key);
  }
  QG_ASSIGN_OR_RETURN(s.dataset, DatasetConfig::FromJson(dataset, "dataset", &datasets));
  QG_RETURN_IF_ERROR(ParseModelAndRecipe(f, catalog, base_dir, s));
  QG_RETURN_IF_ERROR(ParseGrid(f, catalog, default_engine, s));
  QG_ASSIGN_OR_RETURN(auto measure, f.Object("measure"));
  QG_ASSIGN_OR_RETURN(s.measure, MeasureConfig::FromJson(measure, "measure"));
  QG_ASSIGN_OR_RETURN(auto exp, f.Object("export"));
  JsonFields e(exp, "export");
  QG_RETURN_IF_ERROR(e.AllowOnly({"onnx"}));
  QG_ASSIGN_OR_RETURN(s.export_.onnx, e.Flag("onnx", false));
  QG_ASSIGN_OR_RETURN(auto attempts, f.Integer("max_attempts", s.max_attempts, 1, 100));
  s.max_attempts = static_cast<int>(attempts);
  QG_ASSIGN_OR_RETURN(s.published, f.Object("published"));
  QG_ASSIGN_OR_RETURN(s.slurm, ParseSlurmSection(j));
  return s;
}

Result<nlohmann::json> ReadSpecJson(const std::string& path) {
  QG_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Error::InvalidArgument("spec '{}' is not valid JSON: {}", path, e.what());
  }
}

Result<ExperimentSpec> LoadSpec(const std::string& path, const Catalog& catalog, const std::string& default_engine) {
  QG_ASSIGN_OR_RETURN(nlohmann::json j, ReadSpecJson(path));
  auto spec = ParseSpec(j, catalog, default_engine, std::filesystem::path(path).parent_path().string());
  if (!spec) return spec.error().WithContext(fmt::format("spec '{}'", path));
  return spec;
}

}  // namespace qg::exp
