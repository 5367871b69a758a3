#include "core/base/progress.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace qg {
namespace {

std::string ReadAll(std::FILE* f) {
  std::rewind(f);
  std::string out;
  char buf[256];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(ProgressBar, NonTerminalPrintsPlainLinesAndFinalState) {
  std::FILE* f = std::tmpfile();
  {
    ProgressBar bar("epoch 1/3", 10, f, std::chrono::seconds(0));
    bar.Update(5, "loss 0.5");
    bar.Finish("top-1 90 %");
  }
  const std::string out = ReadAll(f);
  std::fclose(f);
  EXPECT_NE(out.find("epoch 1/3  50% 5/10"), std::string::npos) << out;
  EXPECT_NE(out.find("100% 10/10"), std::string::npos) << out;
  EXPECT_NE(out.find("top-1 90 %"), std::string::npos);
  EXPECT_EQ(out.find('\r'), std::string::npos);
}

TEST(HumanDuration, PicksReadableUnits) {
  EXPECT_EQ(HumanDuration(0.85), "850ms");
  EXPECT_EQ(HumanDuration(12.34), "12.3s");
  EXPECT_EQ(HumanDuration(65), "1m05s");
  EXPECT_EQ(HumanDuration(3725), "1h02m");
}

}  // namespace
}  // namespace qg
