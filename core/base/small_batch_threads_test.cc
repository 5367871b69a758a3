#include "core/base/small_batch_threads.h"

#include <gtest/gtest.h>
#include <omp.h>

#include <chrono>
#include <thread>

namespace qg {
namespace {

constexpr int kCalls = SmallBatchThreads::kMeasuringCalls;

// A fake model call: takes `one_ms` on one thread and `all_ms` on all.
void FakeCall(SmallBatchThreads& threads, int64_t batch, double one_ms, double all_ms, int* seen_threads = nullptr) {
  const SmallBatchThreads::Call call(threads, batch);
  const int n = omp_get_max_threads();
  if (seen_threads) *seen_threads = n;
  std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(n == 1 ? one_ms : all_ms));
}

class SmallBatchThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    before_ = omp_get_max_threads();
    omp_set_num_threads(2);
  }
  void TearDown() override { omp_set_num_threads(before_); }
  int before_ = 1;
};

TEST_F(SmallBatchThreadsTest, KeepsWhicheverModeItsFirstCallsMeasuredFasterPerBatchSize) {
  SmallBatchThreads threads;
  // Batch 1 is faster on one thread, batch 2 on all.
  EXPECT_EQ(threads.MeasuringCallsLeft(1), 0);  // not begun: nothing to wait for
  for (int i = 0; i < kCalls; ++i) {
    EXPECT_FALSE(threads.Chosen(1).has_value()) << "call " << i;
    if (i > 0) {
      EXPECT_EQ(threads.MeasuringCallsLeft(1), kCalls - i);
    }
    FakeCall(threads, 1, 1, 4);
    FakeCall(threads, 2, 4, 1);
    EXPECT_EQ(omp_get_max_threads(), 2);
  }
  ASSERT_TRUE(threads.Chosen(1).has_value());
  EXPECT_EQ(threads.MeasuringCallsLeft(1), 0);
  EXPECT_TRUE(*threads.Chosen(1));
  EXPECT_FALSE(*threads.Chosen(2));
  // Chosen for good: later calls run in that mode, however they would time.
  for (int i = 0; i < kCalls; ++i) {
    int one = 0, two = 0;
    FakeCall(threads, 1, 4, 1, &one);
    FakeCall(threads, 2, 1, 4, &two);
    EXPECT_EQ(one, 1);
    EXPECT_EQ(two, 2);
  }
  EXPECT_TRUE(*threads.Chosen(1));
}

TEST_F(SmallBatchThreadsTest, MeasuresBothModesInAlternatingBlocks) {
  SmallBatchThreads threads;
  std::vector<int> seen;
  for (int i = 0; i < kCalls; ++i) {
    int n = 0;
    FakeCall(threads, 1, 0, 0, &n);
    seen.push_back(n);
  }
  // Warm-up calls on one thread, then blocks on all threads and on one in turn.
  for (int i = 0; i < kCalls; ++i) {
    const int block = (i - SmallBatchThreads::kWarmupCalls) / SmallBatchThreads::kCallsPerBlock;
    const int expected = i < SmallBatchThreads::kWarmupCalls ? 1 : block % 2 == 0 ? 2 : 1;
    EXPECT_EQ(seen[i], expected) << "call " << i;
  }
}

TEST_F(SmallBatchThreadsTest, LargerBatchesAndForcedModesAreNotMeasured) {
  SmallBatchThreads threads;
  int n = 0;
  FakeCall(threads, SmallBatchThreads::kLargestBatch + 1, 0, 0, &n);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(threads.Chosen(SmallBatchThreads::kLargestBatch + 1), false);
  FakeCall(threads, 0, 0, 0, &n);  // no batch dimension
  EXPECT_EQ(n, 2);

  threads.Force(0);
  FakeCall(threads, 1, 0, 0, &n);
  EXPECT_EQ(n, 2);
  EXPECT_EQ(threads.Chosen(1), false);
  threads.Force(1 << 20);
  FakeCall(threads, 1, 0, 0, &n);
  EXPECT_EQ(n, 1);
  FakeCall(threads, 64, 0, 0, &n);
  EXPECT_EQ(n, 1);
  EXPECT_EQ(omp_get_max_threads(), 2);
}

}  // namespace
}  // namespace qg
