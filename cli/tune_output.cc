#include "cli/tune_output.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "core/base/text_table.h"

namespace qg::cli {
namespace {

using nlohmann::json;
using exp::CandidateView;
using exp::Fate;

std::string Num(const std::optional<double>& v, const char* f = "{:.2f}") {
  return v && std::isfinite(*v) ? fmt::format(fmt::runtime(f), *v) : "-";
}

json Opt(const std::optional<double>& v) { return v && std::isfinite(*v) ? json(*v) : json(nullptr); }

// Non-dominated candidates on (screen drop, screen objective): lower is
// better on both. Screening figures, because every evaluated candidate has them.
std::vector<size_t> ParetoFront(const std::vector<CandidateView>& cs) {
  std::vector<size_t> out;
  for (size_t i = 0; i < cs.size(); ++i) {
    const auto& a = cs[i];
    if (!a.screen_drop || !a.screen_objective) continue;
    bool dominated = false;
    for (const auto& b : cs) {
      if (&a == &b || !b.screen_drop || !b.screen_objective) continue;
      const bool no_worse = *b.screen_drop <= *a.screen_drop && *b.screen_objective <= *a.screen_objective;
      const bool better = *b.screen_drop < *a.screen_drop || *b.screen_objective < *a.screen_objective;
      dominated |= no_worse && better;
    }
    if (!dominated) out.push_back(i);
  }
  std::sort(out.begin(), out.end(), [&](size_t x, size_t y) { return *cs[x].screen_objective < *cs[y].screen_objective; });
  return out;
}

// The exhaustive grid's full-fidelity jobs: one per cell of the space
// (per-layer candidates are the tune's own).
int GridFullJobs(const exp::TuneDecision& d) {
  return static_cast<int>(std::count_if(d.candidates.begin(), d.candidates.end(),
                                        [](const CandidateView& v) { return v.candidate.fp32_layers < 0 &&
                                                                            v.candidate.label != "mpq-auto"; }));
}

// Whether mixed precision paid: the best feasible per-layer candidate against
// the best feasible uniform one, on the objective at full fidelity.
std::string MixedVersusUniform(const exp::TuneDecision& d) {
  const CandidateView *mixed = nullptr, *uniform = nullptr;
  for (const auto& v : d.candidates) {
    if (v.fate != Fate::kFeasible || !v.full_objective) continue;
    const bool is_mixed = v.candidate.fp32_layers >= 0 || v.candidate.label == "mpq-auto";
    const CandidateView*& best = is_mixed ? mixed : uniform;
    if (best == nullptr || *v.full_objective < *best->full_objective) best = &v;
  }
  if (d.all_int8_inside_budget) {
    return "Per-layer: every layer in INT8 is already inside the budget, and keeping any in FP32 only adds size and "
           "time: no mixed INT8/FP32 model can beat the uniform winner, so none was run.";
  }
  if (mixed == nullptr) return "Per-layer: no mixed INT8/FP32 candidate is feasible at full fidelity.";
  const std::string uniform_text =
      uniform ? fmt::format("{} ({:.3f})", uniform->candidate.id, *uniform->full_objective) : "none is feasible";
  return fmt::format("Per-layer: the best feasible mixed INT8/FP32 model, {} (objective {:.3f}), {} the best feasible "
                     "uniform one: {}.",
                     mixed->candidate.id, *mixed->full_objective,
                     uniform == nullptr || *mixed->full_objective < *uniform->full_objective ? "beats" : "does not beat",
                     uniform_text);
}

}  // namespace

json WinnerSpec(const json& tune_spec, const exp::TuneCandidate& winner) {
  json spec = tune_spec;
  spec.erase("tune");
  spec["name"] = tune_spec.value("name", "tune") + "-winner";
  spec["description"] = fmt::format("The winner of tune '{}': {}", tune_spec.value("name", ""), winner.id);
  spec["grid"] = exp::WinnerFragment(winner)["grid"];
  return spec;
}

json TuneOutcomeJson(const exp::TuneSpec& spec, const exp::TuneDecision& d) {
  json candidates = json::array();
  for (const auto& v : d.candidates) {
    candidates.push_back({{"id", v.candidate.id},
                          {"fate", exp::FateName(v.fate)},
                          {"fp32_layers", v.candidate.fp32_layers},
                          {"screen_drop", Opt(v.screen_drop)},
                          {"screen_objective", Opt(v.screen_objective)},
                          {"top1", Opt(v.full_top1)},
                          {"drop", Opt(v.full_drop)},
                          {"objective", Opt(v.full_objective)},
                          {"latency_ms", Opt(v.latency_ms)},
                          {"size_bytes", Opt(v.size_bytes)}});
  }
  json out{{"objective", spec.objective.Describe()},
           {"constraint", spec.constraint.Describe()},
           {"candidates", candidates},
           {"screen_jobs", d.screen_jobs},
           {"full_jobs", d.full_jobs},
           {"grid_full_jobs", GridFullJobs(d)},
           {"trace", d.trace},
           {"stopped_by", d.stopped_by}};
  if (d.winner) {
    out["winner"] = d.candidates[*d.winner].candidate.id;
    out["winner_spec"] = WinnerSpec(spec.full.raw, d.candidates[*d.winner].candidate);
  }
  if (d.runner_up) out["runner_up"] = d.candidates[*d.runner_up].candidate.id;
  if (spec.per_layer.enabled) out["per_layer"] = MixedVersusUniform(d);
  json front = json::array();
  for (size_t i : ParetoFront(d.candidates)) front.push_back(d.candidates[i].candidate.id);
  out["pareto_front"] = front;
  return out;
}

void PrintTuneOutcome(const exp::TuneSpec& spec, const exp::TuneDecision& d, const std::string& format) {
  if (format == "json") {
    fmt::print("{}\n", TuneOutcomeJson(spec, d).dump(2));
    return;
  }
  const int64_t batch = spec.objective.LatencyBatch();
  TextTable table({"candidate", "fate", "drop (subset)", "objective (subset)", "top-1", "drop", "objective",
                   batch > 0 ? fmt::format("p50 ms b{}", batch) : "p50 ms", "size MB"},
                  {true, true});
  std::vector<size_t> order(d.candidates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Full-fidelity rows first, by objective; then the rest by screening objective.
  auto rank = [&](size_t i) {
    const auto& v = d.candidates[i];
    return std::make_tuple(!v.full_objective.has_value(), v.full_objective.value_or(v.screen_objective.value_or(1e9)));
  };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rank(a) < rank(b); });
  for (size_t i : order) {
    const auto& v = d.candidates[i];
    std::string fate(exp::FateName(v.fate));
    if (d.winner && *d.winner == i) fate = "**winner**";
    if (d.runner_up && *d.runner_up == i) fate = "runner-up";
    table.AddRow({v.candidate.id, fate, Num(v.screen_drop), Num(v.screen_objective, "{:.3f}"), Num(v.full_top1),
                  Num(v.full_drop), Num(v.full_objective, "{:.3f}"), Num(v.latency_ms, "{:.3f}"),
                  Num(v.size_bytes ? std::optional<double>(*v.size_bytes / 1e6) : std::nullopt, "{:.3f}")});
  }
  fmt::print("\nTune '{}': minimise {} with {}.\n\n{}", spec.full.name, spec.objective.Describe(),
             spec.constraint.Describe(), table.Render(TableFormat::kMarkdown));
  fmt::print("\nObjective: relative to FP32 (1.000 = FP32; latency from each job's paired rounds against FP32). "
             "Drops in points against FP32 at the same fidelity; \"subset\" = the screening job's {} images.\n",
             spec.screen_options.eval_images);
  fmt::print("\nPareto front (drop vs objective, screening figures):");
  for (size_t i : ParetoFront(d.candidates)) {
    fmt::print(" {} ({:.2f}, {:.3f});", d.candidates[i].candidate.id, *d.candidates[i].screen_drop,
               *d.candidates[i].screen_objective);
  }
  const int grid = GridFullJobs(d);
  fmt::print("\n\nJobs: {} screening + {} full-fidelity; the exhaustive grid is {} full-fidelity jobs ({:.0f} %).\n",
             d.screen_jobs, d.full_jobs, grid, grid > 0 ? 100.0 * d.full_jobs / grid : 0.0);
  if (!d.stopped_by.empty()) fmt::print("Stopped early: {}.\n", d.stopped_by);
  if (spec.per_layer.enabled) fmt::print("{}\n", MixedVersusUniform(d));
  if (!d.winner) {
    fmt::print("No candidate meets the constraint at full fidelity.\n");
    return;
  }
  const auto& w = d.candidates[*d.winner];
  fmt::print("\nWinner: {} (objective {:.3f} of FP32, top-1 {:.2f}, drop {:.2f}, {:.3f} MB){}\n", w.candidate.id,
             *w.full_objective, w.full_top1.value_or(NAN), *w.full_drop, w.size_bytes.value_or(0) / 1e6,
             d.runner_up ? fmt::format("; runner-up {}", d.candidates[*d.runner_up].candidate.id) : "");
  fmt::print("As a spec fragment for `quantgrid run`:\n{}\n", exp::WinnerFragment(w.candidate).dump());
}

}  // namespace qg::cli
