// Following an experiment until it finishes, wherever its jobs run (a
// coordinator, Slurm): a progress line (jobs done / running / pending /
// failed, elapsed, ETA, what runs where and its latest output) whenever
// something changes, and at least every few seconds, so a user never stares
// at a silent terminal. The one watch loop of the CLI; a backend supplies how
// to take a snapshot.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "coordinator/protocol/connection.h"
#include "coordinator/protocol/transport.h"
#include "core/base/result.h"

namespace qg::cli {

struct WatchSummary {
  int completed = 0;
  int running = 0;
  int pending = 0;
  int failed = 0;          // failed or cancelled
  int unplaceable = 0;     // pending jobs no connected worker could ever run
  std::string work;        // "; key on worker: latest line", what runs now
  std::string failures;    // "key: error; key: error"
};

using WatchPoll = std::function<Result<WatchSummary>()>;

struct WatchOptions {
  std::string experiment;
  std::chrono::milliseconds interval{250};
  std::chrono::seconds quiet_at_most{10};  // a line at least this often, changed or not
  // FailedPrecondition when nothing runs while every pending job asks for
  // more than any worker has (a GPU job on a CPU-only machine); on a cluster
  // such jobs wait for a bigger worker instead.
  bool fail_when_stuck = false;
};

// Polls until nothing is pending or running; the last snapshot. Errors: the poll's.
Result<WatchSummary> WatchUntilDone(const WatchPoll& poll, const WatchOptions& options);

// Snapshots from a coordinator's status. Unavailable when it cannot be
// reached; NotFound when it has no such experiment.
WatchPoll CoordinatorPoll(const protocol::Endpoint& coordinator, const std::string& token,
                          const std::string& experiment, const protocol::TlsContext& tls = nullptr);

}  // namespace qg::cli
