#include "experiments/report/reproduce.h"

#include <fmt/format.h>

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
  for (const auto& [label, row] : published["rows"].items()) {
    const ResultRow* r = nullptr;
    for (const auto& candidate : ours.rows) {
      if (candidate.label == label || (r == nullptr && candidate.strategy == label)) r = &candidate;
    }
    const ResultRow empty;
    const ResultRow& x = r ? *r : empty;
    table.AddRow({label, Value(x.top1, 2), Published(row, "top1", 2), Delta(x.top1, row, "top1", 2),
                  Value(x.latency_ms, 4), Published(row, "latency_ms", 3), Delta(x.latency_ms, row, "latency_ms", 4),
                  Value(x.size_mb, 3), Published(row, "size_mb", 2), Delta(x.size_mb, row, "size_mb", 3)});
  }
  for (const auto& r : ours.rows) {
    if (!published["rows"].contains(r.label) && !published["rows"].contains(r.strategy)) {
      table.AddRow({r.label + " (not in paper)", Value(r.top1, 2), "-", "-", Value(r.latency_ms, 4), "-", "-",
                    Value(r.size_mb, 3), "-", "-"});
    }
  }
  return table;
}

}  // namespace qg::exp
