#include "experiments/report/regression.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "experiments/job_config.h"

namespace qg::exp {
namespace {

using nlohmann::json;

// layer -> relative MSE against FP32, from the row's first run.
json LayerMse(const ResultRow& r) {
  json out = json::object();
  if (r.runs.empty()) return out;
  const auto it = r.runs.front()->documents.find(document::kLayerMse);
  if (it == r.runs.front()->documents.end() || !it->second.is_array()) return out;
  for (const auto& l : it->second) {
    if (l.is_object() && l.contains("layer") && l.contains("relative_mse") && l["relative_mse"].is_number()) {
      out[l["layer"].get<std::string>()] = l["relative_mse"];
    }
  }
  return out;
}

// "layer fc1: relative MSE 1.2e-04 -> 3.4e-03" for the layer whose MSE grew
// by the largest factor; "" when either side has none.
std::string MostMovedLayer(const json& baseline, const json& current) {
  std::string best;
  double best_ratio = 1.0;
  for (const auto& [layer, now] : current.items()) {
    if (!baseline.contains(layer) || !baseline[layer].is_number()) continue;
    const double before = baseline[layer].get<double>(), after = now.get<double>();
    const double ratio = (after + 1e-12) / (before + 1e-12);
    if (best.empty() || ratio > best_ratio) {
      best_ratio = ratio;
      best = fmt::format("layer {}: relative MSE {:.3g} -> {:.3g}", layer, before, after);
    }
  }
  return best;
}

double Number(const json& j, const char* key, double fallback = 0) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : fallback;
}

// One metric of one row: the change, its limit and why.
class RowCheck {
 public:
  RowCheck(const json& base, const ResultRow& row, const Thresholds& t, Comparison& out)
      : base_(base), row_(row), t_(t), out_(out), label_(row.label) {}

  void Top1() {
    if (!base_.contains("top1") || row_.top1.n == 0) return;
    const double b = Number(base_, "top1"), drop = b - row_.top1.mean;
    const double bs = Number(base_, "top1_std"), bn = Number(base_, "seeds", 1);
    double limit = t_.top1_drop;
    std::string why = "fixed";
    if (bn >= 2 && row_.top1.n >= 2) {  // spread over seeds on both sides
      const double se = std::sqrt(bs * bs / bn + row_.top1.std * row_.top1.std / row_.top1.n);
      limit = std::max(t_.top1_floor, t_.sigmas * se);
      why = fmt::format("{:.0f} standard errors over seeds", t_.sigmas);
    }
    Add("top1", b, row_.top1.mean, drop > limit,
        fmt::format("{:+.2f} points (limit -{:.2f}, {})", -drop, limit, why),
        fmt::format("baseline {:.2f} ± {:.2f} ({} seeds), now {:.2f} ± {:.2f} ({} seeds)", b, bs, bn, row_.top1.mean,
                    row_.top1.std, row_.top1.n));
  }

  void Agreement() {
    if (!base_.contains("agreement") || row_.agreement.n == 0) return;
    const double b = Number(base_, "agreement"), drop = b - row_.agreement.mean;
    Add("agreement", b, row_.agreement.mean, drop > t_.agreement_drop,
        fmt::format("{:+.2f} points (limit -{:.2f})", -drop, t_.agreement_drop), "");
  }

  void Latency() {
    if (!base_.contains("latency_ms") || row_.latency_ms.n == 0) return;
    if (!SameMachines("latency_ms", row_.latency_ms.mean)) return;
    const double b = Number(base_, "latency_ms"), now = row_.latency_ms.mean;
    const double change = (now - b) / std::max(std::abs(b), 1e-12);
    double limit = t_.latency_increase;
    std::string why = "fixed";
    const bool base_ci = base_.contains("latency_ci") && base_["latency_ci"].is_array() &&
                         base_["latency_ci"].size() == 2;
    const bool now_ci = row_.latency_ci_high > 0;
    std::string intervals = fmt::format("baseline {:.4g}, now {:.4g} ms/img", b, now);
    if (base_ci && now_ci) {
      const double blo = base_["latency_ci"][0].get<double>(), bhi = base_["latency_ci"][1].get<double>();
      const double spread = ((bhi - blo) / 2 + (row_.latency_ci_high - row_.latency_ci_low) / 2) / b;
      limit = std::max(t_.latency_floor, spread);
      why = "from replicates";
      intervals = fmt::format("baseline {:.4g} [{:.4g}, {:.4g}], now {:.4g} [{:.4g}, {:.4g}] ms/img", b, blo, bhi, now,
                              row_.latency_ci_low, row_.latency_ci_high);
    }
    Add("latency_ms", b, now, change > limit,
        fmt::format("{:+.1f} % (limit +{:.1f} %, {})", change * 100, limit * 100, why), intervals);
  }

  // Only where both sides timed the row alternately with FP32 in its own
  // jobs: a ratio of latencies from different jobs is no better than Latency().
  void SpeedupOwn() {
    if (!base_.value("speedup_own_paired", false) || !row_.paired_speedup || row_.speedup_own <= 0) return;
    if (!SameMachines("speedup_own", row_.speedup_own)) return;
    const double b = Number(base_, "speedup_own");
    if (b <= 0) return;
    const double change = (row_.speedup_own - b) / b;
    Add("speedup_own", b, row_.speedup_own, -change > t_.speedup_drop,
        fmt::format("{:+.1f} % (limit -{:.1f} %, paired with FP32 in each job)", change * 100, t_.speedup_drop * 100),
        fmt::format("baseline {:.2f}x, now {:.2f}x over the row's own FP32, timed alternately", b, row_.speedup_own));
  }

  void Size() {
    if (!base_.contains("size_mb") || row_.size_mb.n == 0) return;
    const double b = Number(base_, "size_mb"), change = (row_.size_mb.mean - b) / std::max(std::abs(b), 1e-12);
    Add("size_mb", b, row_.size_mb.mean, change > t_.size_increase,
        fmt::format("{:+.1f} % (limit +{:.1f} %)", change * 100, t_.size_increase * 100), "");
  }

 private:
  // Whether `metric`, a timing, may be compared: false, and noted as not
  // compared, where both sides name their machines and those differ (a VM
  // moved to another CPU is not a regression, nor its end).
  bool SameMachines(const char* metric, double now_value) {
    if (t_.across_machines || !base_.contains("timed_on") || !base_["timed_on"].is_array() || row_.timed_on.empty()) {
      return true;
    }
    std::set<std::string> before;
    for (const auto& m : base_["timed_on"]) {
      if (m.is_string()) before.insert(m.get<std::string>());
    }
    const std::set<std::string> now(row_.timed_on.begin(), row_.timed_on.end());
    if (before.empty() || before == now) return true;
    out_.diffs.push_back({label_, metric, Number(base_, metric), now_value, false,
                          fmt::format("not compared: the baseline was timed on {}, this sweep on {} "
                                      "(--across-machines compares them)",
                                      fmt::join(before, "; "), fmt::join(now, "; ")),
                          "", "", false});
    ++out_.not_compared;
    return false;
  }

  void Add(const char* metric, double b, double now, bool regression, std::string note, std::string intervals) {
    MetricDiff d{label_, metric, b, now, regression, std::move(note)};
    if (regression) {
      d.intervals = std::move(intervals);
      d.moved_layer = MostMovedLayer(base_.value("layer_mse", json::object()), LayerMse(row_));
    }
    out_.regressions += regression;
    out_.diffs.push_back(std::move(d));
  }

  const json& base_;
  const ResultRow& row_;
  const Thresholds& t_;
  Comparison& out_;
  std::string label_;
};

}  // namespace

json BaselineJson(const ResultsView& view) {
  json rows = json::array();
  for (const auto& r : view.rows) {
    json row{{"label", r.label}, {"strategy", r.strategy}, {"runtime", r.runtime}, {"seeds", r.seeds}};
    if (r.top1.n) {
      row["top1"] = r.top1.mean;
      row["top1_std"] = r.top1.std;
    }
    if (r.top5.n) row["top5"] = r.top5.mean;
    if (r.latency_ms.n) row["latency_ms"] = r.latency_ms.mean;
    if (r.latency_ci_high > 0) row["latency_ci"] = {r.latency_ci_low, r.latency_ci_high};
    if (r.speedup > 0) row["speedup"] = r.speedup;
    if (r.speedup_own > 0) row["speedup_own"] = r.speedup_own;
    if (r.paired_speedup) row["speedup_own_paired"] = true;
    if (r.size_mb.n) row["size_mb"] = r.size_mb.mean;
    if (r.agreement.n) row["agreement"] = r.agreement.mean;
    if (!r.saturating_layers.empty()) row["saturating_layers"] = r.saturating_layers;
    if (!r.timed_on.empty()) row["timed_on"] = r.timed_on;
    if (json mse = LayerMse(r); !mse.empty()) row["layer_mse"] = std::move(mse);
    rows.push_back(std::move(row));
  }
  // By device where one machine timed it (as before machines were named),
  // and every machine's in a list.
  json fastest = json::object(), per_machine = json::array();
  for (const auto& b : view.fastest_fp32) {
    json entry = {{"runtime", b.runtime}, {"label", b.label}, {"latency_ms", b.latency_ms}};
    if (!b.machine.empty()) entry["timed_on"] = b.machine;
    const bool one_machine = std::count_if(view.fastest_fp32.begin(), view.fastest_fp32.end(),
                                           [&](const Fp32Baseline& o) { return o.device == b.device; }) == 1;
    if (one_machine) fastest[b.device] = entry;
    entry["device"] = b.device;
    per_machine.push_back(std::move(entry));
  }
  return {{"format", "quantgrid-baseline-1"},
          {"experiment", view.experiment},
          {"dataset", view.dataset},
          {"latency_batch", view.latency_batch},
          {"fastest_fp32", fastest},
          {"fastest_fp32_per_machine", per_machine},
          {"rows", rows}};
}

Result<Comparison> Compare(const ResultsView& current, const json& baseline, const Thresholds& t) {
  if (!baseline.is_object() || baseline.value("format", "") != "quantgrid-baseline-1" || !baseline.contains("rows") ||
      !baseline["rows"].is_array()) {
    return Error::InvalidArgument("baseline is not a quantgrid baseline file (write one with `quantgrid table "
                                  "--format json`)");
  }
  if (baseline.value("latency_batch", int64_t{0}) != current.latency_batch) {
    return Error::InvalidArgument("baseline latency is at batch {}, this sweep's at batch {}; pass --batch",
                                  baseline.value("latency_batch", int64_t{0}), current.latency_batch);
  }
  Comparison c;
  for (const auto& b : baseline["rows"]) {
    if (!b.is_object()) return Error::InvalidArgument("baseline rows[]: each row must be an object");
    const std::string label = b.value("label", "");
    const ResultRow* row = nullptr;
    for (const auto& r : current.rows) {
      if (r.label == label) row = &r;
    }
    if (!row || row->seeds == 0) {
      c.diffs.push_back({label, "row", 1, 0, true, "row missing from this sweep", "", ""});
      ++c.regressions;
      continue;
    }
    RowCheck check(b, *row, t, c);
    check.Top1();
    check.Agreement();
    check.Latency();
    check.SpeedupOwn();
    check.Size();
  }
  return c;
}

TextTable ComparisonTable(const Comparison& c) {
  TextTable table({"Row", "Metric", "Baseline", "Current", "Change", "Status"}, {true, true});
  for (const auto& d : c.diffs) {
    std::string status = d.regression ? "REGRESSION" : d.compared ? "ok" : "not compared";
    if (!d.intervals.empty()) status += "; " + d.intervals;
    if (!d.moved_layer.empty()) status += "; most moved " + d.moved_layer;
    table.AddRow({d.row, d.metric, fmt::format("{:.4g}", d.baseline), fmt::format("{:.4g}", d.current), d.note, status});
  }
  return table;
}

}  // namespace qg::exp
