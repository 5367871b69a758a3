#include "core/export/internal/padded_channels.h"

#include <torch/torch.h>

#include "core/export/internal/rewritten_conv.h"
#include "core/export/onnx_ops.h"

namespace qg::onnx_export::internal {

using quant::internal::Step;
using quant::internal::StepKind;

bool PadsInputChannels(const Step& conv) {
  if (conv.kind != StepKind::kConv || !conv.qweight.defined() || conv.qweight.dim() != 4 || conv.groups != 1) {
    return false;
  }
  const int64_t channels = conv.qweight.size(1);
  return channels > 1 && channels < kConvChannelMultiple;
}

Step WithPaddedInputChannels(const Step& conv) {
  // The padding channels hold each output channel's weight zero point: weights of 0.
  const torch::Tensor taps = conv.qweight.int_repr();  // [C, c, kh, kw]
  const ChannelQParams q = PerOutputChannel(conv.qweight);
  const torch::Tensor zero_points =
      q.zero_points.to(torch::kChar)
          .view({-1, 1, 1, 1})
          .expand({taps.size(0), kConvChannelMultiple - taps.size(1), taps.size(2), taps.size(3)});
  const torch::Tensor padded = torch::cat({taps, zero_points}, 1).contiguous();
  return WithRewrittenWeights(
      conv, conv.qweight.qscheme() == torch::kPerTensorAffine
                ? at::_make_per_tensor_quantized_tensor(padded, conv.qweight.q_scale(), conv.qweight.q_zero_point())
                : at::_make_per_channel_quantized_tensor(padded, q.scales, q.zero_points, 0));
}

}  // namespace qg::onnx_export::internal
