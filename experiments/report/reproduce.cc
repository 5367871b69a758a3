#include "experiments/report/reproduce.h"

#include <fmt/format.h>

#include <set>

namespace qg::exp {
namespace {

std::string Value(const Stat& s, int decimals) { return s.n ? fmt::format("{:.{}f}", s.mean, decimals) : "-"; }

std::string Delta(const Stat& s, const nlohmann::json& row, const char* key, int decimals) {
  if (!s.n || !row.contains(key)) return "-";
  return fmt::format("{:+.{}f}", s.mean - row[key].get<double>(), decimals);
}

std::string Published(const nlohmann::json& row, const char* key, int decimals) {
  return row.contains(key) ? fmt::format("{:.{}f}", row[key].get<double>(), decimals) : "-";
}

}  // namespace

Result<TextTable> ReproductionTable(const ResultsView& ours, const nlohmann::json& published) {
  if (!published.is_object() || !published.contains("rows") || published["rows"].empty()) {
    return Error::InvalidArgument("experiment '{}' has no published numbers (\"published.rows\" in its spec)",
                                  ours.experiment);
  }
  TextTable table({"Strategy", "Top-1 ours", "Top-1 paper", "Δ", "ms/img ours", "ms/img paper", "Δ", "MB ours",
                   "MB paper", "Δ"},
                  {true});
  // Our row order (the spec's), since JSON objects do not keep the paper's.
  const auto& rows = published["rows"];
  auto add = [&](const std::string& label, const ResultRow& x) {
    const auto& row = rows[label];
    table.AddRow({label, Value(x.top1, 2), Published(row, "top1", 2), Delta(x.top1, row, "top1", 2),
                  Value(x.latency_ms, 4), Published(row, "latency_ms", 3), Delta(x.latency_ms, row, "latency_ms", 4),
                  Value(x.size_mb, 3), Published(row, "size_mb", 2), Delta(x.size_mb, row, "size_mb", 3)});
  };
  std::set<std::string> shown;
  for (const auto& r : ours.rows) {
    const std::string label = rows.contains(r.label) ? r.label : rows.contains(r.strategy) ? r.strategy : "";
    if (label.empty() || shown.count(label)) continue;
    shown.insert(label);
    add(label, r);
  }
  for (const auto& [label, row] : rows.items()) {
    if (!shown.count(label)) add(label, ResultRow{});  // published, not in this sweep
  }
  for (const auto& r : ours.rows) {
    if (!rows.contains(r.label) && !rows.contains(r.strategy)) {
      table.AddRow({r.label + " (not in paper)", Value(r.top1, 2), "-", "-", Value(r.latency_ms, 4), "-", "-",
                    Value(r.size_mb, 3), "-", "-"});
    }
  }
  return table;
}

}  // namespace qg::exp
