// The tune section of the HTML report: every evaluated candidate on the
// accuracy-objective plane (screening figures for all, full-fidelity ones
// marked, the winner named), how many jobs ran against the exhaustive grid,
// and the search trace.
#pragma once

#include <string>

#include "experiments/tune/tune_search.h"

namespace qg::exp {

std::string TuneSectionHtml(const TuneSpec& spec, const TuneDecision& decision);

}  // namespace qg::exp
