#include "experiments/report/layer_sizes.h"

#include <fmt/format.h>

#include "experiments/job_config.h"

namespace qg::exp {
namespace {

std::string Kb(int64_t bytes) { return fmt::format("{:.1f}", static_cast<double>(bytes) / 1e3); }

std::string Reduction(int64_t original, int64_t stored) {
  return original > 0 ? fmt::format("{:.1f} %", 100.0 * (1.0 - static_cast<double>(stored) / original)) : "-";
}

}  // namespace

std::vector<std::pair<std::string, TextTable>> LayerSizeTables(const ResultsView& view) {
  std::vector<std::pair<std::string, TextTable>> out;
  for (const auto& r : view.rows) {
    if (r.runs.empty() || !r.runs.front()->documents.count(document::kLayerSizes)) continue;
    TextTable table({"Layer", "Original (KB, FP32)", "Quantized (KB)", "Reduction", "Precision"},
                    {true, false, false, false, true});
    int64_t total_fp32 = 0, total_stored = 0;
    for (const auto& l : r.runs.front()->documents.at(document::kLayerSizes)) {
      const int64_t fp32 = l.value("fp32_bytes", int64_t{0}), stored = l.value("bytes", int64_t{0});
      total_fp32 += fp32;
      total_stored += stored;
      table.AddRow({l.value("layer", ""), Kb(fp32), Kb(stored), Reduction(fp32, stored),
                    l.value("int8", false) ? "int8" : "fp32"});
    }
    table.AddRow({"total (weights and biases)", Kb(total_fp32), Kb(total_stored), Reduction(total_fp32, total_stored),
                  ""});
    out.emplace_back(r.label, std::move(table));
  }
  return out;
}

}  // namespace qg::exp
