#include "experiments/tune/tune_search.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cmath>

#include "experiments/grid.h"

namespace qg::exp {
namespace {

using nlohmann::json;
using storage::JobRecord;
using storage::RunRecord;

std::optional<double> Metric(const RunRecord* run, const std::string& name) {
  if (run == nullptr) return std::nullopt;
  const auto it = run->metrics.find(name);
  if (it == run->metrics.end() || !std::isfinite(it->second)) return std::nullopt;
  return it->second;
}

double SizeOf(const RunRecord& run) {
  if (auto packed = Metric(&run, metric::kPackedSizeBytes)) return *packed;
  return Metric(&run, metric::kSizeBytes).value_or(0);
}

// The objective of `run`, relative to FP32 (`fp32` is the FP32 row's run at
// the same fidelity). Latency: the job's own paired ratio against FP32.
std::optional<double> Objective(const TuneObjective& o, const RunRecord& run, const RunRecord& fp32, bool is_fp32) {
  double v = 0;
  for (const auto& [term, w] : o.terms) {
    if (term == "size") {
      const double ref = SizeOf(fp32);
      if (ref <= 0) return std::nullopt;
      v += w * SizeOf(run) / ref;
      continue;
    }
    if (is_fp32) {
      v += w;
      continue;
    }
    const int64_t batch = o.LatencyBatch();
    if (auto speedup = Metric(&run, metric::Latency("cpu", batch, metric::kSpeedupVsFp32)); speedup && *speedup > 0) {
      v += w / *speedup;
      continue;
    }
    auto mine = Metric(&run, metric::Latency("cpu", batch, metric::kP50Ms));
    auto ref = Metric(&fp32, metric::Latency("cpu", batch, metric::kP50Ms));
    if (!mine || !ref || *ref <= 0) return std::nullopt;
    v += w * *mine / *ref;
  }
  return v;
}

// Points of top-1 lost against FP32 (or, with an agreement floor, 100 minus
// the agreement, so that smaller is better either way).
std::optional<double> Drop(const TuneConstraint& c, const RunRecord& run, const RunRecord& fp32, bool is_fp32) {
  if (is_fp32) return 0.0;
  if (c.max_top1_drop >= 0) {
    auto a = Metric(&fp32, metric::kTop1), b = Metric(&run, metric::kTop1);
    if (!a || !b) return std::nullopt;
    return *a - *b;
  }
  auto agreement = Metric(&run, metric::kTop1Agreement);
  if (!agreement) return std::nullopt;
  return 100.0 - *agreement;
}

double Allowed(const TuneConstraint& c) { return c.max_top1_drop >= 0 ? c.max_top1_drop : 100.0 - c.min_agreement; }

// `confidence` standard errors of a drop measured on a subset: the
// difference of two accuracies on the same n images (at most sqrt(2) times
// one's), or one agreement rate.
double Margin(const TuneSpec& s, const RunRecord& fp32_screen, const RunRecord& run) {
  const double n = Metric(&run, metric::kEvalImages).value_or(static_cast<double>(s.screen_options.eval_images));
  const double p = std::clamp(Metric(&fp32_screen, metric::kTop1).value_or(50.0) / 100.0, 0.01, 0.99);
  const double se = std::sqrt(p * (1 - p) / std::max(1.0, n)) * 100.0;
  return s.confidence * se * (s.constraint.max_top1_drop >= 0 ? std::sqrt(2.0) : 1.0);
}

struct OrderKey {
  double objective;
  double size;
  double top1;
  std::string id;
  size_t index;
};

// By objective, where objectives within `noise` of the first of a group are
// a tie: the smaller model first, then the more accurate, then by id (a
// stable, machine-independent order).
std::vector<size_t> NoiseAwareOrder(std::vector<OrderKey> keys, double noise) {
  std::sort(keys.begin(), keys.end(), [](const OrderKey& a, const OrderKey& b) {
    return std::tie(a.objective, a.id) < std::tie(b.objective, b.id);
  });
  std::vector<size_t> out;
  for (size_t start = 0; start < keys.size();) {
    size_t end = start;
    while (end < keys.size() && keys[end].objective <= keys[start].objective * (1 + noise) + 1e-12) ++end;
    std::sort(keys.begin() + static_cast<std::ptrdiff_t>(start), keys.begin() + static_cast<std::ptrdiff_t>(end),
              [](const OrderKey& a, const OrderKey& b) {
                return std::make_tuple(a.size, -a.top1, a.id) < std::make_tuple(b.size, -b.top1, b.id);
              });
    for (size_t i = start; i < end; ++i) out.push_back(keys[i].index);
    start = end;
  }
  return out;
}

// The search's working state for one DecideTune call.
class Search {
 public:
  Search(const TuneSpec& s, const TuneJobs& jobs, const Catalog& catalog, const std::map<std::string, RunRecord>& runs,
         const std::set<std::string>& failed, double minutes)
      : s_(s), jobs_(jobs), catalog_(catalog), runs_(runs), failed_(failed), minutes_(minutes) {}

  TuneDecision Decide() {
    Need(jobs_.train);
    for (const auto& c : jobs_.candidates) d_.candidates.push_back({.candidate = c});
    const auto& fp32 = d_.candidates.front().candidate;
    for (auto& v : d_.candidates) Need(v.candidate.screen);
    Need(fp32.full);
    if (!AllRun()) return Finish(false);
    fp32_screen_ = RunOf(fp32.screen.key);
    fp32_full_ = RunOf(fp32.full.key);
    if (fp32_screen_ == nullptr || fp32_full_ == nullptr) {
      d_.trace.push_back("the FP32 reference failed: nothing can be compared");
      return Finish(true);
    }
    if (s_.per_layer.enabled && !SearchLayers()) return Finish(false);
    Screen();
    return Promote();
  }

 private:
  const RunRecord* RunOf(const std::string& key) const {
    auto it = runs_.find(key);
    return it == runs_.end() ? nullptr : &it->second;
  }
  // Asks for a job (once); true when it has a stored run.
  bool Need(const JobRecord& job) {
    if (!Asked(job.key)) {
      d_.jobs.push_back(job);
      if (job.key.rfind(kScreenPrefix, 0) == 0) ++d_.screen_jobs;
      if (job.key.rfind(kQuantizePrefix, 0) == 0) ++d_.full_jobs;
    }
    return RunOf(job.key) != nullptr;
  }
  bool Asked(const std::string& key) const {
    return std::any_of(d_.jobs.begin(), d_.jobs.end(), [&](const JobRecord& j) { return j.key == key; });
  }
  bool Settled(const std::string& key) const { return RunOf(key) != nullptr || failed_.count(key) > 0; }
  bool AllRun() const {
    return std::all_of(d_.jobs.begin(), d_.jobs.end(), [&](const JobRecord& j) { return Settled(j.key); });
  }
  bool BudgetLeft(size_t more = 1) const {
    return s_.budget.max_jobs == 0 || d_.jobs.size() + more <= static_cast<size_t>(s_.budget.max_jobs);
  }
  TuneDecision Finish(bool done) {
    d_.done = done;
    return std::move(d_);
  }

  // Screening verdict of one candidate: fills its view; true when it passes.
  bool Judge(CandidateView& v) {
    const RunRecord* run = RunOf(v.candidate.screen.key);
    const bool is_fp32 = &v == &d_.candidates.front();
    if (run == nullptr) {
      v.fate = failed_.count(v.candidate.screen.key) ? Fate::kFailed : Fate::kWaiting;
      return false;
    }
    v.screen_top1 = Metric(run, metric::kTop1);
    v.screen_drop = Drop(s_.constraint, *run, *fp32_screen_, is_fp32);
    v.screen_objective = Objective(s_.objective, *run, *fp32_screen_, is_fp32);
    v.size_bytes = SizeOf(*run);
    v.latency_ms = Metric(run, metric::Latency("cpu", s_.objective.LatencyBatch(), metric::kP50Ms));
    if (!v.screen_drop || !v.screen_objective) {
      v.fate = Fate::kFailed;
      return false;
    }
    const bool passes = *v.screen_drop <= Allowed(s_.constraint) + Margin(s_, *fp32_screen_, *run);
    v.fate = passes ? Fate::kNotPromoted : Fate::kScreenedOut;
    return passes;
  }

  // Per-layer precision: returns false while a job it needs has not run.
  bool SearchLayers() {
    json params = s_.per_layer.params;
    if (s_.constraint.max_top1_drop >= 0) {
      params["objective"] = "size";
      params["accuracy_budget"] = s_.constraint.max_top1_drop;
    }
    params["size_budget"] = 10.0;  // the tune's objective decides, not mpq's size cap
    auto ranker = PerLayerCandidate(s_, jobs_, catalog_, "mpq-auto", params, -1);
    d_.candidates.push_back({.candidate = ranker});
    if (!Need(ranker.screen)) return Settled(ranker.screen.key);
    const RunRecord* run = RunOf(ranker.screen.key);
    std::vector<std::string> ranked;
    bool all_int8 = false;
    if (auto it = run->documents.find(document::kDetails); it != run->documents.end()) {
      for (const auto& l : it->second.value("sensitivity", json::array())) ranked.push_back(l.value("layer", ""));
      const json none = it->second.value("fp32_layers", json(nullptr));
      all_int8 = none.is_array() && none.empty();
    }
    // Every FP32 layer makes a model larger and (on these kernels) slower: when
    // the ranker's all-INT8 model is already inside the budget, no bisection
    // step can beat it.
    if (CandidateView& v = d_.candidates.back(); all_int8 && Judge(v) && *v.screen_drop <= Allowed(s_.constraint)) {
      d_.trace.push_back(fmt::format(
          "per-layer: every layer in INT8 is inside the budget on the subset (drop {:.2f}): no layer needs FP32",
          *v.screen_drop));
      d_.all_int8_inside_budget = true;
      return true;
    }
    if (ranked.empty()) {
      d_.trace.push_back("per-layer: the MPQ job ranked no layers; no per-layer search");
      return true;
    }
    params.erase("objective");
    params.erase("accuracy_budget");
    params.erase("size_budget");
    int lo = 1, hi = static_cast<int>(ranked.size());
    std::set<int> seen;
    auto step = [&](int k) -> CandidateView* {
      if (seen.insert(k).second) {
        json p = params;
        p["fp32_layers"] = std::vector<std::string>(ranked.begin(), ranked.begin() + k);
        d_.candidates.push_back({.candidate = PerLayerCandidate(s_, jobs_, catalog_, fmt::format("mpq-fp32x{}", k), p, k)});
      }
      for (auto& v : d_.candidates) {
        if (v.candidate.fp32_layers == k) return &v;
      }
      return nullptr;
    };
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      CandidateView* v = step(mid);
      if (!BudgetLeft() && RunOf(v->candidate.screen.key) == nullptr) {
        d_.candidates.pop_back();
        d_.stopped_by = "budget: the per-layer search stopped early";
        return true;
      }
      if (!Need(v->candidate.screen)) return Settled(v->candidate.screen.key);
      Judge(*v);
      const bool ok = v->screen_drop && *v->screen_drop <= Allowed(s_.constraint);
      d_.trace.push_back(fmt::format("per-layer: the {} most sensitive layers in FP32: drop {:.2f} on the subset, {}",
                                     mid, v->screen_drop.value_or(NAN), ok ? "inside the budget" : "outside"));
      (ok ? hi : lo) = ok ? mid : mid + 1;
    }
    if (!seen.count(lo)) {
      CandidateView* v = step(lo);
      if (!Need(v->candidate.screen)) return Settled(v->candidate.screen.key);
    }
    d_.trace.push_back(fmt::format("per-layer: fewest FP32 layers inside the budget on the subset: {} of {} ({})", lo,
                                   ranked.size(), fmt::join(ranked.begin(), ranked.begin() + lo, ", ")));
    return true;
  }

  void Screen() {
    int passed = 0;
    for (auto& v : d_.candidates) {
      if (Judge(v)) {
        passing_.push_back(&v - d_.candidates.data());
        ++passed;
      }
    }
    std::vector<OrderKey> keys;
    for (size_t i : passing_) {
      const auto& v = d_.candidates[i];
      keys.push_back({*v.screen_objective, *v.size_bytes, v.screen_top1.value_or(0), v.candidate.id, i});
    }
    passing_ = NoiseAwareOrder(keys, s_.noise);
    d_.trace.push_back(fmt::format("screened {} candidates on {} images: {} inside the constraint (with a {:g}-sigma "
                                   "margin), {} outside",
                                   d_.candidates.size(), s_.screen_options.eval_images, passed, s_.confidence,
                                   d_.candidates.size() - static_cast<size_t>(passed)));
  }

  // Full-fidelity verdict; true when the full job has run.
  bool JudgeFull(CandidateView& v) {
    const RunRecord* run = RunOf(v.candidate.full.key);
    if (run == nullptr) {
      if (failed_.count(v.candidate.full.key)) v.fate = Fate::kFailed;
      return false;
    }
    const bool is_fp32 = &v == &d_.candidates.front();
    v.full_top1 = Metric(run, metric::kTop1);
    v.full_drop = Drop(s_.constraint, *run, *fp32_full_, is_fp32);
    v.full_objective = Objective(s_.objective, *run, *fp32_full_, is_fp32);
    v.full_agreement = is_fp32 ? 100.0 : Metric(run, metric::kTop1Agreement).value_or(NAN);
    v.size_bytes = SizeOf(*run);
    if (auto ms = Metric(run, metric::Latency("cpu", s_.objective.LatencyBatch(), metric::kP50Ms))) v.latency_ms = ms;
    const bool ok = v.full_drop && v.full_objective && *v.full_drop <= Allowed(s_.constraint) + 1e-9;
    v.fate = ok ? Fate::kFeasible : Fate::kInfeasible;
    return true;
  }

  std::optional<size_t> Best(std::vector<size_t>* order_out = nullptr) {
    std::vector<OrderKey> keys;
    for (size_t i = 0; i < d_.candidates.size(); ++i) {
      const auto& v = d_.candidates[i];
      if (v.fate != Fate::kFeasible) continue;
      keys.push_back({*v.full_objective, *v.size_bytes, v.full_top1.value_or(0), v.candidate.id, i});
    }
    auto order = NoiseAwareOrder(keys, s_.noise);
    if (order_out) *order_out = order;
    if (order.empty()) return std::nullopt;
    return order.front();
  }

  TuneDecision Promote() {
    const size_t wave = std::max<size_t>(1, static_cast<size_t>(std::ceil(passing_.size() / s_.halving)));
    size_t promoted = 0;
    for (int round = 1;; ++round) {
      size_t next = std::min(passing_.size(), promoted + wave);
      for (size_t i = promoted; i < next; ++i) {
        auto& v = d_.candidates[passing_[i]];
        const bool stored_or_asked = Settled(v.candidate.full.key) ||
                                     Asked(v.candidate.full.key);
        if (!stored_or_asked && !BudgetLeft()) {
          next = i;
          d_.stopped_by = fmt::format("budget: {} jobs spent", d_.jobs.size());
          break;
        }
        Need(v.candidate.full);
        v.fate = Fate::kPromoted;
      }
      d_.trace.push_back(fmt::format("wave {}: {} candidate(s) at full fidelity ({} in all)", round, next - promoted,
                                     next));
      promoted = next;
      bool all_in = true;
      for (size_t i = 0; i < promoted; ++i) all_in &= JudgeFull(d_.candidates[passing_[i]]) ||
                                                        failed_.count(d_.candidates[passing_[i]].candidate.full.key);
      if (!all_in) return Finish(false);
      const auto best = Best();
      size_t could_win = 0;
      for (size_t i = promoted; i < passing_.size(); ++i) {
        const auto& v = d_.candidates[passing_[i]];
        could_win += !best || *v.screen_objective < *d_.candidates[*best].screen_objective * (1 - s_.noise);
      }
      if (best) {
        d_.trace.push_back(fmt::format("wave {}: best feasible so far {} (objective {:.3f}, drop {:.2f}); {} "
                                       "unpromoted could still win",
                                       round, d_.candidates[*best].candidate.id, *d_.candidates[*best].full_objective,
                                       *d_.candidates[*best].full_drop, could_win));
      } else {
        d_.trace.push_back(fmt::format("wave {}: nothing feasible at full fidelity yet", round));
      }
      if (could_win == 0 || promoted == passing_.size()) break;
      if (!d_.stopped_by.empty()) break;
      if (s_.budget.max_minutes > 0 && minutes_ > s_.budget.max_minutes) {
        d_.stopped_by = fmt::format("budget: {:.1f} of {} minutes spent", minutes_, s_.budget.max_minutes);
        break;
      }
    }
    JudgeFull(d_.candidates.front());  // the FP32 reference always has its full job
    std::vector<size_t> order;
    d_.winner = Best(&order);
    if (order.size() > 1) d_.runner_up = order[1];
    if (!Race()) return Finish(false);
    if (d_.winner) {
      const auto& w = d_.candidates[*d_.winner];
      d_.trace.push_back(fmt::format("winner: {} (objective {:.3f} of FP32, drop {:.2f} on the full test set)",
                                     w.candidate.id, *w.full_objective, *w.full_drop));
    } else {
      d_.trace.push_back("no candidate is feasible at full fidelity");
    }
    return Finish(true);
  }

  // A latency objective's winner re-timed against its runner-up in
  // alternating rounds: the runner-up takes over when it is faster beyond
  // noise, or within noise and smaller. False while the race has not run.
  bool Race() {
    const bool latency_only = s_.objective.terms.size() == 1 && s_.objective.HasLatency();
    if (!latency_only || !d_.winner || !d_.runner_up) return true;
    auto& w = d_.candidates[*d_.winner];
    auto& r = d_.candidates[*d_.runner_up];
    RaceConfig race{.a_key = w.candidate.full.key, .a_hash = w.candidate.full.config_hash,
                    .b_key = r.candidate.full.key, .b_hash = r.candidate.full.config_hash,
                    .dataset = s_.full.dataset, .engine = w.candidate.full.config.value("engine", ""),
                    .batch_size = s_.objective.LatencyBatch(), .warmup_runs = s_.full.measure.warmup_runs,
                    .runs = std::max(100, s_.full.measure.runs), .threads = s_.full.measure.threads};
    const auto job = RaceJobOf(s_.full, fmt::format("race/{}/vs/{}", w.candidate.id, r.candidate.id), race);
    if (!Asked(job.key) && !Settled(job.key) && !BudgetLeft()) {
      d_.trace.push_back("race: no budget left to re-time the winner against the runner-up");
      return true;
    }
    if (!Need(job)) {
      if (!failed_.count(job.key)) return false;
      d_.trace.push_back("race: the race job failed; the winner stands on its own figures");
      return true;
    }
    const double b_over_a = Metric(RunOf(job.key), metric::kRaceBOverA).value_or(1.0);
    const bool faster = b_over_a < 1 - s_.noise;
    const bool tie_smaller = !faster && b_over_a <= 1 + s_.noise && *r.size_bytes < *w.size_bytes;
    d_.trace.push_back(fmt::format("race: {} takes {:.3f}x the time of {} in alternating rounds ({}){}",
                                   w.candidate.id, 1 / b_over_a, r.candidate.id,
                                   b_over_a > 1 + s_.noise ? "the winner is faster beyond noise"
                                   : faster                ? "the runner-up is faster beyond noise"
                                                           : "within noise",
                                   faster        ? ": the runner-up wins"
                                   : tie_smaller ? ": the smaller runner-up wins"
                                                 : ""));
    if (faster || tie_smaller) std::swap(d_.winner, d_.runner_up);
    return true;
  }

  const TuneSpec& s_;
  const TuneJobs& jobs_;
  const Catalog& catalog_;
  const std::map<std::string, RunRecord>& runs_;
  const std::set<std::string>& failed_;
  double minutes_;
  TuneDecision d_;
  const RunRecord* fp32_screen_ = nullptr;
  const RunRecord* fp32_full_ = nullptr;
  std::vector<size_t> passing_;  // indexes of candidates inside the constraint, in promotion order
};

}  // namespace

std::string_view FateName(Fate fate) {
  switch (fate) {
    case Fate::kWaiting: return "waiting";
    case Fate::kScreenedOut: return "screened out";
    case Fate::kNotPromoted: return "pruned";
    case Fate::kPromoted: return "promoted";
    case Fate::kFeasible: return "feasible";
    case Fate::kInfeasible: return "infeasible";
    case Fate::kFailed: return "failed";
  }
  return "?";
}

Status CheckBudget(const TuneSpec& s, const TuneJobs& jobs) {
  const int64_t least = 1 + static_cast<int64_t>(jobs.candidates.size()) + 2 + (s.per_layer.enabled ? 2 : 0);
  if (s.budget.max_jobs > 0 && s.budget.max_jobs < least) {
    return Error::InvalidArgument("tune.budget.max_jobs: {} jobs cannot search {} candidates: it takes at least {} "
                                  "(training, a screening job each{}, the FP32 reference and one full job)",
                                  s.budget.max_jobs, jobs.candidates.size(), least,
                                  s.per_layer.enabled ? ", the per-layer ranking and one step" : "");
  }
  return OkStatus();
}

TuneDecision DecideTune(const TuneSpec& spec, const TuneJobs& jobs, const Catalog& catalog,
                        const std::map<std::string, RunRecord>& runs, const std::set<std::string>& failed,
                        double minutes) {
  return Search(spec, jobs, catalog, runs, failed, minutes).Decide();
}

}  // namespace qg::exp
