#include "core/export/internal/channel_picks.h"

#include <torch/torch.h>

namespace qg::onnx_export::internal {

using quant::internal::Step;
using quant::internal::StepKind;

std::vector<int64_t> ShuffledChannels(int64_t channels, int64_t groups) {
  // The shuffle reads [groups, channels / groups] and writes it transposed:
  // output channel k = i * groups + j holds input channel j * per_group + i.
  const int64_t per_group = channels / groups;
  std::vector<int64_t> from(static_cast<size_t>(channels));
  for (int64_t k = 0; k < channels; ++k) from[k] = (k % groups) * per_group + k / groups;
  return from;
}

bool IsChannelShuffle(const Step& step) {
  return step.kind == StepKind::kActivation && step.fn.op == models::Op::kChannelShuffle && step.fn.groups >= 1 &&
         step.fn.out_channels > 0 && step.fn.out_channels <= kMaxPickedChannels &&
         step.fn.out_channels % step.fn.groups == 0 && step.inputs.size() == 1;
}

bool IsChannelSlice(const Step& step) {
  return step.kind == StepKind::kActivation && step.fn.op == models::Op::kSlice && step.fn.start >= 0 &&
         step.fn.out_channels > 0 && step.inputs.size() == 1;
}

std::vector<int64_t> PickedChannels(const Step& step) { return ShuffledChannels(step.fn.out_channels, step.fn.groups); }

std::vector<int64_t> PickedChannels(const Step& slice, const Step& shuffle) {
  const std::vector<int64_t> from = PickedChannels(shuffle);
  const int64_t end = std::min<int64_t>(slice.fn.start + slice.fn.out_channels, static_cast<int64_t>(from.size()));
  return {from.begin() + std::min<int64_t>(slice.fn.start, end), from.begin() + end};
}

Step ChannelPickConv(const std::string& name, const std::vector<int64_t>& picks, int64_t in_channels,
                     const quant::QParams& q) {
  const auto out_channels = static_cast<int64_t>(picks.size());
  torch::Tensor ones = torch::zeros({out_channels, in_channels, 1, 1}, torch::kChar);
  auto w = ones.accessor<int8_t, 4>();
  for (int64_t k = 0; k < out_channels; ++k) {
    TORCH_CHECK(picks[k] >= 0 && picks[k] < in_channels, "channel pick '", name, "' reads channel ", picks[k], " of ",
                in_channels);
    w[k][picks[k]][0][0] = 1;
  }
  Step conv;
  conv.kind = StepKind::kConv;
  conv.name = name;
  conv.qweight = at::_make_per_tensor_quantized_tensor(ones, 1.0, 0);
  conv.out = q;
  return conv;
}

}  // namespace qg::onnx_export::internal
