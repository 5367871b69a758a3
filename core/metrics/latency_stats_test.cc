#include "core/metrics/latency_stats.h"

#include <gtest/gtest.h>

namespace qg::metrics {
namespace {

TEST(LatencyStats, KnownAnswers) {
  const auto s = Summarize({4, 1, 3, 2, 10}, 2);
  EXPECT_EQ(s.runs, 5);
  EXPECT_DOUBLE_EQ(s.mean_ms, 4.0);
  EXPECT_DOUBLE_EQ(s.p50_ms, 3.0);
  EXPECT_DOUBLE_EQ(s.p95_ms, 4 + 0.8 * 6);  // numpy.percentile([1,2,3,4,10], 95)
  EXPECT_DOUBLE_EQ(s.min_ms, 1.0);
  EXPECT_NEAR(s.std_ms, 3.5355339, 1e-6);   // sample std-dev
  EXPECT_DOUBLE_EQ(s.ms_per_image, 2.0);
}

TEST(LatencyStats, SingleSampleAndJsonRoundTrip) {
  auto s = Summarize({7.5}, 64);
  EXPECT_DOUBLE_EQ(s.std_ms, 0.0);
  s.threads = 2;
  s.reference_p50_ms = 30.0;
  s.speedup_vs_reference = 4.0;
  const auto back = LatencyStats::FromJson(s.ToJson());
  EXPECT_EQ(back.ToJson(), s.ToJson());
  EXPECT_DOUBLE_EQ(back.speedup_vs_reference, 4.0);
}

TEST(LatencyStats, JsonLeavesOutWhatWasNotMeasured) {
  auto s = Summarize({7.5, 7.0, 8.0}, 1);
  const auto plain = s.ToJson();
  for (const char* key : {"reference_p50_ms", "speedup_vs_reference", "replicates", "p50_ci_low_ms", "p50_ci_high_ms",
                          "device_name"}) {
    EXPECT_FALSE(plain.contains(key)) << key;
  }
  SetReplicates(s, {7.0, 7.5, 8.0, 7.2});
  const auto back = LatencyStats::FromJson(s.ToJson());
  EXPECT_EQ(back.replicates, 4);
  EXPECT_DOUBLE_EQ(back.p50_ci_low_ms, s.p50_ci_low_ms);
  EXPECT_DOUBLE_EQ(back.p50_ci_high_ms, s.p50_ci_high_ms);
  EXPECT_LE(back.p50_ci_low_ms, back.p50_ms);
  EXPECT_GE(back.p50_ci_high_ms, back.p50_ms);
}

}  // namespace
}  // namespace qg::metrics
