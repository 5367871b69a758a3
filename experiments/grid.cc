#include "experiments/grid.h"

#include <fmt/format.h>

#include "core/base/config_hash.h"

namespace qg::exp {
namespace {

using nlohmann::json;

storage::JobRecord Job(std::string key, JobKind kind, json config, std::vector<std::string> deps, int cpus,
                       const std::string& device, int max_attempts) {
  storage::JobRecord j;
  j.key = std::move(key);
  j.kind = std::string(JobKindName(kind));
  j.config = std::move(config);
  j.config_hash = ConfigHash(j.config);
  j.deps = std::move(deps);
  j.resources = {{"cpus", cpus}, {"gpus", device == "cuda" ? 1 : 0}};
  j.max_attempts = max_attempts;
  return j;
}

storage::JobRecord TrainJob(const ExperimentSpec& s, int64_t seed) {
  TrainConfig c{.dataset = s.dataset, .model = s.model, .aux_logits = s.aux_logits, .imported = s.imported,
                .recipe = s.recipe};
  c.recipe["seed"] = seed;
  c.threads = s.measure.threads;
  c.device = s.devices.front() == "cuda" ? "cuda" : "cpu";
  // Data-parallel training: the worker starts this many ranks for the job.
  if (c.recipe.contains("processes")) c.processes = c.recipe["processes"].get<int64_t>();
  return Job(fmt::format("train/seed{}", seed), JobKind::kTrain, c.ToJson(), {}, s.measure.threads, c.device,
             s.max_attempts);
}

// One grid cell: a strategy with one value of each axis that applies to it.
struct Cell {
  const StrategyEntry* entry;
  std::string observer;  // "" : the strategy's own
  int64_t calibration_size = 0;
  int64_t weight_bits = 0;  // 0: the strategy's own (8)
  std::string granularity;  // "" : the strategy's own
  std::string engine;
  std::string device;
};

// The cells of one strategy: INT8 strategies take observers, calibration
// sizes and engines (an explicit parameter wins over the grid) and run on the
// CPU only; fp32 and fp16 run on every device.
std::vector<Cell> CellsOf(const ExperimentSpec& s, const StrategyEntry& entry, bool int8) {
  std::vector<std::string> observers{""};
  std::vector<int64_t> sizes{0};
  std::vector<int64_t> bits{0};
  std::vector<std::string> granularities{""};
  std::vector<std::string> engines{""};
  if (int8) {
    if (!s.observers.empty() && !entry.params.contains("observer")) observers = s.observers;
    if (!s.calibration_sizes.empty() && !entry.params.contains("calibration_size")) sizes = s.calibration_sizes;
    if (!s.weight_bits.empty() && !entry.params.contains("weight_bits")) bits = s.weight_bits;
    if (!s.weight_granularities.empty() && !entry.params.contains("weight_granularity")) {
      granularities = s.weight_granularities;
    }
    engines = s.engines;
  }
  // The weight axes, flattened: (bits, granularity) pairs.
  std::vector<std::pair<int64_t, std::string>> weights;
  for (int64_t b : bits) {
    for (const auto& g : granularities) weights.emplace_back(b, g);
  }
  std::vector<Cell> cells;
  for (const auto& device : s.devices) {
    if (int8 && device != "cpu") continue;
    for (const auto& observer : observers) {
      for (int64_t size : sizes) {
        for (const auto& [b, g] : weights) {
          for (const auto& engine : engines) cells.push_back({&entry, observer, size, b, g, engine, device});
        }
      }
    }
  }
  return cells;
}

Result<QuantizeConfig> CellConfig(const ExperimentSpec& s, const Cell& cell, const Catalog& catalog, int64_t seed,
                                  const std::string& train_hash) {
  json params = cell.entry->params;
  if (!cell.observer.empty()) params["observer"] = cell.observer;
  if (cell.calibration_size > 0) params["calibration_size"] = cell.calibration_size;
  if (cell.weight_bits > 0) params["weight_bits"] = cell.weight_bits;
  if (!cell.granularity.empty()) params["weight_granularity"] = cell.granularity;
  const std::string path = fmt::format("grid.strategies[{}]", cell.entry - s.strategies.data());
  QG_ASSIGN_OR_RETURN(json resolved, catalog.ResolveStrategyParams(cell.entry->name, params, path));
  return QuantizeConfig{.dataset = s.dataset, .strategy = cell.entry->name, .label = cell.entry->label,
                        .params = resolved, .engine = cell.engine, .device = cell.device, .measure = s.measure,
                        .seed = seed, .train_hash = train_hash};
}

// "quantize/<label>[/<observer>/c<N>[/w<bits>][/<granularity>]/<engine>]/<device>/seed<S>"
// (the weight parts only from the grid's weight axes, so older keys stay).
std::string CellKey(const QuantizeConfig& c, const Cell& cell, bool int8) {
  std::string key = "quantize/" + c.label;
  if (int8) {
    key += fmt::format("/{}/c{}", c.params.value("observer", "default"), c.params.value("calibration_size", int64_t{0}));
    if (cell.weight_bits > 0) key += fmt::format("/w{}", cell.weight_bits);
    if (!cell.granularity.empty()) key += "/" + cell.granularity;
    key += "/" + c.engine;
  }
  return key + fmt::format("/{}/seed{}", c.device, c.seed);
}

}  // namespace

storage::JobRecord QuantizeJobOf(const ExperimentSpec& s, std::string key, const QuantizeConfig& q,
                                 const std::string& train_key) {
  return Job(std::move(key), JobKind::kQuantize, q.ToJson(), {train_key}, s.measure.threads, q.device, s.max_attempts);
}

storage::JobRecord RaceJobOf(const ExperimentSpec& s, std::string key, const RaceConfig& r) {
  return Job(std::move(key), JobKind::kRace, r.ToJson(), {r.a_key, r.b_key}, s.measure.threads, "cpu", s.max_attempts);
}

Result<std::vector<storage::JobRecord>> ExpandGrid(const ExperimentSpec& s, const Catalog& catalog) {
  std::vector<storage::JobRecord> jobs;
  for (int64_t seed : s.seeds) {
    jobs.push_back(TrainJob(s, seed));
    const std::string train_key = jobs.back().key, train_hash = jobs.back().config_hash;
    for (const auto& entry : s.strategies) {
      const bool int8 = catalog.IsInt8Strategy(entry.name);
      for (const Cell& cell : CellsOf(s, entry, int8)) {
        QG_ASSIGN_OR_RETURN(QuantizeConfig q, CellConfig(s, cell, catalog, seed, train_hash));
        const std::string key = CellKey(q, cell, int8);
        jobs.push_back(QuantizeJobOf(s, key, q, train_key));
        // ONNX Runtime is measured on the CPU, from FP32, FP16 and QDQ INT8
        // graphs: the other devices' copies are not exported.
        if (s.export_.onnx && q.device == "cpu") {
          const ExportConfig e{.quantize = q, .quantize_hash = jobs.back().config_hash};
          jobs.push_back(Job("export/" + key.substr(std::string("quantize/").size()), JobKind::kExport, e.ToJson(),
                             {key}, s.measure.threads, "cpu", s.max_attempts));
          // ONNX Runtime's u8 x s8 kernels and latencies belong to the CPU: the
          // export runs where the model was quantized when such a worker is here.
          jobs.back().resources["same_cpu_as"] = key;
        }
      }
    }
  }
  return jobs;
}

}  // namespace qg::exp
