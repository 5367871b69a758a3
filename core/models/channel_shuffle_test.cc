// The channel order of a shuffle, against LibTorch's own channel_shuffle.
#include "core/models/channel_shuffle.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace qg::models {
namespace {

TEST(ChannelShuffle, SourcesAreTheChannelsLibTorchsChannelShuffleMoves) {
  EXPECT_EQ(ChannelShuffleSources(6, 2), (std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
  for (auto [channels, groups] : {std::pair<int64_t, int64_t>{48, 2}, {24, 3}, {12, 4}, {5, 1}, {7, 7}}) {
    const auto index = torch::arange(channels, torch::kFloat).view({1, channels, 1, 1});
    const auto moved = at::channel_shuffle(index, groups).flatten().to(torch::kLong);
    const std::vector<int64_t> expected(moved.data_ptr<int64_t>(), moved.data_ptr<int64_t>() + channels);
    EXPECT_EQ(ChannelShuffleSources(channels, groups), expected) << channels << " channels, " << groups << " groups";
  }
}

}  // namespace
}  // namespace qg::models
