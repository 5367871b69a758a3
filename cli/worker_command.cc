// quantgrid worker: offer this machine to a coordinator and run what it leases.
#include <memory>

#include "cli/command.h"
#include "cli/stop_on_signal.h"
#include "coordinator/protocol/auth.h"
#include "coordinator/protocol/transport.h"
#include "worker/resource_probe.h"
#include "worker/worker_client.h"

namespace qg::cli {
namespace {

struct WorkerFlags {
  std::string connect;
  std::string token_file;
  std::string tls_ca;
  worker::WorkerOptions options;
  double cpus = -1;
  int gpus = -1;
  int64_t memory_mb = -1;
};

Status RunWorker(WorkerFlags f) {
  QG_ASSIGN_OR_RETURN(f.options.coordinator, protocol::ParseEndpoint(f.connect));
  QG_ASSIGN_OR_RETURN(f.options.token, protocol::LoadToken(f.token_file));
  if (!f.tls_ca.empty()) {
    QG_ASSIGN_OR_RETURN(f.options.tls, protocol::ClientTlsContext(f.tls_ca));
  }
  f.options.resources = worker::ProbeResources();
  if (f.cpus >= 0) f.options.resources.cpus = f.cpus;
  if (f.gpus >= 0) f.options.resources.gpus = f.gpus;
  if (f.memory_mb >= 0) f.options.resources.memory_mb = f.memory_mb;
  worker::WorkerClient client(f.options);
  StopOnSignal([&] { client.Stop(); });
  return client.Run();
}

}  // namespace

void AddWorkerCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<WorkerFlags>();
  CLI::App* cmd = app.add_subcommand("worker", "Join a cluster: run the jobs a coordinator leases to this machine");
  cmd->add_option("--connect", f->connect, "the coordinator's HOST:PORT")->required();
  cmd->add_option("--token-file", f->token_file, "file holding the cluster token (else $QG_TOKEN_FILE or $QG_TOKEN)");
  cmd->add_option("--tls-ca", f->tls_ca, "the cluster's CA (PEM): talk TLS and check the coordinator's certificate");
  cmd->add_option("--name", f->options.name, "unique worker name (default: <host>-<pid>)");
  cmd->add_option("--cpus", f->cpus, "cores to offer (default: all)");
  cmd->add_option("--gpus", f->gpus, "GPUs to offer (default: /dev/nvidiaN count)");
  cmd->add_option("--memory-mb", f->memory_mb, "memory to offer (default: all)");
  cmd->add_flag("!--no-reconnect", f->options.reconnect, "exit when the coordinator goes away instead of reconnecting");
  cmd->callback([f, &action] { action = [f] { return RunWorker(*f); }; });
}

}  // namespace qg::cli
