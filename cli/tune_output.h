// What `quantgrid tune` prints when its search ends: every candidate's fate
// and figures, the accuracy-objective Pareto front, how many jobs it ran
// against the exhaustive grid, and the winner as a spec that `run`
// reproduces.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "experiments/tune/tune_search.h"

namespace qg::cli {

// The spec file that runs the winner (and FP32) as a grid: the tune spec's
// sections with its "tune" replaced by the winner's grid fragment.
nlohmann::json WinnerSpec(const nlohmann::json& tune_spec, const exp::TuneCandidate& winner);

// The outcome as one JSON document (what --format json prints).
nlohmann::json TuneOutcomeJson(const exp::TuneSpec& spec, const exp::TuneDecision& decision);

// `format`: "md" (tables) or "json".
void PrintTuneOutcome(const exp::TuneSpec& spec, const exp::TuneDecision& decision, const std::string& format);

}  // namespace qg::cli
