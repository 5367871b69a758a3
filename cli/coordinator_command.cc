// quantgrid coordinator: serve a cluster's jobs from one SQLite database.
#include <memory>

#include "cli/command.h"
#include "cli/stop_on_signal.h"
#include "coordinator/coordinator.h"
#include "coordinator/protocol/auth.h"
#include "coordinator/protocol/transport.h"

namespace qg::cli {
namespace {

struct CoordinatorFlags {
  coord::CoordinatorOptions options;
  std::string token_file;
  std::string worker_token_file;
  std::string client_token_file;
  std::string tls_cert;
  std::string tls_key;
};

Status RunCoordinator(CoordinatorFlags f) {
  // Separate secrets per role: a worker host cannot submit or cancel. One
  // shared token still serves a single-user setup.
  if (f.worker_token_file.empty() != f.client_token_file.empty()) {
    return Error::InvalidArgument("--worker-token-file and --client-token-file go together");
  }
  if (!f.worker_token_file.empty()) {
    QG_ASSIGN_OR_RETURN(f.options.worker_token, protocol::LoadToken(f.worker_token_file));
    QG_ASSIGN_OR_RETURN(f.options.client_token, protocol::LoadToken(f.client_token_file));
    if (f.options.worker_token == f.options.client_token) {
      return Error::InvalidArgument("the worker and client tokens must differ, or roles mean nothing");
    }
  } else {
    QG_ASSIGN_OR_RETURN(f.options.token, protocol::LoadToken(f.token_file));
  }
  if (!f.tls_cert.empty() || !f.tls_key.empty()) {
    QG_ASSIGN_OR_RETURN(f.options.tls, protocol::ServerTlsContext(f.tls_cert, f.tls_key));
  }
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
  cmd->add_option("--worker-token-file", f->worker_token_file, "file holding the token workers prove (with --client-token-file)");
  cmd->add_option("--client-token-file", f->client_token_file, "file holding the token clients prove (submit, status, cancel)");
  cmd->add_option("--tls-cert", f->tls_cert, "this coordinator's certificate chain (PEM): serve TLS only");
  cmd->add_option("--tls-key", f->tls_key, "the private key of --tls-cert (PEM)");
  cmd->add_option("--heartbeat-ms", o.heartbeat_ms, "how often workers beat")->capture_default_str();
  cmd->add_option("--missed-heartbeats", o.missed_heartbeats, "beats missed before a worker is dead")->capture_default_str();
  cmd->add_option("--lease-ms", o.lease_ms, "how long a lease outlives its worker's last heartbeat")->capture_default_str();
  cmd->add_option("--retry-base-ms", o.retry.base_ms, "first retry backoff (doubles per attempt)")->capture_default_str();
  cmd->callback([f, &action] { action = [f] { return RunCoordinator(*f); }; });
}

}  // namespace qg::cli
