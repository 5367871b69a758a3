// Small self-contained SVG charts for the HTML report: scatter (with a Pareto
// front), bars, heat maps, lines. Plain strings; no scripts, no external
// resources, so a report renders offline and anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qg::exp {

struct ScatterPoint {
  double x = 0;
  double y = 0;
  std::string label;
};

// The points not dominated by another with smaller x and larger y, by x.
std::vector<ScatterPoint> ParetoFront(std::vector<ScatterPoint> points);

std::string ScatterSvg(const std::string& title, const std::string& x_label, const std::string& y_label,
                       const std::vector<ScatterPoint>& points, bool draw_pareto_front);
std::string BarSvg(const std::string& title, const std::string& y_label,
                   const std::vector<std::pair<std::string, double>>& bars, bool log_scale);
std::string HeatmapSvg(const std::string& title, const std::vector<std::vector<int64_t>>& matrix,
                       const std::vector<std::string>& labels);
struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;
};
std::string LineSvg(const std::string& title, const std::string& x_label, const std::string& y_label,
                    const std::vector<Series>& series);

// Text made safe for HTML/SVG element content and attributes.
std::string EscapeXml(const std::string& text);

}  // namespace qg::exp
