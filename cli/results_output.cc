#include "cli/results_output.h"

#include <fmt/format.h>

#include "core/base/text_table.h"
#include "experiments/report/results.h"

namespace qg::cli {

Status PrintResults(storage::ResultStore& store, const std::string& experiment, const std::string& format,
                    int64_t latency_batch) {
  QG_ASSIGN_OR_RETURN(TableFormat table_format, ParseTableFormat(format));
  QG_ASSIGN_OR_RETURN(auto found, store.GetExperiment(experiment));
  if (!found) return Error::NotFound("experiment '{}' is not in the database", experiment);
  QG_ASSIGN_OR_RETURN(auto jobs, store.ListJobs(found->id));
  QG_ASSIGN_OR_RETURN(auto runs, store.RunsOfExperiment(found->id));
  QG_ASSIGN_OR_RETURN(auto view, exp::BuildResults(*found, jobs, runs, latency_batch));
  if (table_format == TableFormat::kMarkdown) {
    fmt::print("\n{}: {} on {}", view.experiment, view.model, view.dataset);
    if (view.train) fmt::print(" (trained: top-1 {:.2f} %)", view.train->metrics.at("top1"));
    fmt::print("\n\n");
  }
  fmt::print("{}", exp::ResultsTable(view).Render(table_format));
  return OkStatus();
}

}  // namespace qg::cli
