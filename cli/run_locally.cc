#include "cli/run_locally.h"

#include <fmt/format.h>


#include "cli/experiment_watch.h"
#include "cli/results_output.h"
#include "cluster/local_cluster.h"
#include "coordinator/protocol/client.h"
#include "core/base/logging.h"

namespace qg::cli {

Status RunLocally(const ExperimentPlan& plan, const LocalRunOptions& f) {
  if (!plan.note.empty()) fmt::print("{}\n", plan.note);
  Result<WatchSummary> summary = WatchSummary{};
  {
    cluster::LocalClusterOptions options;
    options.coordinator.db = f.db;
    options.coordinator.artifact_root = f.root;
    options.workers = f.workers > 0 ? f.workers : -1;
    QG_ASSIGN_OR_RETURN(auto local, cluster::LocalCluster::Start(options));
    QG_ASSIGN_OR_RETURN(auto submitted, protocol::Request(local->endpoint(), local->token(), SubmitRequest(plan, f.force)));
    Log("run")->info("'{}': {} jobs, {} already done{}", plan.name, submitted["jobs"].get<int>(),
                     submitted["cached"].get<int>(),
                     submitted["cached"] == submitted["jobs"] ? " (nothing to run)" : "");
    summary = WatchUntilDone(CoordinatorPoll(local->endpoint(), local->token(), plan.name),
                             {.experiment = plan.name, .fail_when_stuck = true});
  }  // the cluster stops here: its database is complete
  QG_RETURN_IF_ERROR(summary);
  if (!plan.probe && f.print_table) {
    QG_ASSIGN_OR_RETURN(auto store, OpenForReading(f.db));
    QG_RETURN_IF_ERROR(PrintResults(*store, plan.name, f.format, 0));
    if (!plan.note.empty() && f.format == "md") fmt::print("\n{}\n", plan.note);
  } else if (plan.probe) {
    fmt::print("{}: {} completed, {} failed or cancelled\n", plan.name, summary->completed, summary->failed);
  }
  if (summary->failed > 0) {
    return Error::FailedPrecondition("{} of {} jobs of '{}' did not complete: {}", summary->failed,
                                     summary->failed + summary->completed, plan.name, summary->failures);
  }
  return OkStatus();
}

}  // namespace qg::cli
