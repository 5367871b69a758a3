// Running an experiment on this machine: an embedded cluster
// (cluster/local_cluster.h) takes the plan, runs every job that has no stored
// result, and this prints progress while it works and the table at the end.
// Shared by `run` and `reproduce`.
#pragma once

#include <string>

#include "cli/experiment_plan.h"
#include "core/base/result.h"

namespace qg::cli {

struct LocalRunOptions {
  std::string db = "runs/quantgrid.db";
  std::string root = "runs";  // artifacts under <root>/artifacts/<config hash>
  bool force = false;         // rerun jobs whose results are stored
  std::string format = "md";
  bool print_table = true;
  int workers = 0;            // local workers; 0: one per 2 hardware threads
};

// Errors: the store's; FailedPrecondition when jobs did not complete.
Status RunLocally(const ExperimentPlan& plan, const LocalRunOptions& options);

}  // namespace qg::cli
