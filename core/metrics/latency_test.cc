#include "core/metrics/latency.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

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
