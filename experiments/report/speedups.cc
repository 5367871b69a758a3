#include "experiments/report/speedups.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "experiments/job_config.h"

namespace qg::exp {

using storage::RunRecord;

namespace {

double Mean(const std::vector<double>& v) { return Stat::Of(v).mean; }

// A row's timed runs on one machine (TimedOn; "" for runs stored without
// their CPU): per image p50s, and the ratios its jobs timed alternately.
struct MachineTimes {
  std::vector<double> latency_ms, speedup_own, libtorch_fp32_over_this;
};
using TimesByMachine = std::map<std::string, MachineTimes>;

TimesByMachine TimesOf(const ResultRow& row, int64_t latency_batch) {
  const std::string lat_name = metric::Latency(row.device, latency_batch, metric::kP50Ms);
  const std::string paired_name = metric::Latency(row.device, latency_batch, metric::kSpeedupVsFp32);
  const std::string runtimes_name = metric::Latency(row.device, latency_batch, metric::kLibtorchFp32OverThis);
  TimesByMachine times;
  for (const RunRecord* r : row.runs) {
    const double l = r->MetricOrNan(lat_name);
    if (std::isnan(l)) continue;
    MachineTimes& t = times[TimedOn(*r)];
    t.latency_ms.push_back(l / static_cast<double>(latency_batch));
    if (const double p = r->MetricOrNan(paired_name); !std::isnan(p)) t.speedup_own.push_back(p);
    if (const double x = r->MetricOrNan(runtimes_name); !std::isnan(x) && x > 0) t.libtorch_fp32_over_this.push_back(x);
  }
  return times;
}

// The FP32 row of `runtime` on `device` as one machine timed it.
struct Fp32Timing {
  const ResultRow* row = nullptr;
  double latency_ms = 0;
  double libtorch_fp32_over_this = 0;  // 0 when its job did not time both runtimes
};

std::optional<Fp32Timing> Fp32On(const ResultsView& view, const std::vector<TimesByMachine>& times,
                                 const std::string& runtime, const std::string& device, const std::string& machine) {
  for (size_t i = 0; i < view.rows.size(); ++i) {
    const ResultRow& r = view.rows[i];
    if (r.strategy != "fp32" || r.runtime != runtime || r.device != device) continue;
    const auto t = times[i].find(machine);
    if (t == times[i].end() || !(Mean(t->second.latency_ms) > 0)) continue;
    return Fp32Timing{&r, Mean(t->second.latency_ms), Mean(t->second.libtorch_fp32_over_this)};
  }
  return std::nullopt;
}

// The fastest FP32 on `device` as `machine` timed it, added to the view, and
// per runtime, fastest FP32 latency / that runtime's FP32 latency (1 for the
// fastest runtime, below 1 for the others). Where the ONNX Runtime FP32 job
// timed LibTorch's FP32 alternately with its own, that paired ratio decides;
// else the two rows' latencies, measured in different jobs.
void FastestFp32(ResultsView& view, const std::vector<TimesByMachine>& times, const std::string& device,
                 const std::string& machine, std::map<std::string, double>& factor) {
  const auto torch = Fp32On(view, times, "libtorch", device, machine);
  const auto ort = Fp32On(view, times, "onnxruntime", device, machine);
  if (torch && ort && ort->libtorch_fp32_over_this > 0) {
    const double r = ort->libtorch_fp32_over_this;  // > 1: ONNX Runtime is faster
    factor["libtorch"] = std::min(1.0, 1.0 / r);
    factor["onnxruntime"] = std::min(1.0, r);
    const Fp32Timing& fastest = r > 1 ? *ort : *torch;
    view.fastest_fp32.push_back({device, machine, fastest.row->runtime, fastest.row->label, fastest.latency_ms, true});
    return;
  }
  const Fp32Timing* fastest = nullptr;
  for (const auto* r : {&torch, &ort}) {
    if (*r && (!fastest || (*r)->latency_ms < fastest->latency_ms)) fastest = &**r;
  }
  if (!fastest) return;
  view.fastest_fp32.push_back({device, machine, fastest->row->runtime, fastest->row->label, fastest->latency_ms, false});
  for (const auto* r : {&torch, &ort}) {
    if (*r) factor[(*r)->row->runtime] = fastest->latency_ms / (*r)->latency_ms;
  }
}

}  // namespace

void FillSpeedups(ResultsView& view) {
  std::vector<TimesByMachine> times;
  for (const auto& r : view.rows) times.push_back(TimesOf(r, view.latency_batch));
  std::map<std::pair<std::string, std::string>, std::map<std::string, double>> factors;  // (device, machine) -> runtime
  for (size_t i = 0; i < view.rows.size(); ++i) {
    for (const RunRecord* run : view.rows[i].runs) {  // machines in the order the runs name them
      const std::pair<std::string, std::string> where{view.rows[i].device, TimedOn(*run)};
      if (times[i].count(where.second) && !factors.count(where)) {
        FastestFp32(view, times, where.first, where.second, factors[where]);
      }
    }
  }
  for (size_t i = 0; i < view.rows.size(); ++i) {
    ResultRow& row = view.rows[i];
    double own_sum = 0, sum = 0;
    size_t own_runs = 0, runs = 0;
    for (const auto& [machine, t] : times[i]) {
      const double latency = Mean(t.latency_ms);
      if (!(latency > 0)) continue;
      double own = 0;
      if (row.paired_speedup) {
        own = Mean(t.speedup_own);
      } else if (const auto fp32 = Fp32On(view, times, row.runtime, row.device, machine)) {
        own = fp32->latency_ms / latency;
      }
      if (own > 0) {
        own_sum += own * static_cast<double>(t.latency_ms.size());
        own_runs += t.latency_ms.size();
      }
      const Fp32Baseline* base = FindFastestFp32(view, row.device, machine);
      if (base == nullptr) continue;
      const auto& factor = factors.at({row.device, machine});
      const double speedup = own > 0 && factor.count(row.runtime) ? own * factor.at(row.runtime)
                                                                  : base->latency_ms / latency;
      sum += speedup * static_cast<double>(t.latency_ms.size());
      runs += t.latency_ms.size();
    }
    if (!row.paired_speedup) row.speedup_own = own_runs ? own_sum / static_cast<double>(own_runs) : 0;
    row.speedup = runs ? sum / static_cast<double>(runs) : 0;
  }
}

const Fp32Baseline* FindFastestFp32(const ResultsView& view, const std::string& device, const std::string& machine) {
  for (const auto& b : view.fastest_fp32) {
    if (b.device == device && b.machine == machine) return &b;
  }
  return nullptr;
}

double SameMachineLatencyRatio(const ResultsView& view, const ResultRow& base, const ResultRow& row) {
  const TimesByMachine base_times = TimesOf(base, view.latency_batch);
  double sum = 0;
  size_t runs = 0;
  for (const auto& [machine, t] : TimesOf(row, view.latency_batch)) {
    const auto b = base_times.find(machine);
    const double latency = Mean(t.latency_ms);
    if (b == base_times.end() || !(latency > 0) || !(Mean(b->second.latency_ms) > 0)) continue;
    sum += Mean(b->second.latency_ms) / latency * static_cast<double>(t.latency_ms.size());
    runs += t.latency_ms.size();
  }
  return runs ? sum / static_cast<double>(runs) : 0;
}

std::string SpeedupCaption(const ResultsView& view) {
  std::string caption;
  std::map<std::string, std::vector<const Fp32Baseline*>> by_device;
  for (const auto& b : view.fastest_fp32) by_device[b.device].push_back(&b);
  auto baseline = [&](const Fp32Baseline& b) {
    return fmt::format("{} ({}) at b{}, {:.4g} ms per batch{}", b.runtime, b.label, view.latency_batch,
                       b.latency_ms * static_cast<double>(view.latency_batch),
                       b.paired ? " (runtimes compared in alternating rounds)" : "");
  };
  for (const auto& [device, bases] : by_device) {
    if (bases.size() == 1) {
      caption += fmt::format("Speedup: vs the fastest FP32 on {}, {}. ", device, baseline(*bases.front()));
      continue;
    }
    std::vector<std::string> parts;
    for (const Fp32Baseline* b : bases) {
      parts.push_back(fmt::format("{}: {}", b->machine.empty() ? "a CPU not recorded" : b->machine, baseline(*b)));
    }
    caption += fmt::format("Speedup: vs the fastest FP32 on {} timed on the same machine; {}. ", device,
                           fmt::join(parts, "; "));
  }
  if (caption.empty()) return caption;
  return caption + "Speedup (own): vs the FP32 model on the row's own runtime.";
}

}  // namespace qg::exp
