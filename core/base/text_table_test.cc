#include "core/base/text_table.h"

#include <gtest/gtest.h>

namespace qg {
namespace {

TextTable Sample() {
  TextTable t({"Strategy", "Top-1 (%)", "Size (MB)"}, {true, false, false});
  t.AddRow({"fp32", "90.12 ± 0.10", "1.56"});
  t.AddRow({"naive_ptq", "89.9", "0.40"});
  return t;
}

TEST(TextTable, Markdown) {
  EXPECT_EQ(Sample().Render(TableFormat::kMarkdown),
            "| Strategy  |    Top-1 (%) | Size (MB) |\n"
            "| :-------- | -----------: | --------: |\n"
            "| fp32      | 90.12 ± 0.10 |      1.56 |\n"
            "| naive_ptq |         89.9 |      0.40 |\n");
}

TEST(TextTable, CsvQuotesWhatNeedsQuoting) {
  TextTable t({"a", "b"});
  t.AddRow({"x,y", "say \"hi\""});
  EXPECT_EQ(t.Render(TableFormat::kCsv), "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n");
}

TEST(TextTable, LatexEscapesSpecials) {
  EXPECT_EQ(Sample().Render(TableFormat::kLatex),
            "\\begin{tabular}{lrr}\n\\toprule\n"
            "Strategy & Top-1 (\\%) & Size (MB) \\\\\n\\midrule\n"
            "fp32 & 90.12 $\\pm$ 0.10 & 1.56 \\\\\n"
            "naive\\_ptq & 89.9 & 0.40 \\\\\n"
            "\\bottomrule\n\\end{tabular}\n");
}

TEST(TextTable, ParsesFormatNames) {
  EXPECT_EQ(*ParseTableFormat("md"), TableFormat::kMarkdown);
  EXPECT_EQ(*ParseTableFormat("latex"), TableFormat::kLatex);
  EXPECT_EQ(ParseTableFormat("xlsx").error().message, "unknown table format 'xlsx'; known: md, csv, latex");
}

}  // namespace
}  // namespace qg
