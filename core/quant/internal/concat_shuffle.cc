#include "core/quant/internal/concat_shuffle.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>

#include "core/models/channel_shuffle.h"
#include "core/quant/internal/requantization.h"

namespace qg::quant::internal {

bool ConcatShuffleFits(const Step& concat, const Step& shuffle) {
  return concat.kind == StepKind::kConcat && concat.dim == 1 && concat.inputs.size() >= 2 &&
         shuffle.kind == StepKind::kActivation && shuffle.fn.op == models::Op::kChannelShuffle &&
         shuffle.fn.groups >= 1 && shuffle.inputs.size() == 1 && shuffle.inputs[0] == concat.output;
}

ConcatShuffleTables MakeConcatShuffleTables(const Step& concat, const std::vector<torch::Tensor>& inputs,
                                            int64_t groups) {
  const size_t n = concat.inputs.size();
  TORCH_CHECK(inputs.size() == n, "concat '", concat.name, "' reads ", n, " inputs, given ", inputs.size());
  ConcatShuffleTables t;
  for (const auto& x : inputs) {
    t.in_scales.push_back(x.q_scale());
    t.in_zero_points.push_back(x.q_zero_point());
    t.in_channels.push_back(x.size(1));
  }
  int slots = concat.output;
  for (int in : concat.inputs) slots = std::max(slots, in);
  // Input k as 256 one-pixel images, image b all byte b: pixel b of the
  // output holds every input's bytes b, requantized where they sit.
  std::vector<torch::Tensor> values(static_cast<size_t>(slots) + 1);
  int64_t channels = 0;
  for (size_t k = 0; k < n; ++k) {
    const auto bytes = torch::arange(256, torch::kUInt8).view({256, 1, 1, 1}).expand({256, t.in_channels[k], 1, 1});
    values[concat.inputs[k]] = at::_make_per_tensor_quantized_tensor(
        bytes.contiguous(torch::MemoryFormat::ChannelsLast), t.in_scales[k], t.in_zero_points[k]);
    channels += t.in_channels[k];
  }
  RunStep(concat, values);
  const auto out = values[concat.output];
  TORCH_CHECK(IsPerTensorQuint8(out) && out.size(0) == 256 && out.size(1) == channels, "concat '", concat.name,
              "' does not map quint8 bytes to quint8 bytes");
  const auto out_bytes = out.int_repr().contiguous().view({256, channels});
  const auto table = out_bytes.accessor<uint8_t, 2>();
  int64_t offset = 0;
  for (size_t k = 0; k < n; ++k) {
    std::vector<uint8_t> bytes(static_cast<size_t>(256 * t.in_channels[k]));
    for (int64_t c = 0; c < t.in_channels[k]; ++c) {
      for (int b = 0; b < 256; ++b) bytes[256 * c + b] = table[b][offset + c];
    }
    t.bytes.push_back(std::move(bytes));
    offset += t.in_channels[k];
  }
  const std::vector<int64_t> from = models::ChannelShuffleSources(channels, groups);
  t.to.resize(static_cast<size_t>(channels));
  for (int64_t k = 0; k < channels; ++k) t.to[from[k]] = static_cast<int32_t>(k);
  return t;
}

bool ConcatShuffleTakes(const std::vector<torch::Tensor>& inputs, int64_t groups) {
  if (inputs.empty() || groups < 1) return false;
  int64_t channels = 0;
  for (const auto& x : inputs) {
    if (!IsPerTensorQuint8(x) || x.dim() != 4 || !x.is_contiguous(torch::MemoryFormat::ChannelsLast) ||
        x.size(0) != inputs[0].size(0) || x.size(2) != inputs[0].size(2) || x.size(3) != inputs[0].size(3)) {
      return false;
    }
    channels += x.size(1);
  }
  return channels % groups == 0;
}

bool ConcatShuffleTablesFit(const ConcatShuffleTables& t, const std::vector<torch::Tensor>& inputs) {
  if (inputs.size() != t.in_scales.size()) return false;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (inputs[k].q_scale() != t.in_scales[k] || inputs[k].q_zero_point() != t.in_zero_points[k] ||
        inputs[k].size(1) != t.in_channels[k]) {
      return false;
    }
  }
  return true;
}

torch::Tensor ConcatShuffle(const std::vector<torch::Tensor>& inputs, const ConcatShuffleTables& t,
                            const Step& concat) {
  const auto channels = static_cast<int64_t>(t.to.size());
  const auto& first = inputs[0];
  auto out = at::_empty_affine_quantized({first.size(0), channels, first.size(2), first.size(3)}, first.options(),
                                         concat.out.scale, concat.out.zero_point, torch::MemoryFormat::ChannelsLast);
  struct Part {
    const uint8_t* bytes;
    int64_t channels;
    const int32_t* to;
    const uint8_t* table;
  };
  std::vector<Part> parts;
  int64_t offset = 0;
  for (size_t k = 0; k < inputs.size(); ++k) {
    parts.push_back({reinterpret_cast<const uint8_t*>(inputs[k].data_ptr<c10::quint8>()), inputs[k].size(1),
                     t.to.data() + offset, t.bytes[k].data()});
    offset += inputs[k].size(1);
  }
  auto* dst = reinterpret_cast<uint8_t*>(out.data_ptr<c10::quint8>());
  const int64_t pixels = first.size(0) * first.size(2) * first.size(3);
  at::parallel_for(0, pixels, std::max<int64_t>(1, 16384 / channels), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      uint8_t* pixel = dst + p * channels;
      for (const Part& part : parts) {
        const uint8_t* src = part.bytes + p * part.channels;
        for (int64_t c = 0; c < part.channels; ++c) pixel[part.to[c]] = part.table[256 * c + src[c]];
      }
    }
  });
  return out;
}

}  // namespace qg::quant::internal
