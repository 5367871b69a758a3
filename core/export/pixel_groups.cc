#include "core/export/internal/pixel_groups.h"

#include <torch/torch.h>

#include "core/export/internal/rewritten_conv.h"
#include "core/export/onnx_ops.h"

namespace qg::onnx_export::internal {

using quant::internal::Step;
using quant::internal::StepKind;
using torch::indexing::Slice;

bool CanGroupPixels(const Step& conv, int64_t width) {
  if (conv.kind != StepKind::kConv || !conv.qweight.defined() || conv.qweight.dim() != 4) return false;
  const int64_t kernel_width = conv.qweight.size(3);
  return conv.qweight.size(1) == 1 && conv.groups == 1 && conv.stride == std::array<int64_t, 2>{1, 1} &&
         conv.dilation == std::array<int64_t, 2>{1, 1} && kernel_width == 2 * conv.padding[1] + 1 &&
         width % kPixelGroup == 0 && width > 0;
}

bool PoolsPixelPairs(const Step& pool) {
  return pool.kind == StepKind::kMaxPool && pool.kernel[1] == 2 && pool.stride[1] == 2 && pool.padding[1] == 0 &&
         pool.dilation == std::array<int64_t, 2>{1, 1};
}

Step GroupPixels(const Step& conv, PixelOrder order) {
  constexpr int64_t g = kPixelGroup;
  static_assert(g % 2 == 0, "kEvenThenOdd splits a group into pairs");
  const torch::Tensor taps = conv.qweight.int_repr();  // [C, 1, kh, kw]
  const int64_t channels = taps.size(0), kernel_height = taps.size(2), kernel_width = taps.size(3);
  const int64_t pad = conv.padding[1];
  // Groups the taps of a group's pixels reach on either side: ceil(pad / g).
  const int64_t reach = (pad + g - 1) / g;
  const int64_t group_kernel = 2 * reach + 1;
  torch::Tensor weights = torch::zeros({g * channels, g, kernel_height, group_kernel}, torch::kChar);
  for (int64_t j = 0; j < g; ++j) {  // output block
    const int64_t pixel = order == PixelOrder::kInRow ? j : j < g / 2 ? 2 * j : 2 * (j - g / 2) + 1;
    for (int64_t k = 0; k < group_kernel; ++k) {  // input group, relative
      for (int64_t i = 0; i < g; ++i) {      // input pixel of that group
        const int64_t tap = (k - reach) * g + i - pixel + pad;
        if (tap < 0 || tap >= kernel_width) continue;
        weights.index_put_({Slice(j * channels, (j + 1) * channels), i, Slice(), k}, taps.index({Slice(), 0, Slice(), tap}));
      }
    }
  }
  const ChannelQParams q = PerOutputChannel(conv.qweight);
  Step grouped = WithRewrittenWeights(
      conv, at::_make_per_channel_quantized_tensor(weights, q.scales.repeat({g}), q.zero_points.repeat({g}), 0));
  if (conv.bias.defined()) grouped.bias = conv.bias.repeat({g});
  grouped.kernel = {kernel_height, group_kernel};
  grouped.padding = {conv.padding[0], reach};
  return grouped;
}

}  // namespace qg::onnx_export::internal
