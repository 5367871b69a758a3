// Scheduling probes: job kinds that do no model work, for coordinator tests
// and benchmarks. "noop" returns at once, "sleep" waits config.seconds (0.5 by
// default), "fail" fails. Both exec-job and workers run them; workers run them
// in-process, since they cannot crash and a child process per no-op job would
// measure fork/exec rather than scheduling.
#pragma once

#include "core/base/result.h"
#include "experiments/job_request.h"
#include "storage/records.h"

namespace qg::worker {

bool IsProbeJob(const std::string& kind);

// `run` is the record to fill (identity fields already set).
Result<storage::RunRecord> RunProbeJob(const exp::JobRequest& request, storage::RunRecord run);

}  // namespace qg::worker
