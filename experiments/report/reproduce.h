// A paper's published table beside ours: per strategy, top-1, per-image
// latency and model size, ours, theirs and the difference. The spec's
// "published" block holds their numbers and the dataset they used.
#pragma once

#include <nlohmann/json.hpp>

#include "core/base/result.h"
#include "core/base/text_table.h"
#include "experiments/report/results.h"

namespace qg::exp {

// `published`: {"source", "dataset", "rows": {"<label>": {"top1", "latency_ms", "size_mb"}}}.
// InvalidArgument when it has no rows.
Result<TextTable> ReproductionTable(const ResultsView& ours, const nlohmann::json& published);

}  // namespace qg::exp
