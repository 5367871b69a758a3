// The SVG plots of the HTML report (svg_plots.h): Pareto front, scatter ticks
// and labels, bar labels, log ticks, the confusion matrix's names and counts.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <regex>
#include <set>

#include "experiments/report/svg_plots.h"

namespace qg::exp {
namespace {

TEST(SvgPlots, ParetoFrontKeepsOnlyUndominatedPoints) {
  const auto front = ParetoFront({{4, 91, "fp32"}, {1, 90, "int8"}, {2, 89, "slow int8"}, {1.5, 91.2, "mpq"}});
  ASSERT_EQ(front.size(), 2u);
  EXPECT_EQ(front[0].label, "int8");
  EXPECT_EQ(front[1].label, "mpq");
  EXPECT_EQ(EscapeXml("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

// paper-004's Pareto plot as it was: five rows within 0.06 points of top-1
// and 0.04 ms of each other. Ticks must differ, the latency axis must start
// at zero (and accuracy's say it does not), and labels must not overlap.
TEST(SvgPlots, ScatterTicksDifferLatencyStartsAtZeroAndLabelsAvoidEachOther) {
  const std::vector<ScatterPoint> points{{0.0590, 91.56, "fp32"},          {0.0210, 91.58, "naive_ptq"},
                                         {0.0205, 91.55, "bias_correction"}, {0.0200, 91.58, "bn_fold"},
                                         {0.0215, 91.61, "qat"},             {0.0203, 91.58, "mpq"}};
  const std::string svg = ScatterSvg("Top-1 vs latency", "ms per image", "top-1 (%)", points, true);
  const std::regex y_tick(R"re(<text x="64" y="[-\d.]+" text-anchor="end">([^<]*)</text>)re");
  const std::regex x_tick(R"re(<text x="[-\d.]+" y="300" text-anchor="middle">([^<]*)</text>)re");
  std::vector<std::string> ys, xs;
  for (std::sregex_iterator it(svg.begin(), svg.end(), y_tick), end; it != end; ++it) ys.push_back((*it)[1]);
  for (std::sregex_iterator it(svg.begin(), svg.end(), x_tick), end; it != end; ++it) xs.push_back((*it)[1]);
  ASSERT_EQ(ys.size(), 5u) << svg;
  ASSERT_EQ(xs.size(), 5u) << svg;
  EXPECT_EQ(std::set<std::string>(ys.begin(), ys.end()).size(), 5u) << ys[0] << " .. " << ys[4];
  EXPECT_EQ(xs.front(), "0");
  for (const auto& x : xs) EXPECT_EQ(x.find('-'), std::string::npos) << x;
  EXPECT_NE(svg.find("axis-break"), std::string::npos);  // top-1 starts near 91.5, not 0

  struct Box {
    double x0, x1, y0, y1;
  };
  std::vector<Box> boxes;
  const std::regex label(R"re(class="point-label" x="([\d.]+)" y="([\d.]+)"( text-anchor="end")?>([^<]*)<)re");
  for (std::sregex_iterator it(svg.begin(), svg.end(), label), end; it != end; ++it) {
    const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
    const double w = 6.2 * static_cast<double>((*it)[4].length());
    const bool anchored_end = (*it)[3].matched;
    boxes.push_back({anchored_end ? x - w : x, anchored_end ? x : x + w, y - 9, y + 3});
  }
  ASSERT_EQ(boxes.size(), points.size());
  for (size_t i = 0; i < boxes.size(); ++i) {
    for (size_t j = i + 1; j < boxes.size(); ++j) {
      const bool overlap = boxes[i].x0 < boxes[j].x1 && boxes[j].x0 < boxes[i].x1 && boxes[i].y0 < boxes[j].y1 &&
                           boxes[j].y0 < boxes[i].y1;
      EXPECT_FALSE(overlap) << points[i].label << " and " << points[j].label;
    }
  }
}

// The size plot of a 49-cell grid: names slanted under 9-pixel bars overlapped
// each other and ran off the canvas. Every name must now fit in the canvas
// (6.2 px a character), no two may overlap, and a shortened one keeps its
// whole name on hover.
TEST(SvgPlots, BarLabelsFitInsideTheCanvasAndDoNotOverlap) {
  std::vector<std::pair<std::string, double>> bars{{"fp32", 1.58}, {"fp32 [onnxruntime]", 1.58}};
  for (const char* s : {"naive_ptq", "bias_correction", "bn_fold", "mpq", "qat", "fp16"}) {
    for (int c : {128, 256, 512, 1000}) bars.push_back({fmt::format("{} (minmax, c{}, per_channel)", s, c), 0.4});
  }
  bars.push_back({"mpq-auto/histogram/c1000/per_channel/onednn/cpu/seed0 [onnxruntime]", 0.5});
  const std::string svg = BarSvg("Model file size", "MB", bars, false);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(svg, m, std::regex(R"re(<svg [^>]*width="([\d.]+)" height="([\d.]+)")re")));
  const double width = std::stod(m[1]), height = std::stod(m[2]);
  const std::regex label(R"re(class="bar-label" x="([\d.]+)" y="([\d.]+)"[^>]*>([^<]*)<title>([^<]*)</title>)re");
  std::vector<double> ys;
  for (std::sregex_iterator it(svg.begin(), svg.end(), label), end; it != end; ++it) {
    const double x = std::stod((*it)[1]), y = std::stod((*it)[2]);
    EXPECT_GE(x - 6.2 * static_cast<double>((*it)[3].length()), 0.0) << (*it)[3];
    EXPECT_LE(x, width);
    EXPECT_GE(y - 9, 0.0);
    EXPECT_LE(y + 3, height);
    if (!ys.empty()) {
      EXPECT_GE(y - ys.back(), 12.0) << (*it)[3];  // 11 px text, one row each
    }
    EXPECT_EQ((*it)[4], EscapeXml(bars[ys.size()].first));  // the whole name on hover
    ys.push_back(y);
  }
  EXPECT_EQ(ys.size(), bars.size());
  EXPECT_NE(svg.find(">mpq-auto/histogram/c1000/per_channel/onednn/c...<title>"), std::string::npos) << svg;
}

// A layer-MSE plot spans two decades: its ticks are the decades, each once.
TEST(SvgPlots, LogBarTicksAreDistinctDecades) {
  const std::string svg = BarSvg("naive_ptq", "relative MSE", {{"conv", 3e-4}, {"bn", 1.1e-3}, {"fc", 4e-4}}, true);
  std::vector<std::string> ticks;
  const std::regex tick(R"re(text-anchor="middle">(1e-?\d+)</text>)re");
  for (std::sregex_iterator it(svg.begin(), svg.end(), tick), end; it != end; ++it) ticks.push_back((*it)[1]);
  EXPECT_EQ(ticks, (std::vector<std::string>{"1e-4", "1e-3", "1e-2"})) << svg;
}

TEST(SvgPlots, ConfusionMatrixNamesClassesOnBothAxesAndCountsOnHover) {
  const std::string svg = HeatmapSvg("naive_ptq", {{50, 2}, {5, 43}}, {"Coat", "Shirt"});
  EXPECT_NE(svg.find("class=\"col-label\""), std::string::npos);
  EXPECT_NE(svg.find(">Shirt</text>"), std::string::npos);
  EXPECT_NE(svg.find("<title>true Shirt / predicted Coat: 5</title>"), std::string::npos);
  EXPECT_NE(svg.find(">predicted</text>"), std::string::npos);
  EXPECT_NE(svg.find(">43</text>"), std::string::npos);  // big cells print their count
}

}  // namespace
}  // namespace qg::exp
