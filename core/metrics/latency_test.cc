#include "core/metrics/latency.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <chrono>
#include <map>

#include "core/base/blas_threads.h"

namespace qg::metrics {
namespace {

// Records the BLAS thread count each call sees and the batch it gets.
class RecordingModel final : public models::InferenceModel {
 public:
  std::string Describe() const override { return "recording"; }
  torch::Tensor Predict(const torch::Tensor& images) override {
    blas_threads.push_back(BlasThreads());
    batches.push_back(images.size(0));
    return torch::zeros({images.size(0), 10});
  }
  std::vector<int> blas_threads;
  std::vector<int64_t> batches;
};

TEST(MeasureLatency, TimesEveryBatchSizeWithBlasHeldAtOneThread) {
  const int before = BlasThreads();
  RecordingModel model;
  auto stats = MeasureLatency(model, {1, 4, 4}, {.batch_sizes = {1, 3}, .warmup_runs = 2, .runs = 5});
  ASSERT_TRUE(stats) << stats.error().ToString();
  ASSERT_EQ(stats->size(), 2u);
  EXPECT_EQ((*stats)[0].batch_size, 1);
  EXPECT_EQ((*stats)[1].batch_size, 3);
  EXPECT_EQ(model.batches.size(), 14u);
  for (int threads : model.blas_threads) EXPECT_EQ(threads, before > 0 ? 1 : 0);
  EXPECT_EQ(BlasThreads(), before);  // restored
}

// Holds its thread count as the compiled FP32 and INT8 models do, and counts
// its calls by batch size.
class ChoosingModel final : public models::InferenceModel {
 public:
  std::string Describe() const override { return "choosing"; }
  torch::Tensor Predict(const torch::Tensor& images) override {
    const auto threads = ThreadsFor(images);
    ++calls[images.size(0)];
    return torch::zeros({images.size(0), 10});
  }
  std::map<int64_t, int> calls;
};

TEST(MeasureLatency, ASmallBatchsThreadCountIsChosenInTheWarmUpHoweverFewWarmUpRunsWereAsked) {
  ChoosingModel model;
  auto stats = MeasureLatency(model, {1, 4, 4}, {.batch_sizes = {1, 3}, .warmup_runs = 2, .runs = 5});
  ASSERT_TRUE(stats) << stats.error().ToString();
  EXPECT_TRUE(model.OnOneThreadAt(1).has_value());
  EXPECT_EQ(model.calls[1], SmallBatchThreads::kMeasuringCalls + 5);
  EXPECT_EQ(model.calls[3], 2 + 5);  // nothing to choose past batch 2
  // Chosen already: a second measurement warms up as asked.
  model.calls.clear();
  ASSERT_TRUE(MeasureLatency(model, {1, 4, 4}, {.batch_sizes = {1}, .warmup_runs = 2, .runs = 5}));
  EXPECT_EQ(model.calls[1], 2 + 5);
}

// Spins for a fixed time per call, times a factor the test can change
// between calls (a machine slowing down for a while).
class SpinningModel final : public models::InferenceModel {
 public:
  SpinningModel(double ms, const double* slowdown) : ms_(ms), slowdown_(slowdown) {}
  std::string Describe() const override { return "spinning"; }
  torch::Tensor Predict(const torch::Tensor& images) override {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double, std::milli>(ms_ * *slowdown_);
    while (std::chrono::steady_clock::now() < end) {
    }
    ++calls;
    return torch::zeros({images.size(0), 10});
  }
  int calls = 0;

 private:
  double ms_;
  const double* slowdown_;
};

// The model against a reference 3x slower, timed alternately in 10 rounds:
// the speedup is 3 whatever the machine does between rounds.
TEST(MeasureLatency, AgainstAReferenceTimesBothAlternatelyAndReportsTheSpeedup) {
  double slowdown = 1.0;
  SpinningModel model(0.2, &slowdown), reference(0.6, &slowdown);
  // Rounds are 5 calls each. After round 4 the machine gets 4x slower, after
  // round 7 fast again: three slow rounds in the middle, so that medians over
  // the whole run still sit on the fast machine. (With slow and fast rounds
  // half and half, those medians fall on the boundary and the reference's
  // median can come out below twice the model's.)
  class Shifting final : public models::InferenceModel {
   public:
    Shifting(SpinningModel& m, double* slowdown) : m_(m), slowdown_(slowdown) {}
    std::string Describe() const override { return "shifting"; }
    torch::Tensor Predict(const torch::Tensor& images) override {
      auto out = m_.Predict(images);
      ++calls_;
      if (calls_ == 20) *slowdown_ = 4.0;
      if (calls_ == 35) *slowdown_ = 1.0;
      return out;
    }

   private:
    SpinningModel& m_;
    double* slowdown_;
    int calls_ = 0;
  } shifting(model, &slowdown);
  auto stats = MeasureLatency(shifting, {1, 2, 2}, {.batch_sizes = {4}, .warmup_runs = 0, .runs = 50}, &reference);
  ASSERT_TRUE(stats) << stats.error().ToString();
  ASSERT_EQ(stats->size(), 1u);
  const auto& s = stats->front();
  EXPECT_EQ(s.runs, 50);
  EXPECT_EQ(model.calls, 50);
  EXPECT_EQ(reference.calls, 50);
  EXPECT_NEAR(s.speedup_vs_reference, 3.0, 0.3);
  EXPECT_GT(s.reference_p50_ms, 2 * s.p50_ms);

  auto unpaired = MeasureLatency(model, {1, 2, 2}, {.batch_sizes = {4}, .warmup_runs = 1, .runs = 5});
  ASSERT_TRUE(unpaired);
  EXPECT_EQ(unpaired->front().speedup_vs_reference, 0.0);
  EXPECT_EQ(MeasureLatency(model, {1, 2, 2}, {.batch_sizes = {4}, .device = "cuda"}, &reference).error().code,
            ErrorCode::kInvalidArgument);
}

TEST(ScopedBlasThreads, SetsThenRestoresWhereTheBlasHasThreads) {
  const int before = BlasThreads();
  if (before == 0) GTEST_SKIP() << "this BLAS has no thread control";
  {
    ScopedBlasThreads one(1);
    EXPECT_EQ(BlasThreads(), 1);
    {
      ScopedBlasThreads two(2);
      EXPECT_EQ(BlasThreads(), 2);
    }
    EXPECT_EQ(BlasThreads(), 1);
  }
  EXPECT_EQ(BlasThreads(), before);
}

}  // namespace
}  // namespace qg::metrics
