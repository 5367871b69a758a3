// Nightly regression checks: an experiment's rows against a stored baseline
// (written by `quantgrid table --format json`), metric by metric. Each
// metric's threshold comes from the noise both sides measured where they
// measured it (latency replicates' bootstrap intervals, top-1 spread over
// seeds), with a fixed floor; a fixed limit where neither side has a spread.
// A row missing from the current sweep is a regression too: a broken job
// must not pass as "no change".
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/text_table.h"
#include "experiments/report/results.h"

namespace qg::exp {

struct Thresholds {
  // Fixed limits, used where a metric has no measured spread.
  double top1_drop = 0.5;          // points of top-1 that may be lost
  double agreement_drop = 1.0;     // points of FP32 agreement that may be lost
  double latency_increase = 0.15;  // fraction the per-image latency may grow
  double size_increase = 0.01;     // fraction the model file may grow
  // Fraction a row's paired speedup over its own runtime's FP32 may fall. Both
  // sides timed alternately in one job, so a slow night cancels out of it: it
  // catches a row that got slower while FP32 did not, inside the latency limit.
  double speedup_drop = 0.10;
  // With a spread: a change is a regression past max(floor, spread limit).
  // Latency: the two 95 % intervals' half-widths added (the intervals stop
  // overlapping), as a fraction of the baseline. Top-1: `sigmas` standard
  // errors of the difference of the two seed means.
  double latency_floor = 0.03;  // fraction
  double top1_floor = 0.2;      // points
  double sigmas = 3.0;
  // Latency and speedups depend on the machine: where both sides name the
  // machines that timed a row (ResultRow::timed_on) and those differ, they
  // are left out ("not compared") unless this is set.
  bool across_machines = false;
};

struct MetricDiff {
  std::string row;
  std::string metric;
  double baseline = 0;
  double current = 0;
  bool regression = false;
  std::string note;  // "row missing", "+12.0 % (limit +4.1 % from replicates)"
  // For a regression: both sides' intervals, and the layer whose output MSE
  // against FP32 moved most (when both sides stored layer MSEs).
  std::string intervals;
  std::string moved_layer;
  bool compared = true;  // false: a timing from another machine than the baseline's
};

struct Comparison {
  std::vector<MetricDiff> diffs;
  int regressions = 0;
  int not_compared = 0;  // timing metrics left out: timed on another machine than the baseline
};

// The rows as a baseline file: {"experiment", "latency_batch", "fastest_fp32"
// (by device, for devices one machine timed), "fastest_fp32_per_machine"
// (each with device and timed_on), "rows": [{label, top1, top1_std, seeds,
// latency_ms, latency_ci, speedup, speedup_own, speedup_own_paired, timed_on,
// layer_mse, ...}]}.
nlohmann::json BaselineJson(const ResultsView& view);
// InvalidArgument when `baseline` is not a baseline file.
Result<Comparison> Compare(const ResultsView& current, const nlohmann::json& baseline, const Thresholds& thresholds);
TextTable ComparisonTable(const Comparison& comparison);

}  // namespace qg::exp
