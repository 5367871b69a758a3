// quantgrid submit / status / cancel: a client of a running coordinator, or,
// with --backend slurm, of a Slurm cluster (cli/slurm_client.h).
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "cli/coordinator_client.h"
#include "cli/experiment_plan.h"
#include "cli/experiment_watch.h"
#include "cli/slurm_client.h"
#include "core/base/logging.h"

namespace qg::cli {
namespace {

struct ClientFlags {
  std::string backend = "coordinator";
  std::string to;
  std::string token_file;
  std::string tls_ca;
  SlurmClientFlags slurm;

  bool Slurm() const { return backend == "slurm"; }
  Status Check() const {
    if (!Slurm() && to.empty()) return Error::InvalidArgument("--to HOST:PORT is required with --backend coordinator");
    return OkStatus();
  }
};

void AddClientFlags(CLI::App* cmd, ClientFlags& f) {
  cmd->add_option("--backend", f.backend, "where jobs run: a quantgrid coordinator, or Slurm (sbatch job arrays)")
      ->check(CLI::IsMember({"coordinator", "slurm"}))
      ->capture_default_str();
  cmd->add_option("--to", f.to, "the coordinator's HOST:PORT (--backend coordinator)");
  cmd->add_option("--token-file", f.token_file, "file holding the cluster token (else $QG_TOKEN_FILE or $QG_TOKEN)");
  cmd->add_option("--tls-ca", f.tls_ca, "the cluster's CA (PEM): talk TLS and check the coordinator's certificate");
  cmd->add_option("--db", f.slurm.db, "results database (--backend slurm; tasks write to it)")->capture_default_str();
  cmd->add_option("--root", f.slurm.root, "artifacts, sbatch scripts and task logs (--backend slurm)")
      ->capture_default_str();
}

Result<CoordinatorClient> Reach(const ClientFlags& f) { return ReachCoordinator(f.to, f.token_file, f.tls_ca); }

struct SubmitFlags {
  ClientFlags client;
  std::string spec;
  bool force = false;
  bool wait = false;
};

Status Submit(const SubmitFlags& f) {
  QG_RETURN_IF_ERROR(f.client.Check());
  QG_ASSIGN_OR_RETURN(auto plan, PlanFromFile(f.spec));
  if (f.client.Slurm()) return SubmitToSlurm(plan, f.client.slurm, f.force, f.wait);
  QG_ASSIGN_OR_RETURN(auto c, Reach(f.client));
  QG_ASSIGN_OR_RETURN(auto reply, c.Ask(SubmitRequest(plan, f.force)));
  fmt::print("submitted '{}' to {}: {} jobs, {} already done\n", plan.name, c.at.ToString(), reply["jobs"].get<int>(),
             reply["cached"].get<int>());
  if (!f.wait) return OkStatus();
  QG_ASSIGN_OR_RETURN(auto summary,
                      WatchUntilDone(CoordinatorPoll(c.at, c.token, plan.name, c.tls), {.experiment = plan.name}));
  fmt::print("'{}': {} completed, {} failed or cancelled\n", plan.name, summary.completed, summary.failed);
  if (summary.failed > 0) return Error::FailedPrecondition("'{}': {}", plan.name, summary.failures);
  return OkStatus();
}

struct StatusFlags {
  ClientFlags client;
  std::string experiment;
  bool json = false;
};

Status PrintStatus(const StatusFlags& f) {
  QG_RETURN_IF_ERROR(f.client.Check());
  if (f.client.Slurm()) return PrintSlurmStatus(f.client.slurm, f.experiment, f.json);
  QG_ASSIGN_OR_RETURN(auto c, Reach(f.client));
  QG_ASSIGN_OR_RETURN(auto status, c.Ask({{"type", "status"}}));
  if (f.json) {
    fmt::print("{}\n", status.dump(2));
    return OkStatus();
  }
  fmt::print("experiments on {}:\n", c.at.ToString());
  for (const auto& e : status["experiments"]) {
    fmt::print("  {:<24} {:>5} done {:>4} running {:>5} pending {:>4} failed {:>4} cancelled\n",
               e["name"].get<std::string>(), e["completed"].get<int>(), e["running"].get<int>(),
               e["pending"].get<int>(), e["failed"].get<int>(), e["cancelled"].get<int>());
    for (const auto& x : e["failures"]) {
      fmt::print("    failed {}: {}\n", x["key"].get<std::string>(), x["error"].get<std::string>());
    }
  }
  fmt::print("workers:\n");
  for (const auto& w : status["workers"]) {
    const std::string cpu = w["resources"].value("cpu", "");
    fmt::print("  {:<24} {} ({} cpus, {} gpus, {} MB free of {} cpus, {} gpus){}\n", w["name"].get<std::string>(),
               w["peer"].get<std::string>(), w["free"]["cpus"].get<double>(), w["free"]["gpus"].get<int>(),
               w["free"]["memory_mb"].get<int64_t>(), w["resources"]["cpus"].get<double>(),
               w["resources"]["gpus"].get<int>(), cpu.empty() ? "" : ", " + cpu);
    for (const auto& r : w["running"]) {
      fmt::print("    running {} {}\n", r["key"].get<std::string>(), r["line"].get<std::string>());
    }
  }
  return OkStatus();
}

struct CancelFlags {
  ClientFlags client;
  std::string experiment;
  std::string job;
};

Status Cancel(const CancelFlags& f) {
  QG_RETURN_IF_ERROR(f.client.Check());
  if (f.client.Slurm()) return CancelInSlurm(f.client.slurm, f.experiment, f.job);
  if (!f.job.empty()) {
    return Error::InvalidArgument("--job is for --backend slurm; a coordinator cancels whole experiments");
  }
  QG_ASSIGN_OR_RETURN(auto c, Reach(f.client));
  QG_ASSIGN_OR_RETURN(auto reply, c.Ask({{"type", "cancel"}, {"experiment", f.experiment}}));
  fmt::print("cancelled '{}' ({} running job(s) stopped)\n", f.experiment, reply["revoked"].get<int>());
  return OkStatus();
}

}  // namespace

void AddClientCommands(CLI::App& app, Action& action) {
  auto submit = std::make_shared<SubmitFlags>();
  CLI::App* cmd = app.add_subcommand("submit", "Submit an experiment spec to a coordinator");
  cmd->add_option("spec", submit->spec, "experiment spec (JSON)")->required();
  AddClientFlags(cmd, submit->client);
  cmd->add_flag("--force", submit->force, "rerun jobs whose results are already stored");
  cmd->add_flag("--wait", submit->wait, "follow progress until the experiment finishes");
  cmd->add_option("--poll-seconds", submit->client.slurm.poll_seconds,
                  "--backend slurm --wait: how often Slurm is asked")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->callback([submit, &action] { action = [submit] { return Submit(*submit); }; });

  auto status = std::make_shared<StatusFlags>();
  cmd = app.add_subcommand("status", "Show a coordinator's experiments, jobs and workers, or Slurm's job states");
  AddClientFlags(cmd, status->client);
  cmd->add_option("--experiment", status->experiment, "--backend slurm: only this experiment");
  cmd->add_flag("--json", status->json, "print the raw status document");
  cmd->callback([status, &action] { action = [status] { return PrintStatus(*status); }; });

  auto cancel = std::make_shared<CancelFlags>();
  cmd = app.add_subcommand("cancel", "Cancel an experiment's pending and running jobs");
  cmd->add_option("experiment", cancel->experiment, "experiment name")->required();
  AddClientFlags(cmd, cancel->client);
  cmd->add_option("--job", cancel->job, "--backend slurm: cancel only this job (its key)");
  cmd->callback([cancel, &action] { action = [cancel] { return Cancel(*cancel); }; });
}

}  // namespace qg::cli
