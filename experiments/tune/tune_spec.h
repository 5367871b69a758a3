// TuneSpec: an experiment spec whose "tune" section asks for the best model
// within an accuracy budget instead of every cell of a grid:
//
//   "tune": {
//     "space": {"strategies": ["naive_ptq", "bn_fold"], "observers": ["minmax", "histogram"],
//               "calibration_sizes": [256, 1000], "weight_granularities": ["per_tensor", "per_channel"]},
//     "per_layer": {"params": {}},               // optional: search which layers stay FP32 (MPQ)
//     "constraint": {"max_top1_drop": 1.0},      // or {"min_agreement": 99.0} (top-1 agreement, %)
//     "objective": "latency.cpu.b64",            // "latency.cpu.b<N>", "size", or {"latency.cpu.b64": 0.7, "size": 0.3}
//     "budget": {"max_jobs": 40, "max_minutes": 30},
//     "screen": {"eval_images": 1000, "runs": 20},
//     "halving": 4, "noise": 0.03, "confidence": 2.0
//   }
//
// The space is a grid (the same keys, the same checks); the FP32 row is
// always in it, as the reference of the constraint and the objective. The
// rest of the spec (dataset, model, train, seeds[0], measure) is the full
// fidelity every promoted candidate is measured at, so a grid with the same
// sections shares its jobs (by config hash) with the tune. Errors name the
// JSON path ("tune.space.strategies: must be a non-empty list").
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <utility>
#include <vector>

#include "core/base/result.h"
#include "experiments/catalog.h"
#include "experiments/spec.h"

namespace qg::exp {

struct TuneConstraint {
  // Exactly one is set (>= 0): points of top-1 lost against FP32, or the
  // least top-1 agreement with FP32's predictions (%).
  double max_top1_drop = -1;
  double min_agreement = -1;
  std::string Describe() const;
};

// What the tune minimises: a weighted sum of each term relative to the FP32
// row's (so 0.5 = half FP32's latency or size). A term is "size" or
// "latency.<device>.b<batch>".
struct TuneObjective {
  std::vector<std::pair<std::string, double>> terms;
  // The batch size a latency term times (0 when none does).
  int64_t LatencyBatch() const;
  bool HasLatency() const { return LatencyBatch() > 0; }
  std::string Describe() const;
};

struct TuneBudget {
  int64_t max_jobs = 0;     // 0: no cap beyond the space
  double max_minutes = 0;   // 0: none; when spent, no new wave is promoted
};

struct TuneScreen {
  int64_t eval_images = 1000;  // the validation subset of a screening job
  int runs = 20;               // its short latency run
  int warmup_runs = 5;
};

struct PerLayerSearch {
  bool enabled = false;
  nlohmann::json params = nlohmann::json::object();  // the mpq parameters every per-layer candidate shares
};

struct TuneSpec {
  ExperimentSpec full;    // the space as a grid, measured at full fidelity (seed: the first)
  ExperimentSpec screen;  // the same grid at screening fidelity
  TuneConstraint constraint;
  TuneObjective objective;
  TuneBudget budget;
  TuneScreen screen_options;
  PerLayerSearch per_layer;
  double halving = 4;      // each wave promotes 1/halving of the candidates still in the race
  double noise = 0.03;     // objectives within this fraction of each other are a tie
  double confidence = 2.0; // standard errors of slack on a screening job's top-1 drop
};

// True when the spec JSON has a "tune" section.
bool IsTuneSpec(const nlohmann::json& raw);

// Parses and validates; nothing runs before it succeeds.
Result<TuneSpec> ParseTuneSpec(const nlohmann::json& raw, const Catalog& catalog, const std::string& default_engine,
                               const std::string& base_dir = "");

}  // namespace qg::exp
