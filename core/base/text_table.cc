#include "core/base/text_table.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/base/check.h"

namespace qg {
namespace {

std::string CsvCell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string LatexCell(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '%': case '&': case '_': case '#': case '$': case '{': case '}':
        out += '\\';
        out += c;
        break;
      default:
        out += c;
    }
  }
  // "±" is not in LaTeX's default input encoding everywhere; spell it.
  for (size_t pos; (pos = out.find("±")) != std::string::npos;) out.replace(pos, std::string("±").size(), "$\\pm$");
  return out;
}

// Display width: count UTF-8 code points, not bytes, so "±" lines up.
size_t Width(const std::string& s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace

Result<TableFormat> ParseTableFormat(std::string_view name) {
  if (name == "md" || name == "markdown") return TableFormat::kMarkdown;
  if (name == "csv") return TableFormat::kCsv;
  if (name == "latex" || name == "tex") return TableFormat::kLatex;
  return Error::InvalidArgument("unknown table format '{}'; known: md, csv, latex", name);
}

TextTable::TextTable(std::vector<std::string> header, std::vector<bool> left_aligned)
    : header_(std::move(header)), left_(std::move(left_aligned)) {
  left_.resize(header_.size(), false);
}

void TextTable::AddRow(std::vector<std::string> cells) {
  QG_CHECK(cells.size() == header_.size());
  rows_.push_back(std::move(cells));
}

std::string TextTable::Render(TableFormat format) const {
  switch (format) {
    case TableFormat::kMarkdown:
      return RenderMarkdown();
    case TableFormat::kCsv:
      return RenderCsv();
    case TableFormat::kLatex:
      return RenderLatex();
  }
  return {};
}

std::string TextTable::RenderMarkdown() const {
  std::vector<size_t> width(header_.size(), 3);
  for (size_t c = 0; c < header_.size(); ++c) width[c] = std::max(width[c], Width(header_[c]));
  for (const auto& row : rows_) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], Width(row[c]));
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string out = "|";
    for (size_t c = 0; c < cells.size(); ++c) {
      const std::string pad(width[c] - Width(cells[c]), ' ');
      out += " " + (left_[c] ? cells[c] + pad : pad + cells[c]) + " |";
    }
    return out + "\n";
  };
  std::string out = line(header_) + "|";
  for (size_t c = 0; c < header_.size(); ++c) {
    out += left_[c] ? " :" + std::string(width[c] - 1, '-') + " |" : " " + std::string(width[c] - 1, '-') + ": |";
  }
  out += "\n";
  for (const auto& row : rows_) out += line(row);
  return out;
}

std::string TextTable::RenderCsv() const {
  auto line = [](const std::vector<std::string>& cells) {
    std::string out;
    for (size_t c = 0; c < cells.size(); ++c) out += (c ? "," : "") + CsvCell(cells[c]);
    return out + "\n";
  };
  std::string out = line(header_);
  for (const auto& row : rows_) out += line(row);
  return out;
}

std::string TextTable::RenderLatex() const {
  std::string spec;
  for (size_t c = 0; c < header_.size(); ++c) spec += left_[c] ? 'l' : 'r';
  std::string out = fmt::format("\\begin{{tabular}}{{{}}}\n\\toprule\n", spec);
  auto line = [](const std::vector<std::string>& cells) {
    std::string l;
    for (size_t c = 0; c < cells.size(); ++c) l += (c ? " & " : "") + LatexCell(cells[c]);
    return l + " \\\\\n";
  };
  out += line(header_) + "\\midrule\n";
  for (const auto& row : rows_) out += line(row);
  return out + "\\bottomrule\n\\end{tabular}\n";
}

}  // namespace qg
