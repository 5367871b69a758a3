#include "core/metrics/output_diff.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace qg::metrics {
namespace {

TEST(OutputDiff, KnownAnswers) {
  const auto a = torch::tensor({{1.f, 0.f}, {0.f, 2.f}});
  const auto b = torch::tensor({{1.f, 0.5f}, {1.f, 0.f}});  // row 1 flips its argmax
  const auto d = CompareOutputs(a, b);
  EXPECT_EQ(d.count, 2);
  EXPECT_DOUBLE_EQ(d.max_abs, 2.0);
  EXPECT_DOUBLE_EQ(d.mean_abs, (0 + 0.5 + 1 + 2) / 4.0);
  EXPECT_DOUBLE_EQ(d.relative_mse, ((0.25 + 1 + 4) / 4) / (5.0 / 4));
  EXPECT_DOUBLE_EQ(d.top1_agreement, 50.0);
  EXPECT_DOUBLE_EQ(CompareOutputs(a, a).max_abs, 0.0);
}

}  // namespace
}  // namespace qg::metrics
