#include "experiments/spec_variants.h"

#include <algorithm>
#include <set>
#include <string>

#include "experiments/spec.h"

namespace qg::exp {
namespace {

using json = nlohmann::json;

constexpr int64_t kSmokeImages = 32;
constexpr int64_t kSmokeMaxBatch = 8;
constexpr int64_t kSmokeMaxSize = 96;

void Rename(json& raw, const std::string& suffix) {
  if (raw.contains("name") && raw["name"].is_string()) raw["name"] = raw["name"].get<std::string>() + "-" + suffix;
}

// Lowers an integer field to at most `cap` (absent: set to `cap`).
void Cap(json& object, const char* key, int64_t cap) {
  if (!object.is_object()) return;
  if (!object.contains(key) || !object[key].is_number_integer()) {
    object[key] = cap;
    return;
  }
  object[key] = std::min(object[key].get<int64_t>(), cap);
}

void ShrinkSynthetic(json& dataset) {
  if (!dataset.is_object() || dataset.value("name", "") != "synthetic") return;
  json& shape = dataset["synthetic"];
  if (!shape.is_object()) shape = json::object();
  Cap(shape, "train", 2 * kSmokeImages);
  Cap(shape, "test", kSmokeImages);
  // Large synthetic images (Inception's 299) shrink to what the model still
  // takes (Inception needs 75): the same layers, a tenth of the work.
  if (shape.contains("size") && shape["size"].is_number_integer() && shape["size"].get<int64_t>() > kSmokeMaxSize) {
    shape["size"] = kSmokeMaxSize;
  }
}

// A strategy's own sizes, cut for a smoke run (the names its Read() takes;
// the calibration size is the grid's axis).
json SmokeParams(const std::string& strategy) {
  json p = json::object();
  if (strategy == "mpq") {
    p["selection_size"] = kSmokeImages;
    p["sensitivity_size"] = 16;
  } else if (strategy == "qat") {
    p["epochs"] = 1;
    p["max_steps_per_epoch"] = 2;
  } else if (strategy == "adaround") {
    p["adaround_iterations"] = 10;
    p["adaround_images"] = 16;
  }
  return p;
}

}  // namespace

json WithStandIn(const json& raw) {
  if (!raw.is_object() || !raw.contains("dataset") || !raw["dataset"].is_object() ||
      !raw["dataset"].contains("stand_in") || !raw["dataset"]["stand_in"].is_object()) {
    return raw;
  }
  json out = raw;
  json stand_in = raw["dataset"]["stand_in"];
  stand_in[std::string(kStandsInFor)] = raw["dataset"].value("name", "");
  Rename(out, stand_in.value("name", "stand-in"));
  out["dataset"] = std::move(stand_in);
  return out;
}

json Smoke(const json& raw) {
  if (!raw.is_object()) return raw;
  json out = raw;
  Rename(out, "smoke");
  if (out.contains("dataset") && out["dataset"].is_object()) {
    ShrinkSynthetic(out["dataset"]);
    if (out["dataset"].contains("stand_in")) ShrinkSynthetic(out["dataset"]["stand_in"]);
  }
  if (out.contains("train") && out["train"].is_object()) {
    json& t = out["train"];
    if (!t.contains("epochs") || !t["epochs"].is_number_integer() || t["epochs"].get<int64_t>() > 0) t["epochs"] = 1;
    t["max_steps_per_epoch"] = 2;
    Cap(t, "batch_size", 16);
    t["val_size"] = 0;
  }
  json& measure = out["measure"];
  if (!measure.is_object()) measure = json::object();
  Cap(measure, "eval_limit", kSmokeImages);
  if (measure["eval_limit"].get<int64_t>() == 0) measure["eval_limit"] = kSmokeImages;
  measure["warmup_runs"] = 1;
  measure["runs"] = 2;
  Cap(measure, "layer_mse_images", 4);
  std::set<int64_t> batches;
  for (const auto& b : measure.value("batch_sizes", json::array({1, 64}))) {
    if (b.is_number_integer()) batches.insert(std::min(b.get<int64_t>(), kSmokeMaxBatch));
  }
  measure["batch_sizes"] = batches;
  if (out.contains("grid") && out["grid"].is_object()) {
    json& grid = out["grid"];
    grid["calibration_sizes"] = json::array({kSmokeImages});
    if (grid.contains("strategies") && grid["strategies"].is_array()) {
      for (json& entry : grid["strategies"]) {
        if (entry.is_string()) entry = json{{"name", entry}};
        if (!entry.is_object() || !entry.contains("name") || !entry["name"].is_string()) continue;
        json& params = entry["params"];
        if (!params.is_object()) params = json::object();
        params.update(SmokeParams(entry["name"].get<std::string>()));
        if (params.contains("calibration_size")) params["calibration_size"] = kSmokeImages;
        if (params.empty()) entry.erase("params");
      }
    }
  }
  return out;
}

}  // namespace qg::exp
