// Job DAG bookkeeping over stored job records: which pending jobs may start
// (every dependency completed, backoff elapsed), and which can never start
// because a dependency failed or was cancelled. Pure functions; the local
// runner and the coordinator both use them.
#pragma once

#include <string>
#include <vector>

#include "core/base/result.h"
#include "storage/records.h"

namespace qg::exp {

// InvalidArgument when a dependency names no job or the graph has a cycle.
Status CheckDependencies(const std::vector<storage::JobRecord>& jobs);

// Indices of pending jobs whose dependencies all completed and whose
// not_before time has passed (`now_ms`), in stored order.
std::vector<size_t> ReadyJobs(const std::vector<storage::JobRecord>& jobs, int64_t now_ms);

struct Blocked {
  size_t index;
  std::string reason;  // "dependency 'train/seed0' failed"
};
// Pending jobs that can never run: a dependency failed or was cancelled.
std::vector<Blocked> BlockedJobs(const std::vector<storage::JobRecord>& jobs);

}  // namespace qg::exp
