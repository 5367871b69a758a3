#include "cli/results_output.h"

#include <fmt/format.h>

#include "core/base/text_table.h"
#include "experiments/report/regression.h"
#include "experiments/report/results.h"
#include "experiments/report/speedups.h"

namespace qg::cli {

Result<std::unique_ptr<storage::SqliteResultStore>> OpenForReading(const std::string& db) {
  return storage::SqliteResultStore::Open(db, SystemClock::Instance(), {.create = false, .read_only = true});
}

Status PrintResults(storage::ResultStore& store, const std::string& experiment, const std::string& format,
                    int64_t latency_batch) {
  QG_ASSIGN_OR_RETURN(auto loaded, exp::LoadResults(store, experiment, latency_batch));
  const auto& view = loaded->view;
  if (format == "json") {
    fmt::print("{}\n", exp::BaselineJson(view).dump(2));
    return OkStatus();
  }
  QG_ASSIGN_OR_RETURN(TableFormat table_format, ParseTableFormat(format));
  if (table_format == TableFormat::kMarkdown) {
    fmt::print("\n{}: {} on {}", view.experiment, view.model, view.dataset);
    if (view.train) fmt::print(" (trained: top-1 {:.2f} %)", view.train->metrics.at("top1"));
    fmt::print("\n\n");
  }
  fmt::print("{}", exp::ResultsTable(view).Render(table_format));
  // CSV stays one table; LaTeX gets it as a comment for the paper's caption.
  if (const std::string caption = exp::SpeedupCaption(view); !caption.empty() && table_format != TableFormat::kCsv) {
    fmt::print("\n{}{}\n", table_format == TableFormat::kLatex ? "% " : "", caption);
  }
  if (table_format != TableFormat::kCsv) {
    for (const auto& note : exp::TableNotes(view)) {
      fmt::print("{}{}\n", table_format == TableFormat::kLatex ? "% " : "", note);
    }
  }
  return OkStatus();
}

}  // namespace qg::cli
