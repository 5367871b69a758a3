// The jobs of a tune: each candidate's screening and full-fidelity quantize
// jobs (the full one is the grid's own, same config hash), the per-layer
// candidates the search adds as it goes, what a store holds of them, and the
// winner written back as a grid fragment. The search itself is
// tune_search.h.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "experiments/catalog.h"
#include "experiments/tune/tune_spec.h"
#include "storage/records.h"
#include "storage/result_store.h"

namespace qg::exp {

inline constexpr const char* kScreenPrefix = "screen/";
inline constexpr const char* kQuantizePrefix = "quantize/";

struct TuneCandidate {
  std::string id;     // the grid key after "quantize/": "bn_fold/minmax/c1000/onednn/cpu/seed0"
  std::string label;  // the strategy entry's label
  storage::JobRecord screen;  // "screen/<id>"
  storage::JobRecord full;    // "quantize/<id>": the same job (and config hash) as a grid's
  int fp32_layers = -1;       // per-layer candidates: how many of the most sensitive layers stay FP32
};

// Every job a tune may ask for, built once from its spec.
struct TuneJobs {
  storage::JobRecord train;
  std::vector<TuneCandidate> candidates;  // the space's cells; the FP32 row first
};

Result<TuneJobs> TuneJobsOf(const TuneSpec& spec, const Catalog& catalog);

// A per-layer candidate: mpq with `params` (fp32_layers among them) under
// `label`, at both fidelities; `fp32_layers` is -1 for the ranking job.
TuneCandidate PerLayerCandidate(const TuneSpec& spec, const TuneJobs& jobs, const Catalog& catalog,
                                const std::string& label, nlohmann::json params, int fp32_layers);

// What an experiment's jobs came to, as the search reads it.
struct TuneOutcomes {
  std::map<std::string, storage::RunRecord> runs;  // by this experiment's job key
  std::set<std::string> failed;                    // failed or cancelled jobs' keys
};
// From a store (Slurm's, or a report's); empty when the experiment is not there yet.
Result<TuneOutcomes> OutcomesFromStore(storage::ResultStore& store, const std::string& experiment);

// The winner's quantize config as a spec fragment that `run` reproduces:
// {"grid": {"strategies": [{"name", "label", "params"}], "engines": [...]}}.
nlohmann::json WinnerFragment(const TuneCandidate& winner);

}  // namespace qg::exp
