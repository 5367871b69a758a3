#include "experiments/report/results.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cmath>
#include <map>
#include <numeric>
#include <set>

namespace qg::exp {

using storage::JobRecord;
using storage::RunRecord;

Stat Stat::Of(const std::vector<double>& v) {
  Stat s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  s.mean = std::accumulate(v.begin(), v.end(), 0.0) / s.n;
  if (s.n > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.std = std::sqrt(ss / (s.n - 1));
  }
  return s;
}

std::string FormatStat(const Stat& s, int decimals) {
  if (s.n == 0) return "-";
  if (s.n == 1) return fmt::format("{:.{}f}", s.mean, decimals);
  return fmt::format("{:.{}f} ± {:.{}f}", s.mean, decimals, s.std, decimals);
}

namespace {

// The job key without its seed: rows gather a strategy's seeds.
std::string RowKey(const std::string& key) { return key.substr(0, key.rfind("/seed")); }

std::string Axis(const JobRecord& j, const std::string& axis) {
  if (axis == "observer") return j.config.at("params").value("observer", "");
  if (axis == "calibration") {
    const auto& p = j.config.at("params");
    return p.contains("calibration_size") ? fmt::format("c{}", p["calibration_size"].get<int64_t>()) : "";
  }
  if (axis == "engine") return j.config.value("engine", "");
  return j.config.value("device", "cpu");
}

double Metric(const RunRecord& r, const std::string& name, double fallback = NAN) {
  const auto it = r.metrics.find(name);
  return it == r.metrics.end() ? fallback : it->second;
}

}  // namespace

Result<ResultsView> BuildResults(const storage::ExperimentRecord& experiment, const std::vector<JobRecord>& jobs,
                                 const std::vector<RunRecord>& runs, int64_t latency_batch) {
  std::map<std::string, const RunRecord*> by_hash;
  for (const auto& r : runs) by_hash[r.config_hash] = &r;
  ResultsView view;
  view.experiment = experiment.name;
  view.dataset = experiment.spec.value("dataset", nlohmann::json::object()).value("name", "");
  view.model = experiment.spec.value("model", nlohmann::json::object()).value("name", "");

  // Which grid axes vary among INT8 jobs (only those go into labels).
  std::map<std::string, std::set<std::string>> values;
  for (const auto& j : jobs) {
    if (j.kind != "quantize") continue;
    for (const char* axis : {"observer", "calibration", "engine", "device"}) {
      const std::string v = Axis(j, axis);
      if (!v.empty()) values[axis].insert(v);
    }
  }
  std::vector<std::string> varying;
  for (const char* axis : {"observer", "calibration", "engine", "device"}) {
    if (values[axis].size() > 1) varying.push_back(axis);
  }

  std::vector<std::string> order;
  std::map<std::string, std::vector<const JobRecord*>> groups;
  for (const auto& j : jobs) {
    if (j.kind == "train" && !view.train && by_hash.count(j.config_hash)) view.train = by_hash[j.config_hash];
    if (j.kind != "quantize" && j.kind != "export") continue;
    const std::string key = RowKey(j.key);
    if (!groups.count(key)) order.push_back(key);
    groups[key].push_back(&j);
  }
  if (latency_batch == 0) {
    for (const auto& r : runs) {
      for (const auto& [name, v] : r.metrics) {
        int64_t b = 0;
        if (std::sscanf(name.c_str(), "latency.%*[^.].b%ld.p50_ms", &b) == 1) latency_batch = std::max(latency_batch, b);
      }
    }
  }
  view.latency_batch = latency_batch;

  for (const auto& key : order) {
    const auto& group = groups[key];
    const JobRecord& first = *group.front();
    ResultRow row;
    row.strategy = first.config.at("strategy");
    row.device = first.config.value("device", "cpu");
    row.label = first.config.value("label", row.strategy);
    std::vector<std::string> variant;
    for (const auto& axis : varying) {
      const std::string v = Axis(first, axis);
      if (!v.empty()) variant.push_back(v);
    }
    if (!variant.empty()) row.label += fmt::format(" ({})", fmt::join(variant, ", "));
    if (first.kind == "export") {
      row.runtime = "onnxruntime";
      row.label += " [onnxruntime]";
    }
    std::vector<double> top1, top5, lat, size, agree, paired;
    const std::string lat_name = fmt::format("latency.{}.b{}.p50_ms", row.device, latency_batch);
    const std::string paired_name = fmt::format("latency.{}.b{}.speedup_vs_fp32", row.device, latency_batch);
    for (const JobRecord* j : group) {
      const auto it = by_hash.find(j->config_hash);
      if (it == by_hash.end()) continue;
      const RunRecord& r = *it->second;
      row.runs.push_back(&r);
      top1.push_back(Metric(r, "top1"));
      top5.push_back(Metric(r, "top5"));
      if (const double l = Metric(r, lat_name); !std::isnan(l)) lat.push_back(l / static_cast<double>(latency_batch));
      size.push_back(Metric(r, "size_bytes") / 1e6);
      agree.push_back(Metric(r, "output.top1_agreement"));
      if (const double p = Metric(r, paired_name); !std::isnan(p)) paired.push_back(p);
      if (const auto p = r.documents.find("precision"); p != r.documents.end()) row.precision = p->second;
    }
    row.seeds = static_cast<int>(row.runs.size());
    row.top1 = Stat::Of(top1);
    row.top5 = Stat::Of(top5);
    row.latency_ms = Stat::Of(lat);
    row.size_mb = Stat::Of(size);
    row.agreement = Stat::Of(agree);
    if (!paired.empty() && paired.size() == row.runs.size()) {
      row.speedup = Stat::Of(paired).mean;
      row.paired_speedup = true;
    }
    view.rows.push_back(std::move(row));
  }
  for (auto& row : view.rows) {
    if (row.paired_speedup) continue;
    for (const auto& base : view.rows) {
      if (base.strategy == "fp32" && base.runtime == "libtorch" && base.device == row.device && base.latency_ms.n && row.latency_ms.n &&
          row.latency_ms.mean > 0) {
        row.speedup = base.latency_ms.mean / row.latency_ms.mean;
        break;
      }
    }
  }
  return view;
}

Result<std::unique_ptr<LoadedResults>> LoadResults(storage::ResultStore& store, const std::string& experiment,
                                                   int64_t latency_batch) {
  QG_ASSIGN_OR_RETURN(auto found, store.GetExperiment(experiment));
  if (!found) return Error::NotFound("experiment '{}' is not in the database", experiment);
  auto loaded = std::make_unique<LoadedResults>();
  loaded->experiment = *found;
  QG_ASSIGN_OR_RETURN(loaded->jobs, store.ListJobs(found->id));
  QG_ASSIGN_OR_RETURN(loaded->runs, store.RunsOfExperiment(found->id));
  QG_ASSIGN_OR_RETURN(loaded->view, BuildResults(loaded->experiment, loaded->jobs, loaded->runs, latency_batch));
  return loaded;
}

TextTable ResultsTable(const ResultsView& view) {
  TextTable table({"Strategy", "Precision", "Top-1 (%)", "Top-5 (%)",
                   fmt::format("Latency (ms/img, b{})", view.latency_batch), "Speedup", "Size (MB)", "Agree (%)"},
                  {true, true});
  for (const auto& r : view.rows) {
    table.AddRow({r.label, r.precision.empty() ? "-" : r.precision, FormatStat(r.top1, 2), FormatStat(r.top5, 2),
                  FormatStat(r.latency_ms, 4), r.speedup > 0 ? fmt::format("{:.2f}x", r.speedup) : "-",
                  FormatStat(r.size_mb, 3), FormatStat(r.agreement, 2)});
  }
  return table;
}

}  // namespace qg::exp
