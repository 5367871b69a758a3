// Job DAG validation over job records, before anything is stored: every
// dependency names a job of the same experiment, and there is no cycle.
// Which jobs may start, and which never will, is the coordinator's JobQueue
// (it tracks that incrementally as jobs finish).
#pragma once

#include <vector>

#include "core/base/result.h"
#include "storage/records.h"

namespace qg::exp {

// InvalidArgument when a dependency names no job or the graph has a cycle.
Status CheckDependencies(const std::vector<storage::JobRecord>& jobs);

}  // namespace qg::exp
