// The HTML report: one self-contained page (inline CSS and SVG, no network)
// with the results table, accuracy-vs-latency Pareto front, model sizes,
// training curves, confusion matrices, layer-wise MSE of every INT8 model and
// the MPQ sensitivity list and front. A small inline script checks on load
// that every chart laid out and marks <body data-rendered="ok N">, which the
// headless-Chromium check reads.
#pragma once

#include <string>

#include "experiments/report/results.h"

namespace qg::exp {

// `extra`: more sections, HTML, at the end of the page (a tune's).
std::string RenderHtmlReport(const ResultsView& view, const storage::ExperimentRecord& experiment,
                             const std::string& extra = "");

}  // namespace qg::exp
