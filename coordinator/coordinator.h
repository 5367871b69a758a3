// Coordinator: the process that owns a cluster's SQLite database (its only
// writer) and hands jobs to workers. It accepts TCP connections, checks each
// peer's token by challenge-response, leases jobs to workers whose free
// resources fit, renews leases on heartbeats, declares silent workers dead and
// re-queues their jobs, retries failures with backoff, and answers client
// requests (submit, status, cancel). After a crash it resumes from the
// database: leased jobs run again, completed ones never do.
//
// Everything a peer sends is hostile until it has proved the token, and typed
// after (protocol/messages.h): before the hello, frames are capped at 64 KiB
// and unauthenticated connections are capped in total and per address; a
// message that breaks the protocol gets an error reply and closes its own
// connection. Nothing a peer sends stops the coordinator: only a store that
// cannot record results does.
//
// The pieces: handshake and routing here; worker_pool.h (workers, leases,
// dispatch), client_verbs.h (submit, status, cancel), health_check.h (who has
// gone silent), job_queue.h (what runs next), on the injected Clock.
//
// Threading: all state lives on one io thread (Run()); Stop() and port() may
// be called from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "coordinator/protocol/transport.h"
#include "coordinator/retry_policy.h"
#include "core/base/clock.h"
#include "core/base/result.h"

namespace qg::coord {

struct CoordinatorOptions {
  std::string listen = "127.0.0.1:7070";  // port 0: any free port (see port())
  std::string token;                      // the cluster token (protocol/auth.h)
  // Separate secrets per role (empty: `token`): a worker host that knows
  // only the worker token cannot submit or cancel.
  std::string worker_token;
  std::string client_token;
  std::string db = "runs/quantgrid.db";
  std::string artifact_root = "runs";     // jobs' work dirs: <root>/artifacts/<hash>
  int64_t heartbeat_ms = 1000;            // workers beat this often
  int missed_heartbeats = 5;              // silent this many periods: dead
  int64_t lease_ms = 10000;               // a lease lives this long without a heartbeat
  int64_t handshake_timeout_ms = 5000;    // a peer that does not say hello in time is dropped
  RetryPolicy retry{.jitter = 0.2};
  int max_unauthenticated = 64;           // connections not yet past the hello, in all
  int max_unauthenticated_per_address = 16;
  const Clock* clock = nullptr;           // time for leases, heartbeats, retries; nullptr: the system clock
  // Set: every connection is TLS (protocol/transport.h). Plain TCP on a
  // non-loopback address gets a warning at start.
  protocol::TlsContext tls;
};

class Coordinator {
 public:
  // Opens the store, recovers its jobs and binds the listening socket.
  // Errors: the store's; Unavailable when the address cannot be bound.
  static Result<std::unique_ptr<Coordinator>> Start(const CoordinatorOptions& options);
  ~Coordinator();
  Coordinator(const Coordinator&) = delete;
  Coordinator& operator=(const Coordinator&) = delete;

  // Serves until Stop(); returns the error that stopped it, if any.
  Status Run();
  void Stop();
  uint16_t port() const;

 private:
  class Impl;
  explicit Coordinator(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace qg::coord
