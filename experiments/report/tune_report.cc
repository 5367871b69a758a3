#include "experiments/report/tune_report.h"

#include <fmt/format.h>

#include "experiments/report/svg_plots.h"

namespace qg::exp {

std::string TuneSectionHtml(const TuneSpec& spec, const TuneDecision& d) {
  std::vector<ScatterPoint> full, screened;
  int grid = 0;
  for (size_t i = 0; i < d.candidates.size(); ++i) {
    const auto& v = d.candidates[i];
    grid += v.candidate.fp32_layers < 0 && v.candidate.label != "mpq-auto";
    const std::string name = d.winner && *d.winner == i ? "winner: " + v.candidate.id : v.candidate.id;
    if (v.full_objective && v.full_top1) full.push_back({*v.full_objective, *v.full_top1, name});
    if (v.screen_objective && v.screen_top1) {
      // Labels only where they say something: the rest are the cloud.
      const bool named = v.fate == Fate::kFeasible || (d.winner && *d.winner == i);
      screened.push_back({*v.screen_objective, *v.screen_top1,
                          named ? name : std::string(v.fate == Fate::kScreenedOut ? "x" : "·")});
    }
  }
  std::string html = fmt::format(
      "<h2>Tune: minimise {} with {}</h2><p class=sub>{} screening + {} full-fidelity jobs; the exhaustive grid is {} "
      "full-fidelity jobs ({:.0f} %).{}</p><div class=grid>",
      EscapeXml(spec.objective.Describe()), EscapeXml(spec.constraint.Describe()), d.screen_jobs, d.full_jobs, grid,
      grid > 0 ? 100.0 * d.full_jobs / grid : 0.0,
      d.winner ? " Winner: " + EscapeXml(d.candidates[*d.winner].candidate.id) + "." : " No feasible candidate.");
  html += "<div class=card>" +
          ScatterSvg(fmt::format("Screened on {} images ({} candidates; x: outside the constraint, dots: pruned)",
                                 spec.screen_options.eval_images, screened.size()),
                     "objective (relative to FP32)", "top-1 on the subset (%)", screened, true) +
          "</div>";
  html += "<div class=card>" +
          ScatterSvg(fmt::format("Evaluated at full fidelity ({} candidates)", full.size()),
                     "objective (relative to FP32)", "top-1 (%)", full, true) +
          "</div></div><h2>Search trace</h2><ol>";
  for (const auto& line : d.trace) html += "<li>" + EscapeXml(line) + "</li>";
  return html + "</ol>";
}

}  // namespace qg::exp
