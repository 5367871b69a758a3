// Scheduling probes: job kinds that do no model work, for coordinator tests
// and benchmarks. "noop" returns at once, "sleep" waits config.seconds (0.5 by
// default), "fail" fails. JobExecutor runs them in this process.
#pragma once

#include <chrono>
#include <functional>

#include "core/base/result.h"
#include "experiments/job_request.h"
#include "storage/records.h"

namespace qg::worker {

// Waits `seconds` unless cancelled first; false when cancelled.
using ProbeWait = std::function<bool(std::chrono::duration<double> seconds)>;

// InvalidArgument for a malformed probe config; Internal for a "fail" probe;
// Unavailable when `wait` reports a cancellation.
Result<storage::RunRecord> RunProbeJob(const exp::JobRequest& request, const ProbeWait& wait);

}  // namespace qg::worker
