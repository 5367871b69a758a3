#include "experiments/report/svg_plots.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qg::exp {
namespace {

constexpr double kW = 560, kH = 340, kLeft = 70, kRight = 20, kTop = 36, kBottom = 56;
constexpr const char* kColors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};

struct Axis {
  double lo, hi;
  double Map(double v, double from, double to) const { return hi > lo ? from + (v - lo) / (hi - lo) * (to - from) : (from + to) / 2; }
};

Axis Padded(double lo, double hi) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {0, 1};
  if (hi <= lo) return {lo - 1, hi + 1};
  const double pad = (hi - lo) * 0.08;
  return {lo - pad, hi + pad};
}

std::string Num(double v) {
  if (v == 0) return "0";
  const double a = std::abs(v);
  if (a >= 1000) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  if (a >= 0.1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.2g}", v);
}

constexpr int kTicks = 4;  // intervals per axis

// Tick labels for lo..hi that differ from each other: as many decimals as
// the tick step needs (91.55, 91.60, ... rather than 91.6 five times).
std::vector<std::string> TickLabels(double lo, double hi) {
  const double step = (hi - lo) / kTicks;
  int decimals = step > 0 ? std::max(0, static_cast<int>(std::ceil(-std::log10(step)))) : 0;
  for (;; ++decimals) {
    std::vector<std::string> labels;
    for (int i = 0; i <= kTicks; ++i) {
      std::string label = fmt::format("{:.{}f}", lo + step * i, decimals);
      if (label == "-0" || label.find_first_not_of("-0.") == std::string::npos) label = "0";
      labels.push_back(label);
    }
    const bool distinct = std::adjacent_find(labels.begin(), labels.end()) == labels.end();
    if (distinct || decimals >= 9) return labels;
  }
}

// An axis from zero to past the largest value (a latency, a size).
Axis FromZero(double hi) {
  if (!std::isfinite(hi) || hi <= 0) return {0, 1};
  return {0, hi * 1.08};
}

// Where a label fits: text boxes already placed, and the first of a few
// offsets around its point that overlaps none (else the least overlapping).
class LabelPlacer {
 public:
  struct Placed {
    double x, y;
    bool anchor_end;
  };
  Placed Place(double px, double py, const std::string& text) {
    const double w = 6.2 * static_cast<double>(text.size()), h = 12;
    const struct { double dx, dy; bool end; } offsets[] = {{7, -6, false},  {7, 14, false}, {-7, -6, true},
                                                          {-7, 14, true},  {7, -20, false}, {7, 28, false},
                                                          {-7, -20, true}, {-7, 28, true}};
    double best_overlap = INFINITY;
    Box best{};
    Placed chosen{px + 7, py - 6, false};
    for (const auto& o : offsets) {
      Box b{o.end ? px + o.dx - w : px + o.dx, py + o.dy - h + 3, w, h};
      b.x = std::clamp(b.x, 2.0, std::max(2.0, kW - w - 2));
      b.y = std::clamp(b.y, kTop, kH - kBottom - h);
      double overlap = 0;
      for (const auto& p : boxes_) overlap += p.Overlap(b);
      if (overlap < best_overlap) {
        best_overlap = overlap;
        best = b;
        chosen = {o.end ? b.x + w : b.x, b.y + h - 3, o.end};
      }
      if (overlap == 0) break;
    }
    boxes_.push_back(best);
    return chosen;
  }

 private:
  struct Box {
    double x, y, w, h;
    double Overlap(const Box& o) const {
      const double dx = std::min(x + w, o.x + o.w) - std::max(x, o.x);
      const double dy = std::min(y + h, o.y + o.h) - std::max(y, o.y);
      return dx > 0 && dy > 0 ? dx * dy : 0;
    }
  };
  std::vector<Box> boxes_;
};

std::string Open(const std::string& title, double width = kW, double height = kH) {
  return fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"11\"><rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>"
      "<text x=\"{2}\" y=\"20\" font-size=\"14\" font-weight=\"bold\" text-anchor=\"middle\">{3}</text>",
      width, height, width / 2, EscapeXml(title));
}

// Frame, ticks and labels for a plot area.
std::string Frame(const Axis& x, const Axis& y, const std::string& x_label, const std::string& y_label) {
  std::string s = fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>",
                              kLeft, kTop, kW - kLeft - kRight, kH - kTop - kBottom);
  const auto x_ticks = TickLabels(x.lo, x.hi), y_ticks = TickLabels(y.lo, y.hi);
  for (int i = 0; i <= kTicks; ++i) {
    const double xv = x.lo + (x.hi - x.lo) * i / kTicks, yv = y.lo + (y.hi - y.lo) * i / kTicks;
    const double px = x.Map(xv, kLeft, kW - kRight), py = y.Map(yv, kH - kBottom, kTop);
    s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#ddd\"/>", px, kTop, kH - kBottom);
    s += fmt::format("<line y1=\"{0}\" y2=\"{0}\" x1=\"{1}\" x2=\"{2}\" stroke=\"#ddd\"/>", py, kLeft, kW - kRight);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", px, kH - kBottom + 16, x_ticks[i]);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>", kLeft - 6, py + 4, y_ticks[i]);
  }
  // An axis that does not start at zero says so: a break mark at its foot.
  if (y.lo > 0) {
    const double foot = kH - kBottom;
    s += fmt::format("<path class=\"axis-break\" d=\"M{0},{1} l10,-4 M{0},{2} l10,-4\" stroke=\"#444\" "
                     "stroke-width=\"1.5\" fill=\"none\"/>",
                     kLeft - 5, foot - 6, foot - 11);
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", (kLeft + kW - kRight) / 2, kH - 14,
                   EscapeXml(x_label));
  s += fmt::format("<text transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
                   (kTop + kH - kBottom) / 2, EscapeXml(y_label));
  return s;
}

}  // namespace

std::string EscapeXml(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<ScatterPoint> ParetoFront(std::vector<ScatterPoint> points) {
  std::sort(points.begin(), points.end(), [](const auto& a, const auto& b) { return a.x < b.x || (a.x == b.x && a.y > b.y); });
  std::vector<ScatterPoint> front;
  double best = -std::numeric_limits<double>::infinity();
  for (const auto& p : points) {
    if (p.y > best) {
      front.push_back(p);
      best = p.y;
    }
  }
  return front;
}

std::string ScatterSvg(const std::string& title, const std::string& x_label, const std::string& y_label,
                       const std::vector<ScatterPoint>& points, bool draw_pareto_front) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& p : points) {
    xlo = std::min(xlo, p.x), xhi = std::max(xhi, p.x), ylo = std::min(ylo, p.y), yhi = std::max(yhi, p.y);
  }
  // x (latency) from zero; y (accuracy) from just below the data, with a break mark.
  const Axis x = FromZero(xhi), y = Padded(ylo, yhi);
  std::string s = Open(title) + Frame(x, y, x_label, y_label);
  if (draw_pareto_front && points.size() > 1) {
    std::string path;
    for (const auto& p : ParetoFront(points)) {
      path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", x.Map(p.x, kLeft, kW - kRight),
                          y.Map(p.y, kH - kBottom, kTop));
    }
    s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"#d62728\" stroke-dasharray=\"5,3\"/>", path);
  }
  for (size_t i = 0; i < points.size(); ++i) {
    const double px = x.Map(points[i].x, kLeft, kW - kRight), py = y.Map(points[i].y, kH - kBottom, kTop);
    s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"5\" fill=\"{}\"><title>{}: {} {}, {} {}</title></circle>",
                     px, py, kColors[i % 10], EscapeXml(points[i].label), EscapeXml(x_label), Num(points[i].x),
                     EscapeXml(y_label), Num(points[i].y));
  }
  LabelPlacer placer;  // after the points: labels go where no other label is
  for (size_t i = 0; i < points.size(); ++i) {
    const double px = x.Map(points[i].x, kLeft, kW - kRight), py = y.Map(points[i].y, kH - kBottom, kTop);
    const auto at = placer.Place(px, py, points[i].label);
    s += fmt::format("<text class=\"point-label\" x=\"{:.1f}\" y=\"{:.1f}\"{}>{}</text>", at.x, at.y,
                     at.anchor_end ? " text-anchor=\"end\"" : "", EscapeXml(points[i].label));
  }
  return s + "</svg>";
}

std::string BarSvg(const std::string& title, const std::string& value_label,
                   const std::vector<std::pair<std::string, double>>& bars, bool log_scale) {
  auto t = [&](double v) { return log_scale ? std::log10(std::max(v, 1e-12)) : v; };
  double lo = log_scale ? INFINITY : 0.0, hi = -INFINITY;
  for (const auto& [name, v] : bars) lo = std::min(lo, t(v)), hi = std::max(hi, t(v));
  Axis x = log_scale ? Axis{std::floor(lo), std::ceil(hi) + (std::ceil(hi) == std::floor(lo) ? 1 : 0)} : Padded(0, hi);
  if (!log_scale) x.lo = 0;
  // One row per bar, its name to the left: a grid's 49 names slanted under
  // 9-pixel bars overlapped and ran off the canvas. The canvas grows with the
  // longest name and the number of rows; past kMaxLabel characters a name is
  // shortened, and its tooltip keeps it whole.
  constexpr size_t kMaxLabel = 48;
  constexpr double kCharPx = 6.2, kRow = 16, kPlotW = 420;  // 11 px sans-serif
  auto shown = [&](const std::string& name) {
    return name.size() <= kMaxLabel ? name : name.substr(0, kMaxLabel - 3) + "...";
  };
  size_t longest = 0;
  for (const auto& b : bars) longest = std::max(longest, shown(b.first).size());
  const double left = std::max(kLeft, kCharPx * static_cast<double>(longest) + 14);
  const double foot = kTop + kRow * static_cast<double>(std::max<size_t>(bars.size(), 1));
  const double width = left + kPlotW + kRight + 10, height = foot + 44;
  std::string s = Open(title, width, height);
  // Log axes tick at whole decades (quarters of two decades printed 1e-4 twice).
  std::vector<double> ticks;
  const double decade_step = std::max(1.0, std::ceil((x.hi - x.lo) / 6));
  for (int i = 0; i <= 4; ++i) ticks.push_back(x.lo + (x.hi - x.lo) * i / 4);
  if (log_scale) {
    ticks.clear();
    for (double d = x.lo; d <= x.hi + 1e-9; d += decade_step) ticks.push_back(d);
  }
  for (const double v : ticks) {
    const double px = x.Map(v, left, left + kPlotW);
    s += fmt::format("<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" stroke=\"#ddd\"/>", px, kTop, foot);
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", px, foot + 14,
                     log_scale ? fmt::format("1e{:.0f}", v) : Num(v));
  }
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", left + kPlotW / 2, foot + 34,
                   EscapeXml(value_label));
  for (size_t i = 0; i < bars.size(); ++i) {
    const double row_top = kTop + kRow * static_cast<double>(i);
    const double end = x.Map(t(bars[i].second), left, left + kPlotW);
    s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"{}\"><title>{}: {}</title></rect>",
                     left, row_top + 2.5, std::max(0.0, end - left), kRow - 5, kColors[i % 10],
                     EscapeXml(bars[i].first), Num(bars[i].second));
    s += fmt::format("<text class=\"bar-label\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{}<title>{}</title></text>",
                     left - 6, row_top + kRow / 2 + 4, EscapeXml(shown(bars[i].first)), EscapeXml(bars[i].first));
  }
  s += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#444\"/>", left, kTop,
                   kPlotW, foot - kTop);
  return s + "</svg>";
}

std::string HeatmapSvg(const std::string& title, const std::vector<std::vector<int64_t>>& m,
                       const std::vector<std::string>& labels) {
  const size_t n = m.size();
  constexpr double kSize = 260, kLeftPad = 96, kTopPad = 96;
  const double cell = n ? kSize / static_cast<double>(n) : kSize;
  auto name = [&](size_t i) { return EscapeXml(i < labels.size() ? labels[i] : std::to_string(i)); };
  int64_t max = 1;
  for (const auto& row : m) {
    for (auto v : row) max = std::max(max, v);
  }
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"9\"><rect width=\"{0}\" height=\"{1}\" fill=\"white\"/>"
      "<text x=\"{2}\" y=\"16\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\">{3}</text>",
      kLeftPad + kSize + 50, kTopPad + kSize + 10, (kLeftPad + kSize) / 2, EscapeXml(title));  // + room for the last slanted name
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\" font-size=\"10\">predicted</text>",
                   kLeftPad + kSize / 2, 32);
  s += fmt::format("<text transform=\"translate(10 {}) rotate(-90)\" text-anchor=\"middle\" font-size=\"10\">true"
                   "</text>",
                   kTopPad + kSize / 2);
  for (size_t c = 0; c < n; ++c) {  // predicted classes along the top, slanted
    const double cx = kLeftPad + cell * (static_cast<double>(c) + 0.5);
    s += fmt::format("<text class=\"col-label\" x=\"{0:.1f}\" y=\"{1}\" transform=\"rotate(-45 {0:.1f} {1})\">{2}</text>",
                     cx, kTopPad - 4, name(c));
  }
  for (size_t r = 0; r < n; ++r) {
    s += fmt::format("<text class=\"row-label\" x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>", kLeftPad - 4,
                     kTopPad + cell * (static_cast<double>(r) + 0.6), name(r));
    for (size_t c = 0; c < m[r].size(); ++c) {
      const double a = std::sqrt(static_cast<double>(m[r][c]) / static_cast<double>(max));
      const double x0 = kLeftPad + cell * static_cast<double>(c), y0 = kTopPad + cell * static_cast<double>(r);
      s += fmt::format("<rect x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\" fill=\"rgb({},{},{})\">"
                       "<title>true {} / predicted {}: {}</title></rect>",
                       x0, y0, cell, cell, static_cast<int>(255 - 225 * a), static_cast<int>(255 - 160 * a), 255,
                       name(r), name(c), m[r][c]);
      if (cell >= 18 && m[r][c] > 0) {  // counts in the cells where they fit
        s += fmt::format("<text x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\" font-size=\"8\" fill=\"{}\" "
                         "pointer-events=\"none\">{}</text>",
                         x0 + cell / 2, y0 + cell / 2 + 3, a > 0.6 ? "white" : "#222", m[r][c]);
      }
    }
  }
  return s + "</svg>";
}

std::string LineSvg(const std::string& title, const std::string& x_label, const std::string& y_label,
                    const std::vector<Series>& series) {
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (const auto& se : series) {
    for (const auto& [xv, yv] : se.points) {
      xlo = std::min(xlo, xv), xhi = std::max(xhi, xv), ylo = std::min(ylo, yv), yhi = std::max(yhi, yv);
    }
  }
  const Axis x = Padded(xlo, xhi), y = Padded(ylo, yhi);
  std::string s = Open(title) + Frame(x, y, x_label, y_label);
  for (size_t i = 0; i < series.size(); ++i) {
    std::string path;
    for (const auto& [xv, yv] : series[i].points) {
      path += fmt::format("{}{:.1f},{:.1f} ", path.empty() ? "M" : "L", x.Map(xv, kLeft, kW - kRight),
                          y.Map(yv, kH - kBottom, kTop));
    }
    s += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", path, kColors[i % 10]);
    s += fmt::format("<text x=\"{}\" y=\"{}\" fill=\"{}\">{}</text>", kLeft + 8, kTop + 14 + 13 * i, kColors[i % 10],
                     EscapeXml(series[i].name));
  }
  return s + "</svg>";
}

}  // namespace qg::exp
