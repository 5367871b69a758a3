#include "experiments/job_graph.h"

#include <gtest/gtest.h>

#include "tests/testing/record_fixtures.h"

namespace qg::exp {
namespace {

using qg::testing::MakeJob;

std::vector<storage::JobRecord> Dag() {
  return {MakeJob("train", "train", {{"i", 0}}), MakeJob("q1", "quantize", {{"i", 1}}, {"train"}),
          MakeJob("q2", "quantize", {{"i", 2}}, {"train"}), MakeJob("export", "export", {{"i", 3}}, {"q1"})};
}

TEST(JobGraph, UnknownDependencyAndCyclesAreRejected) {
  auto jobs = Dag();
  EXPECT_TRUE(CheckDependencies(jobs));
  jobs[0].deps = {"export"};
  const auto cycle = CheckDependencies(jobs);
  ASSERT_FALSE(cycle);
  EXPECT_NE(cycle.error().message.find("dependency cycle"), std::string::npos);
  jobs[0].deps = {"nowhere"};
  EXPECT_EQ(CheckDependencies(jobs).error().message, "job 'train' depends on 'nowhere', which is not a job");
}

}  // namespace
}  // namespace qg::exp
