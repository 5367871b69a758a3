// quantgrid coordinator: serve a cluster's jobs from one SQLite database.
#include <memory>

#include "cli/command.h"
#include "cli/stop_on_signal.h"
#include "coordinator/coordinator.h"
#include "coordinator/protocol/auth.h"

namespace qg::cli {
namespace {

struct CoordinatorFlags {
  coord::CoordinatorOptions options;
  std::string token_file;
};

Status RunCoordinator(CoordinatorFlags f) {
  QG_ASSIGN_OR_RETURN(f.options.token, protocol::LoadToken(f.token_file));
  QG_ASSIGN_OR_RETURN(auto coordinator, coord::Coordinator::Start(f.options));
  // SIGINT / SIGTERM stop it cleanly; the database is consistent either way.
  StopOnSignal([&] { coordinator->Stop(); });
  return coordinator->Run();
}

}  // namespace

void AddCoordinatorCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<CoordinatorFlags>();
  auto& o = f->options;
  CLI::App* cmd = app.add_subcommand("coordinator", "Serve a cluster: schedule submitted experiments onto workers");
  cmd->add_option("--listen", o.listen, "HOST:PORT to accept workers and clients on")->capture_default_str();
  cmd->add_option("--db", o.db, "the cluster's results database (this process is its only writer)")->capture_default_str();
  cmd->add_option("--root", o.artifact_root, "artifact root the workers share")->capture_default_str();
  cmd->add_option("--token-file", f->token_file, "file holding the cluster token (else $QG_TOKEN_FILE or $QG_TOKEN)");
  cmd->add_option("--heartbeat-ms", o.heartbeat_ms, "how often workers beat")->capture_default_str();
  cmd->add_option("--missed-heartbeats", o.missed_heartbeats, "beats missed before a worker is dead")->capture_default_str();
  cmd->add_option("--lease-ms", o.lease_ms, "how long a lease outlives its worker's last heartbeat")->capture_default_str();
  cmd->add_option("--retry-base-ms", o.retry.base_ms, "first retry backoff (doubles per attempt)")->capture_default_str();
  cmd->callback([f, &action] { action = [f] { return RunCoordinator(*f); }; });
}

}  // namespace qg::cli
