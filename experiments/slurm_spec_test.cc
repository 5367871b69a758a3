#include "experiments/slurm_spec.h"

#include <gtest/gtest.h>

#include "experiments/spec.h"
#include "tests/testing/fake_catalog.h"

namespace qg::exp {
namespace {

using nlohmann::json;

TEST(SlurmSpec, ParsesEverySlurmTimeFormatToMinutesRoundedUp) {
  EXPECT_EQ(*ParseSlurmTime(json(45)), 45);
  EXPECT_EQ(*ParseSlurmTime(json("45")), 45);
  EXPECT_EQ(*ParseSlurmTime(json("5:30")), 6);  // MM:SS, rounded up
  EXPECT_EQ(*ParseSlurmTime(json("2:00:00")), 120);
  EXPECT_EQ(*ParseSlurmTime(json("1-2")), 24 * 60 + 120);
  EXPECT_EQ(*ParseSlurmTime(json("1-0:30")), 24 * 60 + 30);
  EXPECT_EQ(*ParseSlurmTime(json("0-0:0:1")), 1);
  for (const json& bad : {json("1h"), json(0), json(-5), json("0:00"), json(1.5), json("")}) {
    EXPECT_FALSE(ParseSlurmTime(bad)) << bad.dump();
  }
}

TEST(SlurmSpec, ReadsTheSectionAndFallsBackToTheDefaultTimeLimit) {
  const auto s = ParseSlurmSection(json::parse(R"({"slurm": {"partition": "gpu", "account": "lab",
      "time_limits": {"train": "2:00:00", "default": 30}, "extra_args": ["--constraint=avx512"]}})"));
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->partition, "gpu");
  EXPECT_EQ(s->account, "lab");
  EXPECT_EQ(s->TimeLimitFor("train"), 120);
  EXPECT_EQ(s->TimeLimitFor("quantize"), 30);
  EXPECT_EQ(s->extra_args, std::vector<std::string>{"--constraint=avx512"});
  const auto none = ParseSlurmSection(json::parse(R"({"name": "x"})"));
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->TimeLimitFor("train"));
}

TEST(SlurmSpec, ErrorsNameTheField) {
  auto error = [](const char* text) { return ParseSlurmSection(json::parse(text)).error().ToString(); };
  EXPECT_NE(error(R"({"slurm": {"partiton": "gpu"}})").find("slurm: unknown field \"partiton\""), std::string::npos);
  EXPECT_NE(error(R"({"slurm": {"time_limits": {"train": "2h"}}})").find("slurm.time_limits.train"),
            std::string::npos);
  EXPECT_NE(error(R"({"slurm": {"extra_args": ["-p x"]}})").find("slurm.extra_args[0]"), std::string::npos);
  EXPECT_NE(error(R"({"slurm": {"partition": 3}})").find("slurm.partition"), std::string::npos);
}

TEST(SlurmSpec, AGridSpecWithABadSlurmSectionIsRejectedBeforeAnythingRuns) {
  qg::testing::FakeCatalog catalog;
  auto spec = json::parse(R"({"name": "s", "dataset": {"name": "fashion-mnist"}, "model": {"name": "compact_cnn"},
                              "grid": {"strategies": ["fp32"]}, "slurm": {"time_limits": {"train": "soon"}}})");
  auto parsed = ParseSpec(spec, catalog, "onednn");
  ASSERT_FALSE(parsed);
  EXPECT_NE(parsed.error().ToString().find("slurm.time_limits.train"), std::string::npos);
  spec["slurm"]["time_limits"]["train"] = "1:00:00";
  EXPECT_TRUE(ParseSpec(spec, catalog, "onednn")) << "a valid slurm section is accepted";
}

}  // namespace
}  // namespace qg::exp
