#include "core/data/data_loader.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <set>

#include "core/data/synthetic.h"

namespace qg::data {
namespace {

std::shared_ptr<const Dataset> Tiny(int64_t n) {
  DatasetInfo info{.name = "tiny", .channels = 1, .height = 4, .width = 4, .num_classes = 10,
                   .mean = {0.5f}, .std = {0.25f}};
  return std::make_shared<InMemoryDataset>(
      info, MakeSyntheticImages({.count = n, .channels = 1, .height = 4, .width = 4, .num_classes = 10, .seed = 1}));
}

std::vector<torch::Tensor> Drain(const DataLoader& loader, int64_t epoch, std::vector<torch::Tensor>* images = nullptr) {
  std::vector<torch::Tensor> labels;
  auto it = loader.Epoch(epoch);
  while (true) {
    auto b = it->Next();
    EXPECT_TRUE(b);
    if (!*b) break;
    labels.push_back((*b)->labels);
    if (images) images->push_back((*b)->images);
  }
  return labels;
}

TEST(DataLoader, BatchesCoverEveryExampleOnceAndKeepTheLastPartialBatch) {
  DataLoader loader(Tiny(10), {.batch_size = 4, .shuffle = true, .seed = 3});
  EXPECT_EQ(loader.BatchesPerEpoch(), 3);
  std::vector<torch::Tensor> images;
  const auto labels = Drain(loader, 0, &images);
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[2].size(0), 2);
  EXPECT_EQ(images[0].dtype(), torch::kFloat32);
  EXPECT_EQ(images[0].sizes(), (std::vector<int64_t>{4, 1, 4, 4}));
  // Labels are i % 10 for example i, so the multiset of labels is 0..9.
  std::multiset<int64_t> seen;
  for (const auto& l : labels) {
    for (int64_t i = 0; i < l.size(0); ++i) seen.insert(l[i].item<int64_t>());
  }
  EXPECT_EQ(seen, (std::multiset<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(DataLoader, OrderDependsOnlyOnSeedAndEpoch) {
  DataLoader a(Tiny(64), {.batch_size = 8, .shuffle = true, .seed = 5, .prefetch = 2});
  DataLoader b(Tiny(64), {.batch_size = 8, .shuffle = true, .seed = 5, .prefetch = 0});
  DataLoader c(Tiny(64), {.batch_size = 8, .shuffle = true, .seed = 6});
  const auto la = torch::cat(Drain(a, 2)), lb = torch::cat(Drain(b, 2)), lc = torch::cat(Drain(c, 2));
  EXPECT_TRUE(torch::equal(la, lb));
  EXPECT_FALSE(torch::equal(la, lc));
  EXPECT_FALSE(torch::equal(la, torch::cat(Drain(a, 3))));
}

TEST(DataLoader, ShardsPartitionEachGlobalBatch) {
  const auto ds = Tiny(64);
  DataLoader whole(ds, {.batch_size = 16, .shuffle = true, .drop_last = true, .seed = 9});
  DataLoader r0(ds, {.batch_size = 8, .shuffle = true, .drop_last = true, .seed = 9, .rank = 0, .world_size = 2});
  DataLoader r1(ds, {.batch_size = 8, .shuffle = true, .drop_last = true, .seed = 9, .rank = 1, .world_size = 2});
  EXPECT_EQ(r0.BatchesPerEpoch(), whole.BatchesPerEpoch());
  std::vector<torch::Tensor> iw, i0, i1;
  Drain(whole, 1, &iw);
  Drain(r0, 1, &i0);
  Drain(r1, 1, &i1);
  for (size_t s = 0; s < iw.size(); ++s) EXPECT_TRUE(torch::equal(iw[s], torch::cat({i0[s], i1[s]})));
}

TEST(DataLoader, NormalizesWithDatasetStatistics) {
  DataLoader loader(Tiny(4), {.batch_size = 4});
  auto it = loader.Epoch(0);
  const auto batch = it->Next();
  ASSERT_TRUE(batch && *batch);
  const auto raw = Tiny(4)->Fetch({0, 1, 2, 3});
  const auto expected = (raw->images.to(torch::kFloat32) / 255.0 - 0.5) / 0.25;
  EXPECT_TRUE(torch::allclose((*batch)->images, expected, 1e-5, 1e-5));
}

TEST(Augment, IsDeterministicPerExampleAndKeepsShape) {
  auto images = torch::arange(2 * 1 * 6 * 6, torch::kUInt8).view({2, 1, 6, 6});
  const AugmentOptions o{.crop_padding = 2, .horizontal_flip = true};
  const auto a = Augment(images, {10, 11}, o, 1, 0);
  const auto b = Augment(images.slice(0, 1, 2), {11}, o, 1, 0);
  EXPECT_EQ(a.sizes(), images.sizes());
  EXPECT_TRUE(torch::equal(a[1], b[0]));  // same example, same transform, whatever the batch
  bool changed = false;
  for (int e = 0; e < 8; ++e) changed |= !torch::equal(Augment(images, {10, 11}, o, 1, e), images);
  EXPECT_TRUE(changed);
}

}  // namespace
}  // namespace qg::data
