#include "experiments/tune/tune_jobs.h"

#include <fmt/format.h>

#include "experiments/grid.h"

namespace qg::exp {

using nlohmann::json;
using storage::JobRecord;

TuneCandidate PerLayerCandidate(const TuneSpec& s, const TuneJobs& jobs, const Catalog& catalog,
                                const std::string& label, json params, int fp32_layers) {
  auto resolved = catalog.ResolveStrategyParams("mpq", params, "tune.per_layer.params");
  QuantizeConfig q{.dataset = s.full.dataset, .strategy = "mpq", .label = label,
                   .params = resolved ? *resolved : params, .engine = s.full.engines.front(), .device = "cpu",
                   .measure = s.full.measure, .seed = s.full.seeds.front(), .train_hash = jobs.train.config_hash};
  TuneCandidate c;
  c.id = fmt::format("{}/{}/cpu/seed{}", label, q.engine, q.seed);
  c.label = label;
  c.fp32_layers = fp32_layers;
  c.full = QuantizeJobOf(s.full, kQuantizePrefix + c.id, q, jobs.train.key);
  q.measure = s.screen.measure;
  c.screen = QuantizeJobOf(s.screen, kScreenPrefix + c.id, q, jobs.train.key);
  return c;
}

Result<TuneJobs> TuneJobsOf(const TuneSpec& s, const Catalog& catalog) {
  QG_ASSIGN_OR_RETURN(auto full, ExpandGrid(s.full, catalog));
  QG_ASSIGN_OR_RETURN(auto screen, ExpandGrid(s.screen, catalog));
  TuneJobs out;
  out.train = full.front();
  if (screen.front().config_hash != out.train.config_hash) {
    return Error::Internal("tune: screening and full jobs train different models");
  }
  std::map<std::string, JobRecord> screens;
  for (auto& j : screen) {
    if (j.kind != "quantize") continue;
    const std::string id = j.key.substr(std::string(kQuantizePrefix).size());
    j.key = kScreenPrefix + id;
    screens[id] = std::move(j);
  }
  for (auto& j : full) {
    if (j.kind != "quantize") continue;
    TuneCandidate c;
    c.id = j.key.substr(std::string(kQuantizePrefix).size());
    c.label = j.config.value("label", "");
    c.screen = screens.at(c.id);
    const bool fp32 = j.config.value("strategy", "") == "fp32";
    c.full = std::move(j);
    if (fp32 && out.candidates.size() > 0 && out.candidates.front().full.config.value("strategy", "") != "fp32") {
      out.candidates.insert(out.candidates.begin(), std::move(c));
    } else {
      out.candidates.push_back(std::move(c));
    }
  }
  return out;
}

Result<TuneOutcomes> OutcomesFromStore(storage::ResultStore& store, const std::string& experiment) {
  TuneOutcomes out;
  QG_ASSIGN_OR_RETURN(auto e, store.GetExperiment(experiment));
  if (!e) return out;
  QG_ASSIGN_OR_RETURN(auto jobs, store.ListJobs(e->id));
  for (const auto& job : jobs) {
    if (job.state == storage::JobState::kFailed || job.state == storage::JobState::kCancelled) {
      out.failed.insert(job.key);
    }
    if (job.state != storage::JobState::kCompleted) continue;
    QG_ASSIGN_OR_RETURN(auto run, store.FindRun(job.config_hash));
    if (run) out.runs[job.key] = std::move(*run);
  }
  return out;
}

json WinnerFragment(const TuneCandidate& winner) {
  const json& c = winner.full.config;
  json entry{{"name", c.value("strategy", "")}, {"label", c.value("label", "")}, {"params", c.value("params", json::object())}};
  json grid{{"strategies", json::array({"fp32", entry})}};
  if (const std::string engine = c.value("engine", ""); !engine.empty()) grid["engines"] = {engine};
  return {{"grid", grid}};
}

}  // namespace qg::exp
