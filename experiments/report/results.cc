#include "experiments/report/results.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "experiments/job_config.h"
#include "experiments/report/speedups.h"
#include "experiments/spec.h"

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

using nlohmann::json;

// A quantize or export job of the view, with its typed config.
struct Cell {
  const JobRecord* job = nullptr;
  JobKind kind = JobKind::kQuantize;
  QuantizeConfig config;  // an export's quantize cell
};

Result<std::vector<Cell>> CellsOf(const std::vector<JobRecord>& jobs) {
  std::vector<Cell> cells;
  for (const auto& j : jobs) {
    // A tune's screening jobs (a validation subset, a short latency run) are
    // not rows: its table holds what ran at full fidelity.
    if (j.key.rfind("screen/", 0) == 0) continue;
    QG_ASSIGN_OR_RETURN(JobKind kind, ParseJobKind(j.kind));
    Cell cell{.job = &j, .kind = kind};
    if (kind == JobKind::kQuantize) {
      QG_ASSIGN_OR_RETURN(cell.config, QuantizeConfig::FromJson(j.config, "job '" + j.key + "' config"));
    } else if (kind == JobKind::kExport) {
      QG_ASSIGN_OR_RETURN(auto e, ExportConfig::FromJson(j.config, "job '" + j.key + "' config"));
      cell.config = std::move(e.quantize);
    } else {
      continue;
    }
    cells.push_back(std::move(cell));
  }
  return cells;
}

constexpr const char* kAxes[] = {"observer", "calibration", "weight_bits", "granularity", "engine", "device"};

std::string Axis(const QuantizeConfig& c, std::string_view axis) {
  if (axis == "observer") return c.Observer();
  if (axis == "calibration") return c.CalibrationSize() > 0 ? fmt::format("c{}", c.CalibrationSize()) : "";
  if (axis == "weight_bits") {  // INT8 strategies (they all take an observer): w8 unless given
    if (!c.params.contains("weight_bits") && !c.params.contains("observer")) return "";
    return fmt::format("w{}", c.params.value("weight_bits", int64_t{8}));
  }
  if (axis == "granularity") return c.params.value("weight_granularity", std::string());
  if (axis == "engine") return c.engine;
  return c.device;
}

// The grid axes that vary among quantize jobs: only those go into labels.
std::vector<std::string> VaryingAxes(const std::vector<Cell>& cells) {
  std::map<std::string, std::set<std::string>> values;
  for (const auto& c : cells) {
    if (c.kind != JobKind::kQuantize) continue;
    for (const char* axis : kAxes) {
      if (const std::string v = Axis(c.config, axis); !v.empty()) values[axis].insert(v);
    }
  }
  std::vector<std::string> varying;
  for (const char* axis : kAxes) {
    if (values[axis].size() > 1) varying.push_back(axis);
  }
  return varying;
}

// Seeds of one grid cell share a row.
std::string RowIdentity(const Cell& c) {
  std::string id = fmt::format("{}|{}", JobKindName(c.kind), c.config.label);
  for (const char* axis : kAxes) id += "|" + Axis(c.config, axis);
  return id;
}

ResultRow RowHeader(const Cell& first, const std::vector<std::string>& varying) {
  ResultRow row;
  row.strategy = first.config.strategy;
  row.device = first.config.device;
  row.label = first.config.label;
  std::vector<std::string> variant;
  for (const auto& axis : varying) {
    if (const std::string v = Axis(first.config, axis); !v.empty()) variant.push_back(v);
  }
  if (!variant.empty()) row.label += fmt::format(" ({})", fmt::join(variant, ", "));
  if (first.kind == JobKind::kExport) {
    row.runtime = "onnxruntime";
    row.label += " [onnxruntime]";
  }
  return row;
}

// Appends `value` unless `values` has it: lists over seeds, in first-seen order.
void AddOnce(std::vector<std::string>& values, const std::string& value) {
  if (std::find(values.begin(), values.end(), value) == values.end()) values.push_back(value);
}

// Mean and spread over the row's seeds that have a stored run.
void FillRow(ResultRow& row, const std::vector<const Cell*>& cells, const std::map<std::string, const RunRecord*>& runs,
             int64_t latency_batch) {
  std::vector<double> top1, top5, lat, size, packed, agree, paired, macs, ci_low, ci_high, runtimes;
  const std::string runtimes_name = metric::Latency(row.device, latency_batch, metric::kLibtorchFp32OverThis);
  const std::string lat_name = metric::Latency(row.device, latency_batch, metric::kP50Ms);
  const std::string low_name = metric::Latency(row.device, latency_batch, metric::kP50CiLowMs);
  const std::string high_name = metric::Latency(row.device, latency_batch, metric::kP50CiHighMs);
  const std::string paired_name = metric::Latency(row.device, latency_batch, metric::kSpeedupVsFp32);
  for (const Cell* c : cells) {
    const auto it = runs.find(c->job->config_hash);
    if (it == runs.end()) continue;
    const RunRecord& r = *it->second;
    row.runs.push_back(&r);
    top1.push_back(r.MetricOrNan(metric::kTop1));
    top5.push_back(r.MetricOrNan(metric::kTop5));
    if (const double l = r.MetricOrNan(lat_name); !std::isnan(l)) {
      lat.push_back(l / static_cast<double>(latency_batch));
      if (const std::string machine = TimedOn(r); !machine.empty()) AddOnce(row.timed_on, machine);
    }
    if (const double lo = r.MetricOrNan(low_name), hi = r.MetricOrNan(high_name); !std::isnan(lo) && !std::isnan(hi)) {
      ci_low.push_back(lo / static_cast<double>(latency_batch));
      ci_high.push_back(hi / static_cast<double>(latency_batch));
    }
    size.push_back(r.MetricOrNan(metric::kSizeBytes) / 1e6);
    if (const double p = r.MetricOrNan(metric::kPackedSizeBytes); !std::isnan(p)) packed.push_back(p / 1e6);
    agree.push_back(r.MetricOrNan(metric::kTop1Agreement));
    if (const double p = r.MetricOrNan(paired_name); !std::isnan(p)) paired.push_back(p);
    if (const double m = r.MetricOrNan(metric::kInt8MacShare); !std::isnan(m)) macs.push_back(m);
    if (const double x = r.MetricOrNan(runtimes_name); !std::isnan(x) && x > 0) runtimes.push_back(x);
    if (const auto p = r.documents.find(document::kPrecision); p != r.documents.end()) row.precision = p->second;
    if (const auto e = r.documents.find(document::kReferenceEngine); e != r.documents.end() && e->second.is_string()) {
      AddOnce(row.reference_engines, e->second.get<std::string>());
    }
    if (const auto s = r.documents.find(document::kSaturatingLayers); s != r.documents.end() && s->second.is_array()) {
      for (const auto& layer : s->second) {
        if (layer.is_string()) AddOnce(row.saturating_layers, layer.get<std::string>());
      }
    }
    if (const auto found = r.documents.find(document::kExportStepCheck);
        found != r.documents.end() && found->second.is_object()) {
      const auto& check = found->second;
      row.export_check_images += check.value("images", int64_t{0});
      row.export_step_max = std::max(row.export_step_max, check.value("max_own_steps", int64_t{0}));
      row.export_check_within = check.value("within_steps", int64_t{0});
      if (const auto f = check.find("first_divergence"); f != check.end() && f->is_string()) {
        AddOnce(row.export_divergent_steps, f->get<std::string>());
      }
    }
  }
  row.seeds = static_cast<int>(row.runs.size());
  row.top1 = Stat::Of(top1);
  row.top5 = Stat::Of(top5);
  row.latency_ms = Stat::Of(lat);
  row.size_mb = Stat::Of(size);
  row.packed_mb = Stat::Of(packed);
  row.agreement = Stat::Of(agree);
  row.int8_macs = Stat::Of(macs);
  if (!ci_low.empty() && ci_low.size() == row.runs.size()) {
    row.latency_ci_low = Stat::Of(ci_low).mean;
    row.latency_ci_high = Stat::Of(ci_high).mean;
  }
  if (!paired.empty() && paired.size() == row.runs.size()) {
    row.speedup_own = Stat::Of(paired).mean;
    row.paired_speedup = true;
  }
  if (!runtimes.empty()) row.libtorch_fp32_over_this = Stat::Of(runtimes).mean;
}

// Machine -> its rows' labels, machines in the order the rows name them.
using RowsByMachine = std::vector<std::pair<std::string, std::vector<std::string>>>;

void AddRow(RowsByMachine& rows, const std::string& machine, const std::string& label) {
  auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& e) { return e.first == machine; });
  if (it == rows.end()) it = rows.insert(rows.end(), {machine, {}});
  it->second.push_back(label);
}

}  // namespace

Result<ResultsView> BuildResults(const storage::ExperimentRecord& experiment, const std::vector<JobRecord>& jobs,
                                 const std::vector<RunRecord>& runs, int64_t latency_batch) {
  std::map<std::string, const RunRecord*> by_hash;
  for (const auto& r : runs) by_hash[r.config_hash] = &r;
  ResultsView view;
  view.experiment = experiment.name;
  const json dataset = experiment.spec.value("dataset", json::object());
  view.dataset = dataset.value("name", "");
  view.stands_in_for = dataset.value(std::string(kStandsInFor), "");
  if (!view.stands_in_for.empty()) view.dataset += fmt::format(" (stand-in for {})", view.stands_in_for);
  view.model = experiment.spec.value("model", json::object()).value("name", "");
  for (const auto& j : jobs) {
    if (j.kind == JobKindName(JobKind::kTrain) && by_hash.count(j.config_hash)) {
      view.train = by_hash[j.config_hash];
      break;
    }
  }
  QG_ASSIGN_OR_RETURN(const std::vector<Cell> cells, CellsOf(jobs));
  // Unless asked for one, the largest batch size the jobs measured.
  if (latency_batch == 0) {
    for (const auto& c : cells) {
      for (int64_t b : c.config.measure.batch_sizes) latency_batch = std::max(latency_batch, b);
    }
  }
  view.latency_batch = latency_batch;
  std::vector<std::string> order;
  std::map<std::string, std::vector<const Cell*>> groups;
  for (const auto& c : cells) {
    const std::string id = RowIdentity(c);
    if (!groups.count(id)) order.push_back(id);
    groups[id].push_back(&c);
  }
  const auto varying = VaryingAxes(cells);
  for (const auto& id : order) {
    ResultRow row = RowHeader(*groups[id].front(), varying);
    FillRow(row, groups[id], by_hash, latency_batch);
    view.rows.push_back(std::move(row));
  }
  FillSpeedups(view);
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

std::string TimedOn(const RunRecord& run) {
  if (const auto gpu = run.documents.find(document::kGpuModel); gpu != run.documents.end() && gpu->second.is_string()) {
    return fmt::format("{} (CUDA)", gpu->second.get<std::string>());
  }
  if (run.cpu_model.empty()) return "";
  return fmt::format("{}, {} thread{}", run.cpu_model, run.threads, run.threads == 1 ? "" : "s");
}

std::vector<std::string> TableNotes(const ResultsView& view) {
  std::vector<std::string> notes;
  for (const auto& r : view.rows) {
    if (r.saturating_layers.empty()) continue;
    // qnnpack widens before it multiplies: a reference there holds.
    const bool exact_reference = std::find(r.reference_engines.begin(), r.reference_engines.end(), "qnnpack") !=
                                 r.reference_engines.end();
    notes.push_back(fmt::format(
        "{} ran on a CPU without VNNI, whose u8 x s8 kernels (ONNX Runtime's and oneDNN's) saturate this model's "
        "8-bit weights in {}: its Top-1 is that CPU's, {}; quantize on such a CPU (7-bit weights) for figures that hold "
        "on every CPU",
        r.label, fmt::join(r.saturating_layers, ", "),
        exact_reference ? "and Agree compares it with LibTorch on qnnpack, which does not saturate"
                        : "and so is its LibTorch reference's, which Agree compares with"));
  }
  for (const auto& r : view.rows) {
    // A saturating CPU's row has its note above: its reference differs there.
    if (r.export_step_max < 0 || !r.saturating_layers.empty()) continue;
    if (!r.export_divergent_steps.empty()) {
      notes.push_back(fmt::format("{}: its export computes {} otherwise than LibTorch's INT8 model: more than {} steps "
                                  "of the value's scale apart on the same inputs (quantgrid check-export on its INT8 "
                                  "file shows every step)",
                                  r.label, fmt::join(r.export_divergent_steps, ", "), r.export_check_within));
    } else if (r.agreement.n > 0 && r.agreement.mean < 99.0) {
      notes.push_back(fmt::format("{}: its Agree of {:.2f} % is rounding carried through the layers: on {} test images "
                                  "each step of the export is within {} step{} of its scale of LibTorch's on the same "
                                  "inputs",
                                  r.label, r.agreement.mean, r.export_check_images, r.export_step_max,
                                  r.export_step_max == 1 ? "" : "s"));
    }
  }
  RowsByMachine machines;
  for (const auto& r : view.rows) {
    for (const auto& m : r.timed_on) AddRow(machines, m, r.label);
  }
  if (machines.size() > 1) {
    std::vector<std::string> parts;
    for (const auto& [machine, rows] : machines) {
      parts.push_back(fmt::format("{} timed {}", machine, fmt::join(rows, ", ")));
    }
    notes.push_back(fmt::format("Latency was timed on {} machines, so a latency between rows of different machines "
                                "compares the machines as well as the models; each Speedup is against the FP32 its "
                                "own machine timed: {}",
                                machines.size(), fmt::join(parts, "; ")));
  }
  // A row's machines that timed no FP32 on its device, where another did:
  // those runs have no Speedup (a device without any FP32 row has none at all).
  RowsByMachine unmatched;
  for (const auto& r : view.rows) {
    const bool device_has_baseline = std::any_of(view.fastest_fp32.begin(), view.fastest_fp32.end(),
                                                 [&](const Fp32Baseline& b) { return b.device == r.device; });
    for (const auto& machine : r.timed_on) {
      if (device_has_baseline && FindFastestFp32(view, r.device, machine) == nullptr) AddRow(unmatched, machine, r.label);
    }
  }
  for (const auto& [machine, rows] : unmatched) {
    notes.push_back(fmt::format("{} timed no FP32 model, so what it timed of {} has no Speedup", machine,
                                fmt::join(rows, ", ")));
  }
  return notes;
}

std::string FormatLatency(const ResultRow& row, int decimals) {
  if (row.latency_ms.n == 1 && row.latency_ci_high > row.latency_ci_low) {
    return fmt::format("{:.{}f} ± {:.{}f}", row.latency_ms.mean, decimals,
                       (row.latency_ci_high - row.latency_ci_low) / 2, decimals);
  }
  return FormatStat(row.latency_ms, decimals);
}

TextTable ResultsTable(const ResultsView& view) {
  // "Packed (MB)" only where some row has weights below 8 bits.
  const bool packed = std::any_of(view.rows.begin(), view.rows.end(), [](const auto& r) { return r.packed_mb.n > 0; });
  std::vector<std::string> header{"Strategy", "Precision", "INT8 MACs (%)", "Top-1 (%)", "Top-5 (%)",
                                  fmt::format("Latency (ms/img, b{})", view.latency_batch), "Speedup",
                                  "Speedup (own)", "Size (MB)"};
  if (packed) header.push_back("Packed (MB)");
  header.push_back("Agree (%)");
  TextTable table(header, {true, true});
  for (const auto& r : view.rows) {
    // Coverage is a property of the model, the same for every seed: one number.
    const std::string macs = r.int8_macs.n ? fmt::format("{:.1f}", r.int8_macs.mean) : "-";
    auto times = [](double x) { return x > 0 ? fmt::format("{:.2f}x", x) : std::string("-"); };
    std::vector<std::string> cells{r.label,          r.precision.empty() ? "-" : r.precision,
                                   macs,             FormatStat(r.top1, 2),
                                   FormatStat(r.top5, 2), FormatLatency(r, 4),
                                   times(r.speedup), times(r.speedup_own),
                                   FormatStat(r.size_mb, 3)};
    if (packed) cells.push_back(r.packed_mb.n ? FormatStat(r.packed_mb, 3) : FormatStat(r.size_mb, 3));
    cells.push_back(FormatStat(r.agreement, 2));
    table.AddRow(cells);
  }
  return table;
}

}  // namespace qg::exp
