// A paper's published table beside ours: per strategy, top-1 and top-5,
// per-image latency (CPU, and GPU where the paper has it), speedup and model
// size, ours, theirs and the difference; then the paper's summary claims
// ("75 % smaller", "2.33x faster") computed from our rows. The spec's
// "published" block holds their numbers and the dataset they used:
//
//   "published": {"source": "...", "dataset": "cifar10", "latency_batch": 1,
//     "rows": {"fp32": {"top1": 94.82, "latency_ms": 3.12, "size_mb": 42.63},
//              "naive_ptq": {"top1": 94.71, "size_mb": 0.01,
//                            "inconsistent": "0.01 MB cannot hold 11 M int8 weights"}},
//     "claims": [{"text": "INT8 size reduction", "kind": "size_reduction",
//                 "row": "naive_ptq", "base": "fp32", "paper": 75}]}
//
// Accuracy differences are printed only when ours ran the paper's dataset
// (a stand-in shows "—"); a GPU figure with no GPU row of ours says so.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/base/text_table.h"
#include "experiments/report/results.h"

namespace qg::exp {

struct Reproduction {
  TextTable rows{std::vector<std::string>{}};
  TextTable claims{std::vector<std::string>{}};  // no rows when the paper lists no claims
  std::vector<std::string> notes;   // inconsistent published figures, why deltas are missing
};

// Claim kinds: size_reduction (percent smaller than base), top1_drop (points
// below base), speedup (base latency / row latency), speed_ratio (same, for
// two runtimes' rows). InvalidArgument when `published` has no rows, or a
// claim has an unknown kind.
Result<Reproduction> ReproduceTable(const ResultsView& ours, const nlohmann::json& published);

}  // namespace qg::exp
