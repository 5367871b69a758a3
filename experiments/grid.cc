#include "experiments/grid.h"

#include <fmt/format.h>

#include "core/base/config_hash.h"

namespace qg::exp {
namespace {

using nlohmann::json;

storage::JobRecord Job(std::string key, std::string kind, json config, std::vector<std::string> deps, json resources,
                       int max_attempts) {
  storage::JobRecord j;
  j.key = std::move(key);
  j.kind = std::move(kind);
  j.config = std::move(config);
  j.config_hash = ConfigHash(j.config);
  j.deps = std::move(deps);
  j.resources = std::move(resources);
  j.max_attempts = max_attempts;
  return j;
}

json Resources(int cpus, const std::string& device) { return {{"cpus", cpus}, {"gpus", device == "cuda" ? 1 : 0}}; }

}  // namespace

Result<std::vector<storage::JobRecord>> ExpandGrid(const ExperimentSpec& s, const Catalog& catalog) {
  std::vector<storage::JobRecord> jobs;
  const json measure{{"batch_sizes", s.measure.batch_sizes}, {"eval_limit", s.measure.eval_limit},
                     {"warmup_runs", s.measure.warmup_runs}, {"runs", s.measure.runs},
                     {"threads", s.measure.threads},         {"layer_mse_images", s.measure.layer_mse_images}};
  for (int64_t seed : s.seeds) {
    json recipe = s.recipe;
    recipe["seed"] = seed;
    const std::string train_key = fmt::format("train/seed{}", seed);
    const bool train_on_gpu = s.devices.front() == "cuda";
    auto train = Job(train_key, "train",
                     {{"code", kTrainCodeVersion},
                      {"dataset", s.dataset},
                      {"model", {{"name", s.model}, {"aux_logits", s.aux_logits}}},
                      {"recipe", recipe},
                      {"threads", s.measure.threads},
                      {"device", train_on_gpu ? "cuda" : "cpu"}},
                     {}, Resources(s.measure.threads, train_on_gpu ? "cuda" : "cpu"), s.max_attempts);
    // Data-parallel training: the worker starts this many ranks for the job.
    if (recipe.contains("processes") && recipe["processes"] != 1) {
      train.config["processes"] = recipe["processes"];
      train.config_hash = ConfigHash(train.config);
    }
    const std::string train_hash = train.config_hash;
    jobs.push_back(std::move(train));

    for (const auto& entry : s.strategies) {
      const bool int8 = catalog.IsInt8Strategy(entry.name);
      // The axes that apply to this strategy; an explicit parameter wins over the grid.
      std::vector<std::string> observers{""};
      std::vector<int64_t> sizes{0};
      std::vector<std::string> engines{""};
      if (int8) {
        if (!s.observers.empty() && !entry.params.contains("observer")) observers = s.observers;
        if (!s.calibration_sizes.empty() && !entry.params.contains("calibration_size")) sizes = s.calibration_sizes;
        engines = s.engines;
      }
      for (const auto& device : s.devices) {
        if (int8 && device != "cpu") continue;
        for (const auto& observer : observers) {
          for (int64_t size : sizes) {
            for (const auto& engine : engines) {
              json params = entry.params;
              if (!observer.empty()) params["observer"] = observer;
              if (size > 0) params["calibration_size"] = size;
              const std::string path = fmt::format("grid.strategies[{}]", &entry - s.strategies.data());
              QG_ASSIGN_OR_RETURN(json resolved, catalog.ResolveStrategyParams(entry.name, params, path));
              std::string key = "quantize/" + entry.label;
              if (int8) {
                key += fmt::format("/{}/c{}/{}", resolved.value("observer", "default"),
                                   resolved.value("calibration_size", int64_t{0}), engine);
              }
              key += fmt::format("/{}/seed{}", device, seed);
              auto quantize = Job(key, "quantize",
                                  {{"code", kQuantizeCodeVersion},
                                   {"dataset", s.dataset},
                                   {"strategy", entry.name},
                                   {"label", entry.label},
                                   {"params", resolved},
                                   {"engine", engine},
                                   {"device", device},
                                   {"measure", measure},
                                   {"seed", seed},
                                   {"train_hash", train_hash}},
                                  {train_key}, Resources(s.measure.threads, device), s.max_attempts);
              const std::string quantize_hash = quantize.config_hash;
              jobs.push_back(std::move(quantize));
              // ONNX Runtime is measured on the CPU, from FP32 and QDQ INT8
              // graphs: FP16 models and the other devices' copies are not exported.
              if (s.export_.onnx && entry.name != "fp16" && device == "cpu") {
                jobs.push_back(Job("export/" + key.substr(std::string("quantize/").size()), "export",
                                   {{"code", kExportCodeVersion},
                                    {"dataset", s.dataset},
                                    {"strategy", entry.name},
                                    {"label", entry.label},
                                    {"params", resolved},
                                    {"engine", engine},
                                    {"device", "cpu"},
                                    {"seed", seed},
                                    {"measure", measure},
                                    {"quantize_hash", quantize_hash},
                                    {"train_hash", train_hash}},
                                   {key}, Resources(s.measure.threads, "cpu"), s.max_attempts));
              }
            }
          }
        }
      }
    }
  }
  return jobs;
}

}  // namespace qg::exp
