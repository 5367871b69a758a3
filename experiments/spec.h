// ExperimentSpec: one JSON file that describes a whole study: dataset, model,
// training recipe, seeds, and a grid of quantization strategies x observers x
// calibration sizes x engines x devices, plus how to measure.
//
//   {
//     "name": "paper-004",
//     "dataset": {"name": "fashion-mnist"},
//     "model": {"name": "compact_cnn"},
//     "train": {"epochs": 3, "lr": 0.05},
//     "seeds": [0],
//     "grid": {"strategies": ["fp32", "naive_ptq", {"name": "mpq", "params": {"size_budget": 0.3}}],
//              "observers": ["minmax"], "calibration_sizes": [1000], "engines": ["onednn"]},
//     "measure": {"batch_sizes": [1, 64], "threads": 2}
//   }
//
// Parse validates everything before any work starts; every error names the
// JSON path of the culprit: `grid.strategies[2].observer: unknown "minmx";
// known: minmax, ...`.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"
#include "experiments/catalog.h"
#include "experiments/job_config.h"
#include "experiments/slurm_spec.h"

namespace qg::exp {

struct StrategyEntry {
  std::string name;
  std::string label;  // row label; defaults to the name, must be unique
  nlohmann::json params = nlohmann::json::object();  // as written (resolved per grid cell)
};

struct ExportSpec {
  bool onnx = false;  // export every strategy's model to ONNX and measure it in ONNX Runtime
};


// The dataset block may name a stand-in for when its files are not on this
// machine: "dataset": {"name": "cifar10", "stand_in": {"name": "synthetic",
// "synthetic": {"channels": 3, "size": 32}}}. WithStandIn (spec_variants.h)
// swaps it in, and marks the block with "stands_in_for" so that tables say
// what ran.
inline constexpr std::string_view kStandsInFor = "stands_in_for";

struct ExperimentSpec {
  std::string name;
  std::string description;
  DatasetConfig dataset;
  std::optional<DatasetConfig> stand_in;
  std::string stands_in_for;  // set when `dataset` is a stand-in: the dataset it replaces
  std::string model;  // a registry name, or "onnx" for a user's model file
  std::optional<ImportedModelConfig> imported;
  bool aux_logits = false;
  nlohmann::json recipe;  // resolved training recipe, without the seed
  std::vector<int64_t> seeds{0};
  std::vector<StrategyEntry> strategies;
  std::vector<std::string> observers;         // empty: each strategy's own default
  std::vector<int64_t> calibration_sizes;     // empty: each strategy's own default
  std::vector<int64_t> weight_bits;           // INT8 strategies' weight bit-widths; empty: 8
  std::vector<std::string> weight_granularities;  // "per_tensor", "per_channel"; empty: each strategy's own
  std::vector<std::string> engines;
  std::vector<std::string> devices{"cpu"};
  MeasureConfig measure;
  ExportSpec export_;
  int max_attempts = 3;
  nlohmann::json published;  // optional: the paper's numbers, for `quantgrid reproduce`
  SlurmSection slurm;        // how `submit --backend slurm` asks for its arrays

  nlohmann::json raw;  // the spec as written
};

// Parses and validates. `default_engine` fills an absent grid.engines;
// `base_dir` is where relative model files are found (the spec's folder).
Result<ExperimentSpec> ParseSpec(const nlohmann::json& j, const Catalog& catalog, const std::string& default_engine,
                                 const std::string& base_dir = "");
// Reads a spec file; errors name the file (and the JSON position of a syntax error).
Result<ExperimentSpec> LoadSpec(const std::string& path, const Catalog& catalog, const std::string& default_engine);
// The spec file's JSON; errors name the file.
Result<nlohmann::json> ReadSpecJson(const std::string& path);


}  // namespace qg::exp
