#include "core/train/lr_schedule.h"

#include <gtest/gtest.h>

namespace qg::train {
namespace {

TEST(CosineSchedule, WarmsUpLinearlyThenDecaysToMin) {
  const CosineSchedule s{.base_lr = 0.1, .min_lr = 0.001, .warmup_steps = 4, .total_steps = 104};
  EXPECT_DOUBLE_EQ(s.At(0), 0.025);
  EXPECT_DOUBLE_EQ(s.At(3), 0.1);
  EXPECT_DOUBLE_EQ(s.At(4), 0.1);
  EXPECT_NEAR(s.At(54), 0.001 + 0.5 * 0.099, 1e-12);  // halfway through the decay
  EXPECT_NEAR(s.At(104), 0.001, 1e-12);
  EXPECT_NEAR(s.At(500), 0.001, 1e-12);
  for (int64_t i = 5; i < 104; ++i) EXPECT_LE(s.At(i), s.At(i - 1));
}

TEST(CosineSchedule, NoWarmupStartsAtBase) {
  const CosineSchedule s{.base_lr = 0.05, .total_steps = 10};
  EXPECT_DOUBLE_EQ(s.At(0), 0.05);
}

}  // namespace
}  // namespace qg::train
