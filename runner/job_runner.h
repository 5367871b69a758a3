// RunJob: executes one job of an experiment (train / quantize / export) from
// its stored config and the runs of the jobs it depends on, and returns the
// RunRecord to store: scalar metrics, structured documents, artifacts with
// their sha256, and where it ran. This is what
// `quantgrid exec-job` runs in a child process for workers and local runs.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "core/base/result.h"
#include "core/train/train_observer.h"
#include "experiments/job_request.h"
#include "storage/records.h"

namespace qg::pipeline {

using exp::JobRequest;

Result<storage::RunRecord> RunJob(const JobRequest& request, train::TrainObserver* progress = nullptr);

}  // namespace qg::pipeline
