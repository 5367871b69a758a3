#include "coordinator/health_check.h"

#include <gtest/gtest.h>

#include "core/base/fake_clock.h"

namespace qg::coord {
namespace {

using std::chrono::milliseconds;

TEST(HealthCheck, APeerThatKeepsBeatingLivesAndASilentOneDiesOnce) {
  FakeClock clock;
  std::vector<std::pair<uint64_t, std::string>> dead;
  HealthCheck health(clock, [&](uint64_t peer, const std::string& why) { dead.emplace_back(peer, why); });
  health.Watch(1, milliseconds(500), "missed 5 heartbeats");
  health.Watch(2, milliseconds(500), "missed 5 heartbeats");
  for (int i = 0; i < 10; ++i) {
    clock.Advance(milliseconds(400));
    health.Beat(1);
    health.Check();
  }
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0], (std::pair<uint64_t, std::string>{2, "missed 5 heartbeats"}));
  health.Check();
  EXPECT_EQ(dead.size(), 1u) << "declared dead once";
  EXPECT_EQ(health.watched(), 1u);
}

TEST(HealthCheck, ADeadlineIsExactAndRewatchingChangesTheTimeout) {
  FakeClock clock;
  int deaths = 0;
  HealthCheck health(clock, [&](uint64_t, const std::string&) { ++deaths; });
  health.Watch(7, milliseconds(5000), "no hello in time");
  clock.Advance(milliseconds(4999));
  health.Check();
  EXPECT_EQ(deaths, 0);
  health.Watch(7, milliseconds(100), "missed heartbeats");  // authenticated: the worker's own window
  clock.Advance(milliseconds(100));
  health.Check();
  EXPECT_EQ(deaths, 1);
  health.Watch(8, milliseconds(10), "x");
  health.Forget(8);
  clock.Advance(milliseconds(50));
  health.Check();
  EXPECT_EQ(deaths, 1);
}

}  // namespace
}  // namespace qg::coord
