// The tune's search: successive halving over fidelity, decided from stored
// runs alone. DecideTune is a pure function of the spec, the candidates and
// the runs stored so far: every call recomputes the whole search from them,
// so a tune killed and restarted (or driven from another machine) makes the
// same decisions, asks for the same jobs, and reruns nothing that is stored.
//
// The search:
//  1. every candidate gets a cheap screening job (calibrate, top-1 on a
//     validation subset, a short paired latency run); the FP32 row also gets
//     its full job, the reference of the constraint and the objective;
//  2. with per_layer, an MPQ job ranks the layers by sensitivity, and a
//     bisection over "the k most sensitive layers stay FP32" finds the fewest
//     that meet the budget at screening fidelity, each step a measured job;
//  3. candidates inside the constraint (with a confidence margin of
//     `confidence` standard errors of the subset's top-1 drop) are ordered by
//     objective, ties within `noise` going to the smaller, then the more
//     accurate model; waves of 1/halving of them get full-fidelity jobs;
//  4. another wave follows only while an unpromoted candidate could still
//     win: no promoted one is feasible at full fidelity, or one screened
//     clearly (beyond noise) faster/smaller than the best feasible one;
//  5. the winner is the first feasible full-fidelity candidate in the same
//     noise-aware order; its runner-up is the next.
// Latency terms use each job's paired ratio against the FP32 model (timed in
// alternating rounds inside the job), not latencies measured minutes apart.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "experiments/catalog.h"
#include "experiments/tune/tune_jobs.h"
#include "experiments/tune/tune_spec.h"
#include "storage/records.h"

namespace qg::exp {

enum class Fate {
  kWaiting,      // its screening job has not run
  kScreenedOut,  // outside the constraint even with the margin
  kNotPromoted,  // inside, but could not win
  kPromoted,     // its full job runs
  kFeasible,     // full fidelity: inside the constraint
  kInfeasible,   // full fidelity: outside
  kFailed,       // a job of it failed
};
std::string_view FateName(Fate fate);

struct CandidateView {
  TuneCandidate candidate;
  Fate fate = Fate::kWaiting;
  std::optional<double> screen_top1, screen_drop, screen_objective;
  std::optional<double> full_top1, full_drop, full_objective, full_agreement;
  std::optional<double> latency_ms;  // full job's p50 at the objective's batch (or the screen's)
  std::optional<double> size_bytes;
};

struct TuneDecision {
  std::vector<storage::JobRecord> jobs;  // every job the search needs so far (submit them all)
  bool done = false;                     // nothing more to run: the winner (if any) is final
  std::vector<CandidateView> candidates;
  std::optional<size_t> winner, runner_up;  // indexes into `candidates`
  std::vector<std::string> trace;           // what was decided, in order
  int screen_jobs = 0, full_jobs = 0;       // quantize jobs asked for, by fidelity
  std::string stopped_by;                   // "", or why the search stopped early (budget)
  bool all_int8_inside_budget = false;      // per-layer: no layer needed FP32, so no bisection ran
};

// InvalidArgument naming tune.budget.max_jobs when the budget cannot even
// train, screen every candidate, and run the FP32 reference and one
// candidate at full fidelity.
Status CheckBudget(const TuneSpec& spec, const TuneJobs& jobs);

// `runs`: stored runs by job key (this experiment's completed jobs);
// `failed`: keys of jobs that failed for good; `minutes`: time spent so far
// (for the wall-time budget).
TuneDecision DecideTune(const TuneSpec& spec, const TuneJobs& jobs, const Catalog& catalog,
                        const std::map<std::string, storage::RunRecord>& runs, const std::set<std::string>& failed,
                        double minutes);

}  // namespace qg::exp
