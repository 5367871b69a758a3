// TextTable: rows of strings rendered as Markdown, CSV or LaTeX, the formats
// papers and spreadsheets take. Columns are right-aligned unless marked left.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace qg {

enum class TableFormat { kMarkdown, kCsv, kLatex };

// "md" / "markdown", "csv", "latex"; InvalidArgument lists the known names.
Result<TableFormat> ParseTableFormat(std::string_view name);

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header, std::vector<bool> left_aligned = {});
  void AddRow(std::vector<std::string> cells);
  size_t RowCount() const { return rows_.size(); }
  std::string Render(TableFormat format) const;

 private:
  std::string RenderMarkdown() const;
  std::string RenderCsv() const;
  std::string RenderLatex() const;

  std::vector<std::string> header_;
  std::vector<bool> left_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace qg
