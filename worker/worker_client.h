// WorkerClient: the agent on each machine. It connects to a coordinator,
// proves it knows the cluster token, advertises its resources, and runs the
// jobs it is leased through a JobExecution (job_executor.h: probes
// in-process, everything else in a `quantgrid exec-job` child), so a job that
// crashes or aborts cannot take the worker down. It beats its heartbeat, streams each job's
// output lines, reports results, kills a job whose lease is revoked, and,
// when the coordinator goes away, kills its jobs (their leases will expire)
// and reconnects with a jittered backoff (core/base/backoff.h).
//
// Threading: Run() blocks on the calling thread; Stop() is safe from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "coordinator/protocol/connection.h"
#include "coordinator/protocol/messages.h"
#include "core/base/result.h"

namespace qg::worker {

struct WorkerOptions {
  protocol::Endpoint coordinator;
  std::string token;
  protocol::TlsContext tls;      // set: TLS, the coordinator's certificate checked against this CA
  std::string name;              // unique in the cluster; empty: <host>-<pid>
  protocol::Resources resources;
  std::string executable;        // runs child jobs; empty: this process's executable
  bool reconnect = true;         // keep serving across coordinator restarts
  int64_t reconnect_max_ms = 2000;
};

class WorkerClient {
 public:
  explicit WorkerClient(WorkerOptions options);
  ~WorkerClient();
  WorkerClient(const WorkerClient&) = delete;
  WorkerClient& operator=(const WorkerClient&) = delete;

  // Serves until Stop(). Returns at once with Unauthenticated (or
  // FailedPrecondition) when the coordinator refuses this worker; without
  // `reconnect`, also returns when the first connection fails or ends.
  Status Run();
  void Stop();
  int64_t jobs_completed() const;
  // Jobs running now (safe from any thread).
  int jobs_running() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qg::worker
