#include "core/models/channel_shuffle.h"

#include <cstddef>

namespace qg::models {

std::vector<int64_t> ChannelShuffleSources(int64_t channels, int64_t groups) {
  // Output channel k = i * groups + j holds input channel j * per_group + i.
  const int64_t per_group = channels / groups;
  std::vector<int64_t> from(static_cast<std::size_t>(channels));
  for (int64_t k = 0; k < channels; ++k) from[k] = (k % groups) * per_group + k / groups;
  return from;
}

}  // namespace qg::models
