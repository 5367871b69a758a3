#include "core/train/early_stopping.h"

#include <gtest/gtest.h>

namespace qg::train {
namespace {

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovement) {
  EarlyStopping s(2);
  EXPECT_TRUE(s.Record(0, 80));
  EXPECT_TRUE(s.Record(1, 85));
  EXPECT_FALSE(s.Record(2, 84));
  EXPECT_FALSE(s.ShouldStop());
  EXPECT_FALSE(s.Record(3, 85));  // equal is not better
  EXPECT_TRUE(s.ShouldStop());
  EXPECT_EQ(s.best_epoch(), 1);
  EXPECT_DOUBLE_EQ(s.best(), 85);
}

TEST(EarlyStopping, ZeroPatienceNeverStopsAndMinDeltaCounts) {
  EarlyStopping never(0);
  for (int e = 0; e < 10; ++e) never.Record(e, 50);
  EXPECT_FALSE(never.ShouldStop());
  EarlyStopping delta(1, 0.5);
  delta.Record(0, 80);
  EXPECT_FALSE(delta.Record(1, 80.4));
  EXPECT_TRUE(delta.ShouldStop());
}

}  // namespace
}  // namespace qg::train
