#include "core/base/backoff.h"

#include <gtest/gtest.h>

#include <set>

namespace qg {
namespace {

TEST(Backoff, WithoutJitterTheSequenceDoublesUpToTheCap) {
  Backoff b({.base_ms = 100, .max_ms = 1000, .multiplier = 2, .jitter = 0});
  std::vector<int64_t> seen;
  for (int i = 0; i < 6; ++i) seen.push_back(b.NextMs());
  EXPECT_EQ(seen, (std::vector<int64_t>{100, 200, 400, 800, 1000, 1000}));
  b.Reset();
  EXPECT_EQ(b.NextMs(), 100);
  EXPECT_EQ(b.DelayMs(3), 400);
}

TEST(Backoff, JitterSpreadsDelaysWithinItsBoundsAndUnderTheCap) {
  Backoff b({.base_ms = 1000, .max_ms = 60000, .multiplier = 2, .jitter = 0.2}, /*seed=*/7);
  std::set<int64_t> first;
  for (int i = 0; i < 200; ++i) {
    const int64_t d = b.DelayMs(1);
    EXPECT_GE(d, 800);
    EXPECT_LE(d, 1200);
    first.insert(d);
    EXPECT_LE(b.DelayMs(20), 60000);
    EXPECT_GE(b.DelayMs(20), 48000);
  }
  EXPECT_GT(first.size(), 50u) << "peers that fail together must not retry in lockstep";
}

TEST(Backoff, TwoPeersWithTheSameFailuresGetDifferentDelays) {
  Backoff a({.base_ms = 100, .max_ms = 2000, .jitter = 0.5}), b({.base_ms = 100, .max_ms = 2000, .jitter = 0.5});
  int same = 0;
  for (int i = 0; i < 20; ++i) same += a.NextMs() == b.NextMs();
  EXPECT_LT(same, 5);
}

}  // namespace
}  // namespace qg
