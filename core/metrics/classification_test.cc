#include "core/metrics/classification.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace qg::metrics {
namespace {

TEST(Classification, TopKConfusionAndPerClassKnownAnswers) {
  ClassificationAccumulator acc(6);
  // Row i ranks classes by logit; the true labels are below.
  const auto logits = torch::tensor({{9.f, 8.f, 7.f, 6.f, 5.f, 4.f},    // pred 0, label 0: top-1 hit
                                     {9.f, 8.f, 7.f, 6.f, 5.f, 4.f},    // pred 0, label 4: top-5 hit
                                     {9.f, 8.f, 7.f, 6.f, 5.f, 4.f},    // pred 0, label 5: miss
                                     {0.f, 0.f, 1.f, 0.f, 0.f, 0.f}});  // pred 2, label 2: hit
  acc.Add(logits.slice(0, 0, 2), torch::tensor({0, 4}));
  acc.Add(logits.slice(0, 2, 4), torch::tensor({5, 2}));
  const auto r = acc.Report();
  EXPECT_EQ(r.count, 4);
  EXPECT_DOUBLE_EQ(r.top1, 50.0);
  EXPECT_DOUBLE_EQ(r.top5, 75.0);
  EXPECT_EQ(r.confusion[4][0], 1);
  EXPECT_EQ(r.confusion[5][0], 1);
  EXPECT_EQ(r.confusion[2][2], 1);
  EXPECT_DOUBLE_EQ(r.per_class_accuracy[0], 100.0);
  EXPECT_DOUBLE_EQ(r.per_class_accuracy[4], 0.0);
  EXPECT_DOUBLE_EQ(r.per_class_accuracy[1], -1.0);  // no examples
  int64_t total = 0;
  for (const auto& row : r.confusion) {
    for (auto v : row) total += v;
  }
  EXPECT_EQ(total, 4);
}

}  // namespace
}  // namespace qg::metrics
