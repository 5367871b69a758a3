// RunJob: executes one train, quantize or export job from its request (its
// typed config, experiments/job_config.h, and the stored runs of the jobs it
// depends on, whose artifacts are its inputs), and returns the RunRecord to
// store: scalar metrics, structured documents, artifacts with their sha256,
// and where it ran. This is what `quantgrid exec-job` runs in a child process
// for workers, local runs and Slurm tasks; scheduling probes never get here
// (worker/job_executor.h runs them in-process).
#pragma once

#include "core/base/result.h"
#include "core/train/train_observer.h"
#include "experiments/job_request.h"
#include "storage/records.h"

namespace qg::runner {

// Errors: the job's own (a missing dataset is NotFound, ...); InvalidArgument
// for a malformed config or a probe kind; FailedPrecondition when a
// dependency did not leave the artifact the job needs.
Result<storage::RunRecord> RunJob(const exp::JobRequest& request, train::TrainObserver* progress = nullptr);

}  // namespace qg::runner
