#include "experiments/report/regression.h"

#include <fmt/format.h>

#include <cmath>

namespace qg::exp {

nlohmann::json BaselineJson(const ResultsView& view) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : view.rows) {
    nlohmann::json row{{"label", r.label}, {"strategy", r.strategy}, {"seeds", r.seeds}};
    if (r.top1.n) row["top1"] = r.top1.mean;
    if (r.top5.n) row["top5"] = r.top5.mean;
    if (r.latency_ms.n) row["latency_ms"] = r.latency_ms.mean;
    if (r.size_mb.n) row["size_mb"] = r.size_mb.mean;
    if (r.agreement.n) row["agreement"] = r.agreement.mean;
    rows.push_back(std::move(row));
  }
  return {{"format", "quantgrid-baseline-1"},
          {"experiment", view.experiment},
          {"dataset", view.dataset},
          {"latency_batch", view.latency_batch},
          {"rows", rows}};
}

Result<Comparison> Compare(const ResultsView& current, const nlohmann::json& baseline, const Thresholds& t) {
  if (!baseline.is_object() || baseline.value("format", "") != "quantgrid-baseline-1" || !baseline.contains("rows")) {
    return Error::InvalidArgument("baseline is not a quantgrid baseline file (write one with `quantgrid table "
                                  "--format json`)");
  }
  if (baseline.value("latency_batch", int64_t{0}) != current.latency_batch) {
    return Error::InvalidArgument("baseline latency is at batch {}, this sweep's at batch {}; pass --batch",
                                  baseline.value("latency_batch", int64_t{0}), current.latency_batch);
  }
  Comparison c;
  for (const auto& b : baseline["rows"]) {
    const std::string label = b.value("label", "");
    const ResultRow* row = nullptr;
    for (const auto& r : current.rows) {
      if (r.label == label) row = &r;
    }
    if (!row || row->seeds == 0) {
      c.diffs.push_back({label, "row", 1, 0, true, "row missing from this sweep"});
      ++c.regressions;
      continue;
    }
    auto check = [&](const char* metric, const Stat& now, bool lower_is_worse, double limit, bool relative) {
      if (!b.contains(metric) || now.n == 0) return;
      const double base = b[metric].get<double>();
      const double change = relative ? (now.mean - base) / std::max(std::abs(base), 1e-12) : now.mean - base;
      const double worse = lower_is_worse ? -change : change;
      MetricDiff d{label, metric, base, now.mean, worse > limit, ""};
      d.note = relative ? fmt::format("{:+.1f} % (limit {}{:.1f} %)", change * 100, lower_is_worse ? "-" : "+", limit * 100)
                        : fmt::format("{:+.2f} (limit {}{:.2f})", change, lower_is_worse ? "-" : "+", limit);
      c.regressions += d.regression;
      c.diffs.push_back(std::move(d));
    };
    check("top1", row->top1, true, t.top1_drop, false);
    check("agreement", row->agreement, true, t.agreement_drop, false);
    check("latency_ms", row->latency_ms, false, t.latency_increase, true);
    check("size_mb", row->size_mb, false, t.size_increase, true);
  }
  return c;
}

TextTable ComparisonTable(const Comparison& c) {
  TextTable table({"Row", "Metric", "Baseline", "Current", "Change", "Status"}, {true, true});
  for (const auto& d : c.diffs) {
    table.AddRow({d.row, d.metric, fmt::format("{:.4g}", d.baseline), fmt::format("{:.4g}", d.current), d.note,
                  d.regression ? "REGRESSION" : "ok"});
  }
  return table;
}

}  // namespace qg::exp
