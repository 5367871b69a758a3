// Nightly regression checks: an experiment's rows against a stored baseline
// (written by `quantgrid table --format json`), metric by metric, with a
// threshold per metric. A row missing from the current sweep is a regression
// too: a broken job must not pass as "no change".
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/text_table.h"
#include "experiments/report/results.h"

namespace qg::exp {

struct Thresholds {
  double top1_drop = 0.5;          // points of top-1 that may be lost
  double agreement_drop = 1.0;     // points of FP32 agreement that may be lost
  double latency_increase = 0.15;  // fraction the per-image latency may grow
  double size_increase = 0.01;     // fraction the model file may grow
};

struct MetricDiff {
  std::string row;
  std::string metric;
  double baseline = 0;
  double current = 0;
  bool regression = false;
  std::string note;  // "row missing", "+12.0 % (limit +10 %)"
};

struct Comparison {
  std::vector<MetricDiff> diffs;
  int regressions = 0;
};

// The rows as a baseline file: {"experiment", "latency_batch", "rows": [{label, top1, ...}]}.
nlohmann::json BaselineJson(const ResultsView& view);
// InvalidArgument when `baseline` is not a baseline file.
Result<Comparison> Compare(const ResultsView& current, const nlohmann::json& baseline, const Thresholds& thresholds);
TextTable ComparisonTable(const Comparison& comparison);

}  // namespace qg::exp
