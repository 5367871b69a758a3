#include "core/export/internal/channel_picks.h"

#include <torch/torch.h>

#include "core/models/channel_shuffle.h"

namespace qg::onnx_export::internal {

using quant::internal::Step;
using quant::internal::StepKind;

bool IsChannelShuffle(const Step& step) {
  return step.kind == StepKind::kActivation && step.fn.op == models::Op::kChannelShuffle && step.fn.groups >= 1 &&
         step.fn.out_channels > 0 && step.fn.out_channels <= kMaxPickedChannels &&
         step.fn.out_channels % step.fn.groups == 0 && step.inputs.size() == 1;
}

bool IsChannelSlice(const Step& step) {
  return step.kind == StepKind::kActivation && step.fn.op == models::Op::kSlice && step.fn.start >= 0 &&
         step.fn.out_channels > 0 && step.inputs.size() == 1;
}

std::vector<int64_t> PickedChannels(const Step& step) {
  return models::ChannelShuffleSources(step.fn.out_channels, step.fn.groups);
}

Result<std::vector<int64_t>> PickedChannels(const Step& slice, const Step& shuffle) {
  const std::vector<int64_t> from = PickedChannels(shuffle);
  const int64_t end = slice.fn.start + slice.fn.out_channels;
  if (end > static_cast<int64_t>(from.size())) {
    return Error::InvalidArgument("slice '{}' takes channels {} to {} of channel shuffle '{}', which has {}",
                                  slice.name, slice.fn.start, end, shuffle.name, from.size());
  }
  return std::vector<int64_t>(from.begin() + slice.fn.start, from.begin() + end);
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
