// LocalCluster: a coordinator and workers in this process, talking over
// loopback TCP with a fresh random token. It is the embedded default behind
// `quantgrid run` (the same code path as a real cluster, with nothing for the
// user to start by hand), and the harness of the coordinator's tests and
// benchmarks. Killing the process loses nothing: the database holds every
// result, and the next run resumes from it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "coordinator/coordinator.h"
#include "coordinator/protocol/connection.h"
#include "coordinator/protocol/messages.h"
#include "worker/worker_client.h"

namespace qg::cluster {

struct LocalClusterOptions {
  coord::CoordinatorOptions coordinator;  // listens on 127.0.0.1, any free port; a random token when empty
  // Workers started at once; -1: one per 2 hardware threads (0 is allowed:
  // add them with AddWorker).
  int workers = -1;
  // What each worker offers; default: the machine's cores (at least 2 each,
  // since grid jobs ask for 2), memory and GPUs shared out.
  std::optional<protocol::Resources> worker_resources;
  // Workers' TLS (the cluster's CA) when the coordinator serves TLS.
  protocol::TlsContext worker_tls;
};

class LocalCluster {
 public:
  static Result<std::unique_ptr<LocalCluster>> Start(LocalClusterOptions options);
  ~LocalCluster();  // stops the workers, then the coordinator
  LocalCluster(const LocalCluster&) = delete;
  LocalCluster& operator=(const LocalCluster&) = delete;

  // Starts one more worker (reconnect off: it ends with the cluster).
  worker::WorkerClient& AddWorker(const std::string& name, const protocol::Resources& resources);

  protocol::Endpoint endpoint() const { return {"127.0.0.1", coordinator_->port()}; }
  const std::string& token() const { return token_; }

 private:
  LocalCluster() = default;
  std::string token_;
  protocol::TlsContext worker_tls_;
  std::unique_ptr<coord::Coordinator> coordinator_;
  std::thread coordinator_thread_;
  std::vector<std::unique_ptr<worker::WorkerClient>> workers_;
  std::vector<std::thread> worker_threads_;
};

}  // namespace qg::cluster
