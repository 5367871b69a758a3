#include "experiments/report/html_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "experiments/report/speedups.h"
#include "experiments/report/svg_plots.h"

namespace qg::exp {
namespace {

constexpr const char* kStyle = R"(
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1240px; }
h1 { margin-bottom: 4px; } .sub { color: #666; margin-top: 0; }
table { border-collapse: collapse; margin: 12px 0; } th, td { padding: 4px 10px; border-bottom: 1px solid #ddd; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; } .card { border: 1px solid #e4e4e4; padding: 6px; }
)";

constexpr const char* kCheckScript = R"(
<script>
window.addEventListener('load', function () {
  var svgs = document.querySelectorAll('svg'), ok = svgs.length > 0;
  svgs.forEach(function (s) { var b = s.getBoundingClientRect(); if (!(b.width > 0 && b.height > 0)) ok = false; });
  if (document.body.innerHTML.indexOf('Na' + 'N') >= 0) ok = false;  // spelled apart: this script is in the body too
  document.body.setAttribute('data-rendered', (ok ? 'ok ' : 'broken ') + svgs.length);
});
</script>
)";

std::string TableHtml(const ResultsView& view) {
  std::string html = "<table><tr>";
  for (const char* h : {"Strategy", "Precision", "INT8 MACs (%)", "Top-1 (%)", "Top-5 (%)", "Latency (ms/img)",
                        "Speedup", "Speedup (own)", "Size (MB)", "Agree (%)", "Seeds"}) {
    html += fmt::format("<th>{}</th>", h);
  }
  html += "</tr>";
  for (const auto& r : view.rows) {
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td>"
        "<td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td><td class=num>{}</td>"
        "<td class=num>{}</td></tr>",
        EscapeXml(r.label), EscapeXml(r.precision), r.int8_macs.n ? fmt::format("{:.1f}", r.int8_macs.mean) : "-",
        FormatStat(r.top1, 2), FormatStat(r.top5, 2), FormatLatency(r, 4),
        r.speedup > 0 ? fmt::format("{:.2f}x", r.speedup) : "-",
        r.speedup_own > 0 ? fmt::format("{:.2f}x", r.speedup_own) : "-", FormatStat(r.size_mb, 3),
        FormatStat(r.agreement, 2), r.seeds);
  }
  return html + "</table>";
}

// The class names the run stored with its confusion matrix (the dataset's),
// else the class indices.
std::vector<std::string> ClassNames(const storage::RunRecord& run, size_t n) {
  std::vector<std::string> names;
  const auto it = run.documents.find("class_names");
  if (it != run.documents.end() && it->second.is_array() && it->second.size() == n) {
    for (const auto& name : it->second) names.push_back(name.is_string() ? name.get<std::string>() : name.dump());
    return names;
  }
  for (size_t i = 0; i < n; ++i) names.push_back(std::to_string(i));
  return names;
}

// One chart per equalized layer (at most kMaxLayers per row): each output
// channel's weight range before and after CLE, on a log10 axis, since the
// point of CLE is to pull ranges decades apart onto one per-tensor scale.
std::string WeightRangeSections(const ResultsView& view) {
  constexpr size_t kMaxLayers = 8;
  std::string html;
  for (const auto& r : view.rows) {
    if (r.runs.empty() || !r.runs.front()->documents.count("details")) continue;
    const auto& d = r.runs.front()->documents.at("details");
    if (!d.contains("equalization") || !d["equalization"].contains("weight_ranges")) continue;
    const auto& layers = d["equalization"]["weight_ranges"];
    if (layers.empty()) continue;
    html += fmt::format("<h2>Per-channel weight ranges before and after CLE: {}</h2><div class=grid>", EscapeXml(r.label));
    for (size_t i = 0; i < std::min(layers.size(), kMaxLayers); ++i) {
      Series before{"before", {}}, after{"after", {}};
      for (auto [key, series] : {std::pair{"before", &before}, std::pair{"after", &after}}) {
        const auto& ranges = layers[i].value(key, nlohmann::json::array());
        for (size_t c = 0; c < ranges.size(); ++c) {
          series->points.emplace_back(static_cast<double>(c), std::log10(std::max(ranges[c].get<double>(), 1e-12)));
        }
      }
      html += "<div class=card>" +
              LineSvg(layers[i].value("layer", ""), "output channel", "log10 max |w|", {before, after}) + "</div>";
    }
    if (layers.size() > kMaxLayers) {
      html += fmt::format("<p class=sub>{} more equalized layers not drawn</p>", layers.size() - kMaxLayers);
    }
    html += "</div>";
  }
  return html;
}

}  // namespace

std::string RenderHtmlReport(const ResultsView& view, const storage::ExperimentRecord& experiment,
                             const std::string& extra) {
  std::string body = fmt::format("<h1>{}</h1><p class=sub>{} on {}{}</p>", EscapeXml(view.experiment),
                                 EscapeXml(view.model), EscapeXml(view.dataset),
                                 experiment.spec.contains("description")
                                     ? " &mdash; " + EscapeXml(experiment.spec.value("description", ""))
                                     : "");
  if (!view.rows.empty() && !view.rows.front().runs.empty()) {
    const auto& r = *view.rows.front().runs.front();
    body += fmt::format("<p class=sub>quantgrid {} ({}), LibTorch {}, {} threads, CPU {}, host {}</p>",
                        EscapeXml(r.quantgrid_version), EscapeXml(r.commit), EscapeXml(r.torch_version), r.threads,
                        EscapeXml(r.cpu_model), EscapeXml(r.host));
  }
  body += "<h2>Results</h2>" + TableHtml(view);
  body += fmt::format("<p class=sub>Latency: median of timed runs at batch {}, per image (± half the bootstrap 95 % "
                      "interval where measure.replicates is set). {} Speedup (own): against the FP32 model on the row's "
                      "own runtime, timed alternately with it in the row's job (LibTorch: frozen TorchScript, oneDNN; "
                      "ONNX Runtime: the FP32 graph of the same model); otherwise that runtime's FP32 row.</p>",
                      view.latency_batch, EscapeXml(SpeedupCaption(view)));
  for (const auto& note : TableNotes(view)) body += fmt::format("<p class=sub>{}</p>", EscapeXml(note));

  std::vector<ScatterPoint> points;
  std::vector<std::pair<std::string, double>> sizes;
  for (const auto& r : view.rows) {
    if (r.latency_ms.n && r.top1.n) points.push_back({r.latency_ms.mean, r.top1.mean, r.label});
    if (r.size_mb.n) sizes.emplace_back(r.label, r.size_mb.mean);
  }
  body += "<h2>Accuracy, latency, size</h2><div class=grid>";
  body += "<div class=card>" +
          ScatterSvg("Top-1 vs latency (Pareto front dashed)", fmt::format("ms per image (batch {})", view.latency_batch),
                     "top-1 (%)", points, true) +
          "</div>";
  body += "<div class=card>" + BarSvg("Model file size", "MB", sizes, false) + "</div></div>";

  if (view.train && view.train->documents.count("train_report")) {
    Series loss{"train loss", {}}, acc{"train top-1 (%) / 100", {}};
    for (const auto& e : view.train->documents.at("train_report").value("epochs", nlohmann::json::array())) {
      loss.points.emplace_back(e.value("epoch", 0) + 1, e.value("train_loss", 0.0));
      acc.points.emplace_back(e.value("epoch", 0) + 1, e.value("train_accuracy", 0.0) / 100.0);
    }
    if (!loss.points.empty()) {
      body += "<h2>Training</h2><div class=card>" + LineSvg("Training (FP32)", "epoch", "", {loss, acc}) + "</div>";
    }
  }

  body += "<h2>Confusion matrices</h2><div class=grid>";
  for (const auto& r : view.rows) {
    if (r.runs.empty() || !r.runs.front()->documents.count("confusion")) continue;
    const auto m = r.runs.front()->documents.at("confusion").get<std::vector<std::vector<int64_t>>>();
    body += "<div class=card>" + HeatmapSvg(r.label, m, ClassNames(*r.runs.front(), m.size())) + "</div>";
  }
  body += "</div><h2>Layer-wise MSE vs FP32 (relative, log scale)</h2><div class=grid>";
  for (const auto& r : view.rows) {
    if (r.runs.empty() || !r.runs.front()->documents.count("layer_mse")) continue;
    std::vector<std::pair<std::string, double>> bars;
    for (const auto& l : r.runs.front()->documents.at("layer_mse")) {
      bars.emplace_back(l.value("layer", ""), std::max(l.value("relative_mse", 0.0), 1e-12));
    }
    if (!bars.empty()) body += "<div class=card>" + BarSvg(r.label, "relative MSE", bars, true) + "</div>";
  }
  body += "</div>";
  body += WeightRangeSections(view);
  for (const auto& r : view.rows) {
    if (r.runs.empty() || !r.runs.front()->documents.count("details")) continue;
    const auto& d = r.runs.front()->documents.at("details");
    if (!d.contains("sensitivity")) continue;
    std::vector<std::pair<std::string, double>> bars;
    for (const auto& s : d["sensitivity"]) bars.emplace_back(s.value("layer", ""), std::max(s.value("relative_mse", 0.0), 1e-12));
    std::vector<ScatterPoint> front;
    for (const auto& p : d.value("pareto_front", nlohmann::json::array())) {
      front.push_back({p.value("model_bytes", int64_t{0}) / 1e6, p.value("accuracy", 0.0),
                       fmt::format("{} fp32", p.value("fp32_count", 0))});
    }
    body += fmt::format("<h2>Mixed precision: {}</h2><div class=grid>", EscapeXml(r.label));
    body += "<div class=card>" + BarSvg("Sensitivity (output MSE, only this layer INT8)", "relative MSE", bars, true) +
            "</div>";
    body += "<div class=card>" + ScatterSvg("Size vs accuracy over FP32 layer count", "model size (MB)",
                                           "selection top-1 (%)", front, false) +
            "</div></div>";
  }
  return fmt::format("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{} - quantgrid report</title>"
                     "<style>{}</style></head><body>{}{}</body></html>\n",
                     EscapeXml(view.experiment), kStyle, body + extra, kCheckScript);
}

}  // namespace qg::exp
