// The channel order of a channel shuffle (ShuffleNet's, torch.channel_shuffle),
// for the code that moves bytes itself instead of calling it: the QDQ export's
// pick convs (core/export/internal/channel_picks.h) and the INT8 concat and
// shuffle pass (core/quant/internal/concat_shuffle.h).
#pragma once

#include <cstdint>
#include <vector>

namespace qg::models {

// A shuffle of `channels` in `groups` groups (channels divisible by groups)
// reads them as [groups, channels / groups] and writes that transposed:
// output channel k holds input channel ChannelShuffleSources(...)[k].
std::vector<int64_t> ChannelShuffleSources(int64_t channels, int64_t groups);

}  // namespace qg::models
