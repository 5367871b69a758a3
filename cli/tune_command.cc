// quantgrid tune: the search of a spec's "tune" section
// (experiments/tune/tune_search.h), run as jobs on a coordinator: the
// embedded one of this machine (as `run`), or a cluster's (--to). Each round
// asks the search what it needs, submits it, waits, and reads the results
// back; the search is recomputed from stored results, so a tune killed and
// restarted resumes where it was and reruns nothing stored. With --backend
// slurm each round is a set of job arrays and the store is read directly.
#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "cli/coordinator_client.h"
#include "cli/experiment_plan.h"
#include "cli/experiment_watch.h"
#include "cli/results_output.h"
#include "cli/run_locally.h"
#include "cli/slurm_client.h"
#include "cli/tune_output.h"
#include "cluster/local_cluster.h"
#include "coordinator/protocol/messages.h"
#include "core/base/files.h"
#include "core/base/logging.h"
#include "core/quant/engine.h"
#include "experiments/tune/tune_search.h"
#include "runner/torch_catalog.h"

namespace qg::cli {
namespace {

using nlohmann::json;

struct TuneFlags {
  std::string spec;
  PlanOptions plan;
  LocalRunOptions local;
  std::string backend = "coordinator";
  std::string to, token_file, tls_ca;
  double poll_seconds = 5;  // Slurm
  std::string winner_spec;  // where the winner's spec is written

  bool Slurm() const { return backend == "slurm"; }
};

// What the coordinator has for the experiment so far (nothing before the
// first submission).
Result<exp::TuneOutcomes> FetchOutcomes(const CoordinatorClient& c, const std::string& experiment) {
  auto reply = c.Ask({{"type", "results"}, {"experiment", experiment}, {"documents", {exp::document::kDetails}}});
  exp::TuneOutcomes out;
  if (!reply && reply.error().code == ErrorCode::kNotFound) return out;
  if (!reply) return reply.error();
  if (!reply->contains("runs") || !(*reply)["runs"].is_array()) {
    return Error::InvalidArgument("the coordinator's results reply has no list of runs");
  }
  for (const auto& r : (*reply)["runs"]) {
    QG_ASSIGN_OR_RETURN(auto run, storage::RunRecord::FromJson(r));
    out.runs[run.job_key] = std::move(run);
  }
  for (const auto& f : reply->value("failed", json::array())) {
    if (f.is_object() && f.contains("key") && f["key"].is_string()) out.failed.insert(f["key"].get<std::string>());
  }
  return out;
}

// Where a tune's rounds run: a coordinator (embedded, or a cluster's), or
// Slurm job arrays with the store read directly.
class TuneBackend {
 public:
  static Result<std::unique_ptr<TuneBackend>> Start(const TuneFlags& f) {
    auto b = std::unique_ptr<TuneBackend>(new TuneBackend(f));
    if (f.Slurm()) return b;
    if (f.to.empty()) {
      cluster::LocalClusterOptions options;
      options.coordinator.db = f.local.db;
      options.coordinator.artifact_root = f.local.root;
      options.workers = f.local.workers > 0 ? f.local.workers : -1;
      QG_ASSIGN_OR_RETURN(b->local_, cluster::LocalCluster::Start(options));
      b->coordinator_ = {b->local_->endpoint(), b->local_->token(), nullptr};
    } else {
      QG_ASSIGN_OR_RETURN(b->coordinator_, ReachCoordinator(f.to, f.token_file, f.tls_ca));
    }
    return b;
  }

  Result<exp::TuneOutcomes> Outcomes(const std::string& experiment) {
    if (!f_.Slurm()) return FetchOutcomes(coordinator_, experiment);
    if (!std::filesystem::exists(f_.local.db)) return exp::TuneOutcomes{};
    QG_ASSIGN_OR_RETURN(auto store, OpenForReading(f_.local.db));
    return exp::OutcomesFromStore(*store, experiment);
  }

  // Submits the plan and waits until nothing of it is pending or running.
  Status RunRound(const ExperimentPlan& plan, bool force) {
    if (f_.Slurm()) {
      auto done = RunOnSlurm(plan, {.db = f_.local.db, .root = f_.local.root, .poll_seconds = f_.poll_seconds}, force);
      return done ? OkStatus() : Status(done.error());
    }
    const auto& c = coordinator_;
    QG_ASSIGN_OR_RETURN(auto reply, c.Ask(SubmitRequest(plan, force)));
    Log("tune")->info("'{}': {} jobs, {} already done", plan.name, reply.value("jobs", 0), reply.value("cached", 0));
    // Failed jobs are the search's to judge (their candidates drop out).
    auto done = WatchUntilDone(CoordinatorPoll(c.at, c.token, plan.name, c.tls),
                               {.experiment = plan.name, .fail_when_stuck = local_ != nullptr});
    return done ? OkStatus() : Status(done.error());
  }

  // Stops an embedded cluster (its database is then complete).
  void Stop() { local_.reset(); }

 private:
  explicit TuneBackend(const TuneFlags& f) : f_(f) {}
  const TuneFlags& f_;
  std::unique_ptr<cluster::LocalCluster> local_;
  CoordinatorClient coordinator_;
};

Status Tune(const TuneFlags& f) {
  std::string note;
  QG_ASSIGN_OR_RETURN(json raw, PreparedSpecJson(f.spec, f.plan, &note));
  if (!exp::IsTuneSpec(raw)) {
    return Error::InvalidArgument("spec '{}': tune: required (a grid spec runs with `quantgrid run`)", f.spec);
  }
  runner::TorchCatalog catalog;
  auto parsed = exp::ParseTuneSpec(raw, catalog, quant::DefaultEngine(),
                                   std::filesystem::path(f.spec).parent_path().string());
  if (!parsed) return parsed.error().WithContext(fmt::format("spec '{}'", f.spec));
  const exp::TuneSpec& spec = *parsed;
  auto jobs = exp::TuneJobsOf(spec, catalog);
  if (!jobs) return jobs.error().WithContext(fmt::format("spec '{}'", f.spec));
  if (auto budget = exp::CheckBudget(spec, *jobs); !budget) {
    return budget.error().WithContext(fmt::format("spec '{}'", f.spec));
  }
  if (!note.empty()) fmt::print("{}\n", note);
  const std::string& name = spec.full.name;
  Log("tune")->info("'{}': {} candidates; minimise {} with {}", name, jobs->candidates.size(),
                    spec.objective.Describe(), spec.constraint.Describe());

  QG_ASSIGN_OR_RETURN(auto backend, TuneBackend::Start(f));

  const auto start = std::chrono::steady_clock::now();
  bool force = f.local.force;
  size_t printed = 0, submitted = 0;
  exp::TuneDecision decision;
  for (int round = 1;; ++round) {
    exp::TuneOutcomes outcomes;
    if (!force) {
      QG_ASSIGN_OR_RETURN(outcomes, backend->Outcomes(name));
    }
    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 60;
    decision = exp::DecideTune(spec, *jobs, catalog, outcomes.runs, outcomes.failed, minutes);
    for (; printed < decision.trace.size(); ++printed) Log("tune")->info("{}", decision.trace[printed]);
    if (decision.done) break;
    if (decision.jobs.size() == submitted && !force) {
      return Error::Internal("tune '{}': the search waits for jobs that are not running", name);
    }
    Log("tune")->info("round {}: {} job(s) asked for ({} new)", round, decision.jobs.size(),
                      decision.jobs.size() - submitted);
    const ExperimentPlan plan{.name = name, .spec = spec.full.raw, .jobs = decision.jobs, .slurm = spec.full.slurm};
    QG_RETURN_IF_ERROR(backend->RunRound(plan, force));
    submitted = decision.jobs.size();
    force = false;
  }
  backend->Stop();
  PrintTuneOutcome(spec, decision, f.local.format);
  if (decision.winner && !f.winner_spec.empty()) {
    const json winner = WinnerSpec(spec.full.raw, decision.candidates[*decision.winner].candidate);
    QG_RETURN_IF_ERROR(WriteFileAtomic(f.winner_spec, winner.dump(2) + "\n"));
    if (f.local.format != "json") fmt::print("The winner's spec: {} (quantgrid run {})\n", f.winner_spec, f.winner_spec);
  }
  if (!decision.winner) {
    return Error::FailedPrecondition("tune '{}': no candidate meets {} at full fidelity", name,
                                     spec.constraint.Describe());
  }
  return OkStatus();
}

}  // namespace

void AddTuneCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<TuneFlags>();
  CLI::App* cmd = app.add_subcommand(
      "tune", "Search a spec's \"tune\" space for the best model within an accuracy budget (successive halving, as jobs)");
  cmd->add_option("spec", f->spec, "tune spec (JSON with a \"tune\" section)")->required();
  cmd->add_option("--db", f->local.db, "results database (the embedded coordinator's)")->capture_default_str();
  cmd->add_option("--root", f->local.root, "where artifacts go (<root>/artifacts/<config hash>)")->capture_default_str();
  cmd->add_option("--workers", f->local.workers, "local workers (0: one per 2 hardware threads)")->capture_default_str();
  cmd->add_flag("--force", f->local.force, "rerun jobs whose results are already stored");
  cmd->add_option("--format", f->local.format, "outcome format: md or json")
      ->check(CLI::IsMember({"md", "json"}))
      ->capture_default_str();
  cmd->add_option("--winner-spec", f->winner_spec, "write the winner as a grid spec `quantgrid run` reproduces");
  cmd->add_option("--backend", f->backend, "where the jobs run: a quantgrid coordinator, or Slurm (sbatch job arrays)")
      ->check(CLI::IsMember({"coordinator", "slurm"}))
      ->capture_default_str();
  cmd->add_option("--poll-seconds", f->poll_seconds, "--backend slurm: how often Slurm is asked")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--to", f->to, "run on a cluster: its coordinator's HOST:PORT (else an embedded one)");
  cmd->add_option("--token-file", f->token_file, "--to: file holding the cluster token (else $QG_TOKEN_FILE or $QG_TOKEN)");
  cmd->add_option("--tls-ca", f->tls_ca, "--to: the cluster's CA (PEM)");
  cmd->add_option("--dataset", f->plan.dataset, "another dataset than the spec's (the experiment is renamed)");
  cmd->callback([f, &action] { action = [f] { return Tune(*f); }; });
}

}  // namespace qg::cli
