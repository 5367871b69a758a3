#include "experiments/report/reproduce.h"

#include <fmt/format.h>

#include <set>

#include "experiments/report/speedups.h"

namespace qg::exp {
namespace {

constexpr const char* kNoFigure = "—";

std::string Value(const Stat& s, int decimals) { return s.n ? fmt::format("{:.{}f}", s.mean, decimals) : "-"; }

std::string Delta(const Stat& s, const nlohmann::json& row, const char* key, int decimals) {
  if (!s.n || !row.contains(key) || !row[key].is_number()) return "-";
  return fmt::format("{:+.{}f}", s.mean - row[key].get<double>(), decimals);
}

std::string Published(const nlohmann::json& row, const char* key, int decimals) {
  if (!row.contains(key)) return "-";
  return row[key].is_number() ? fmt::format("{:.{}f}", row[key].get<double>(), decimals) : row[key].dump();
}

bool AnyRowHas(const nlohmann::json& rows, const char* key) {
  for (const auto& [label, row] : rows.items()) {
    if (row.contains(key)) return true;
  }
  return false;
}

// Our row for a published label: the same label, else the same strategy.
const ResultRow* FindRow(const ResultsView& ours, const std::string& label, const std::string& device = "cpu") {
  for (const auto& r : ours.rows) {
    if (r.label == label && (r.device == device || r.device.empty())) return &r;
  }
  for (const auto& r : ours.rows) {
    if (r.strategy == label && r.device == device && r.runtime == "libtorch") return &r;
  }
  return nullptr;
}

Result<std::string> ClaimFigure(const ResultsView& ours, const nlohmann::json& claim) {
  const std::string kind = claim.value("kind", "");
  const ResultRow* row = FindRow(ours, claim.value("row", ""));
  const ResultRow* base = FindRow(ours, claim.value("base", "fp32"));
  if (kind != "size_reduction" && kind != "top1_drop" && kind != "speedup" && kind != "speed_ratio") {
    return Error::InvalidArgument(
        "published.claims: kind \"{}\" is unknown; known: size_reduction, top1_drop, speedup, speed_ratio", kind);
  }
  if (row == nullptr || base == nullptr) return std::string("-");
  if (kind == "size_reduction") {
    if (!row->size_mb.n || !base->size_mb.n || base->size_mb.mean <= 0) return std::string("-");
    return fmt::format("{:.1f} %", 100.0 * (1.0 - row->size_mb.mean / base->size_mb.mean));
  }
  if (kind == "top1_drop") {
    if (!row->top1.n || !base->top1.n) return std::string("-");
    return fmt::format("{:.2f} points", base->top1.mean - row->top1.mean);
  }
  // A speedup without a named base is the table's: against the fastest FP32.
  if (kind == "speedup" && !claim.contains("base") && row->speedup > 0) return fmt::format("{:.2f}x", row->speedup);
  // Latencies of one machine only: across machines the ratio compares them.
  const double ratio = SameMachineLatencyRatio(ours, *base, *row);
  return ratio > 0 ? fmt::format("{:.2f}x", ratio) : std::string("-");
}

}  // namespace

Result<Reproduction> ReproduceTable(const ResultsView& ours, const nlohmann::json& published) {
  const bool has_rows = published.is_object() && published.contains("rows") && published["rows"].is_object() &&
                        !published["rows"].empty();
  const bool has_claims = published.is_object() && published.contains("claims") && published["claims"].is_array() &&
                          !published["claims"].empty();
  if (!has_rows && !has_claims) {
    return Error::InvalidArgument(
        "experiment '{}' has no published numbers (\"published.rows\" or \"published.claims\" in its spec)",
        ours.experiment);
  }
  Reproduction out;
  const nlohmann::json rows = has_rows ? published["rows"] : nlohmann::json::object();
  const std::string their_dataset = published.value("dataset", "");
  const bool same_data = ours.stands_in_for.empty() && (their_dataset.empty() || ours.dataset == their_dataset);
  if (!same_data) {
    out.notes.push_back(fmt::format("accuracy differences are left out ({}): ours ran {}, the paper {}", kNoFigure,
                                    ours.dataset, their_dataset.empty() ? "?" : their_dataset));
  }
  const bool top5 = AnyRowHas(rows, "top5"), gpu = AnyRowHas(rows, "gpu_latency_ms");
  const bool speedup = AnyRowHas(rows, "speedup");
  std::vector<std::string> header{"Strategy", "Top-1 ours", "Top-1 paper", "Δ"};
  if (top5) header.insert(header.end(), {"Top-5 ours", "Top-5 paper", "Δ"});
  header.insert(header.end(), {"ms/img ours", "ms/img paper", "Δ"});
  if (speedup) header.insert(header.end(), {"Speedup ours", "Speedup paper"});
  if (gpu) header.insert(header.end(), {"GPU ms ours", "GPU ms paper"});
  header.insert(header.end(), {"MB ours", "MB paper", "Δ"});
  out.rows = TextTable(header, {true});

  auto add = [&](const std::string& label, const ResultRow& x, const nlohmann::json& row) {
    std::vector<std::string> cells{label, Value(x.top1, 2), Published(row, "top1", 2),
                                   same_data ? Delta(x.top1, row, "top1", 2) : kNoFigure};
    if (top5) {
      cells.insert(cells.end(), {Value(x.top5, 2), Published(row, "top5", 2),
                                 same_data ? Delta(x.top5, row, "top5", 2) : kNoFigure});
    }
    cells.insert(cells.end(), {Value(x.latency_ms, 4), Published(row, "latency_ms", 3),
                               Delta(x.latency_ms, row, "latency_ms", 4)});
    if (speedup) {
      cells.insert(cells.end(), {x.speedup > 0 ? fmt::format("{:.2f}x", x.speedup) : "-",
                                 row.contains("speedup") ? Published(row, "speedup", 2) + "x" : "-"});
    }
    if (gpu) {
      // LibTorch has no INT8 GPU kernels: such rows never run there.
      const bool int8 = x.precision == "int8" || x.precision == "mixed";
      const ResultRow* on_gpu = FindRow(ours, x.strategy.empty() ? label : x.strategy, "cuda");
      cells.insert(cells.end(), {on_gpu && on_gpu->latency_ms.n ? Value(on_gpu->latency_ms, 4)
                                 : !row.contains("gpu_latency_ms") ? "-"
                                 : int8                            ? "no INT8 GPU kernels"
                                                                   : "no GPU here",
                                 Published(row, "gpu_latency_ms", 2)});
    }
    std::string their_mb = Published(row, "size_mb", 2);
    if (row.contains("inconsistent")) {
      their_mb += " (inconsistent)";
      out.notes.push_back(fmt::format("the paper's {} size of {} MB is inconsistent: {}", label, Published(row, "size_mb", 2),
                                      row["inconsistent"].is_string() ? row["inconsistent"].get<std::string>() : ""));
    }
    cells.insert(cells.end(), {Value(x.size_mb, 3), their_mb,
                               row.contains("inconsistent") ? kNoFigure : Delta(x.size_mb, row, "size_mb", 3)});
    out.rows.AddRow(std::move(cells));
  };
  // Our row order (the spec's), since JSON objects do not keep the paper's.
  std::set<std::string> shown;
  for (const auto& r : ours.rows) {
    if (r.device == "cuda") continue;  // beside their CPU row, in the GPU column
    const std::string label = rows.contains(r.label) ? r.label : rows.contains(r.strategy) ? r.strategy : "";
    if (label.empty() || shown.count(label)) continue;
    shown.insert(label);
    add(label, r, rows[label]);
  }
  for (const auto& [label, row] : rows.items()) {
    if (!shown.count(label)) add(label, ResultRow{}, row);  // published, not in this sweep
  }
  for (const auto& r : ours.rows) {
    if (r.device == "cuda" || rows.contains(r.label) || rows.contains(r.strategy)) continue;
    add(r.label + " (not in paper)", r, nlohmann::json::object());
  }

  out.claims = TextTable({"Claim", "paper", "ours"}, {true});
  for (const auto& claim : published.value("claims", nlohmann::json::array())) {
    QG_ASSIGN_OR_RETURN(std::string figure, ClaimFigure(ours, claim));
    const auto& paper = claim.contains("paper") ? claim["paper"] : nlohmann::json("-");
    out.claims.AddRow({claim.value("text", claim.value("kind", "")),
                       paper.is_string() ? paper.get<std::string>() : paper.dump(), figure});
  }
  for (const auto& n : published.value("notes", nlohmann::json::array())) {
    if (n.is_string()) out.notes.push_back(n.get<std::string>());
  }
  if (speedup) {
    if (const std::string caption = SpeedupCaption(ours); !caption.empty()) out.notes.push_back(caption);
  }
  for (auto& note : TableNotes(ours)) out.notes.push_back(std::move(note));
  return out;
}

}  // namespace qg::exp
