// Following an experiment on a coordinator until it finishes: a progress line
// (jobs done / running / pending / failed, elapsed, ETA, what runs where and
// its latest output) whenever something changes, and at least every few
// seconds, so a user never stares at a silent terminal.
#pragma once

#include <string>

#include "coordinator/protocol/connection.h"
#include "core/base/result.h"

namespace qg::cli {

struct WatchSummary {
  int completed = 0;
  int failed = 0;     // failed or cancelled
  std::string failures;  // "key: error; key: error"
};

// Errors: Unavailable when the coordinator cannot be reached;
// FailedPrecondition when `fail_when_stuck` and nothing runs while every
// pending job asks for more than any connected worker has (a GPU job on a
// CPU-only machine): on a cluster such jobs wait for a bigger worker instead.
Result<WatchSummary> WatchExperiment(const protocol::Endpoint& coordinator, const std::string& token,
                                     const std::string& experiment, bool fail_when_stuck);

}  // namespace qg::cli
