#include "core/models/graph_module.h"

#include <torch/torch.h>

#include <algorithm>

namespace qg::models {

std::string ModuleKey(const std::string& node_name) {
  std::string key = node_name;
  std::replace(key.begin(), key.end(), '.', '_');
  return key;
}

GraphModuleImpl::GraphModuleImpl(Graph graph, ModelMeta meta) : graph_(std::move(graph)), meta_(std::move(meta)) {
  const size_t n = graph_.nodes.size();
  conv_.assign(n, nullptr);
  bn_.assign(n, nullptr);
  linear_.assign(n, nullptr);
  layer_norm_.assign(n, nullptr);
  for (size_t i = 0; i < n; ++i) {
    const Node& node = graph_.nodes[i];
    const std::string key = ModuleKey(node.name);
    switch (node.op) {
      case Op::kConv2d:
        conv_[i] = register_module(
            key, torch::nn::Conv2d(torch::nn::Conv2dOptions(node.in_channels, node.out_channels,
                                                            std::vector<int64_t>{node.kernel[0], node.kernel[1]})
                                       .stride(std::vector<int64_t>{node.stride[0], node.stride[1]})
                                       .padding(std::vector<int64_t>{node.padding[0], node.padding[1]})
                                       .dilation(std::vector<int64_t>{node.dilation[0], node.dilation[1]})
                                       .groups(node.groups)
                                       .bias(node.bias)));
        break;
      case Op::kBatchNorm2d:
        bn_[i] = register_module(
            key, torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(node.out_channels).eps(node.eps).momentum(node.momentum)));
        break;
      case Op::kLinear:
        linear_[i] = register_module(
            key, torch::nn::Linear(torch::nn::LinearOptions(node.in_channels, node.out_channels).bias(node.bias)));
        break;
      case Op::kLayerNorm:
        layer_norm_[i] = register_module(
            key, torch::nn::LayerNorm(torch::nn::LayerNormOptions({node.out_channels}).eps(node.eps)));
        break;
      default:
        break;
    }
  }
  needed_for_prediction_.assign(n, 0);
  needed_for_prediction_[graph_.outputs[0]] = 1;
  for (int i = static_cast<int>(n) - 1; i >= 0; --i) {
    if (!needed_for_prediction_[i]) continue;
    for (int in : graph_.nodes[i].inputs) needed_for_prediction_[in] = 1;
  }
  last_use_.assign(n, -1);
  for (size_t i = 0; i < n; ++i) {
    for (int in : graph_.nodes[i].inputs) last_use_[in] = static_cast<int>(i);
  }
  for (int o : graph_.outputs) last_use_[o] = static_cast<int>(n);
  UseChannelsLast();
}

void GraphModuleImpl::UseChannelsLast() {
  torch::NoGradGuard no_grad;
  for (auto& conv : conv_) {
    if (conv) conv->weight.set_data(conv->weight.contiguous(torch::MemoryFormat::ChannelsLast));
  }
}

GraphModule CloneModel(const GraphModule& model) {
  torch::NoGradGuard no_grad;
  GraphModule copy(model->graph(), model->meta());
  auto src_params = model->parameters();
  auto dst_params = copy->parameters();
  for (size_t i = 0; i < src_params.size(); ++i) dst_params[i].copy_(src_params[i]);
  auto src_buffers = model->buffers();
  auto dst_buffers = copy->buffers();
  for (size_t i = 0; i < src_buffers.size(); ++i) dst_buffers[i].copy_(src_buffers[i]);
  copy->train(model->is_training());
  return copy;
}

int64_t GraphModuleImpl::ParameterCount() const {
  int64_t count = 0;
  for (const auto& p : parameters()) count += p.numel();
  return count;
}

torch::Tensor GraphModuleImpl::forward(const torch::Tensor& x) { return ForwardAll(x)[0]; }

torch::Tensor ChannelLayerNorm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               double eps) {
  return at::layer_norm(x.contiguous(torch::MemoryFormat::ChannelsLast).permute({0, 2, 3, 1}), {x.size(1)}, weight,
                        bias, eps)
      .permute({0, 3, 1, 2});
}

torch::Tensor Activation(const Node& n, const torch::Tensor& x, const torch::Tensor& other) {
  switch (n.op) {
    case Op::kMul:
      return x * other;
    case Op::kClamp:
      return torch::clamp(x, n.clamp_min, n.clamp_max);
    case Op::kLeakyReLU:
      return torch::leaky_relu(x, n.alpha);
    case Op::kSigmoid:
      return torch::sigmoid(x);
    case Op::kHardSigmoid:
      return torch::clamp(x * n.alpha + n.beta, 0.0, 1.0);
    case Op::kHardSwish:
      return torch::hardswish(x);
    case Op::kGELU:
      return torch::gelu(x);
    case Op::kSlice:
      return x.narrow(1, n.start, n.out_channels).contiguous(x.suggest_memory_format());
    case Op::kChannelShuffle: {
      // (N, g, C/g, H, W) -> swap the group axes -> (N, C, H, W)
      const auto s = x.sizes();
      return x.reshape({s[0], n.groups, s[1] / n.groups, s[2], s[3]})
          .transpose(1, 2)
          .reshape({s[0], s[1], s[2], s[3]})
          .contiguous(x.suggest_memory_format());
    }
    default:
      TORCH_CHECK(false, "graph op '", std::string(OpName(n.op)), "' is not an activation");
  }
}

std::vector<torch::Tensor> GraphModuleImpl::ForwardAll(const torch::Tensor& x, ForwardHooks* hooks) {
  const bool training = is_training();
  const bool free_dead_values = !torch::GradMode::is_enabled();
  const auto& nodes = graph_.nodes;
  std::vector<torch::Tensor> values(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!training && !needed_for_prediction_[i]) continue;
    const Node& n = nodes[i];
    auto in = [&](size_t k) -> const torch::Tensor& { return values[n.inputs[k]]; };
    torch::Tensor out;
    switch (n.op) {
      case Op::kInput:
        out = x.dim() == 4 ? x.contiguous(torch::MemoryFormat::ChannelsLast) : x;
        break;
      case Op::kConv2d: {
        auto w = hooks ? hooks->Weight(static_cast<int>(i), n, conv_[i]->weight) : conv_[i]->weight;
        out = torch::conv2d(in(0).contiguous(torch::MemoryFormat::ChannelsLast), w, conv_[i]->bias,
                            {n.stride[0], n.stride[1]}, {n.padding[0], n.padding[1]}, {n.dilation[0], n.dilation[1]},
                            n.groups);
        break;
      }
      case Op::kBatchNorm2d:
        out = hooks ? hooks->BatchNorm(static_cast<int>(i), n, *bn_[i], in(0)) : bn_[i]->forward(in(0));
        break;
      case Op::kReLU:
        out = torch::relu(in(0));
        break;
      case Op::kLayerNorm:
        out = ChannelLayerNorm(in(0), layer_norm_[i]->weight, layer_norm_[i]->bias, n.eps);
        break;
      case Op::kLinear: {
        auto w = hooks ? hooks->Weight(static_cast<int>(i), n, linear_[i]->weight) : linear_[i]->weight;
        out = torch::linear(in(0), w, linear_[i]->bias);
        break;
      }
      case Op::kMaxPool2d:
        out = torch::max_pool2d(in(0), {n.kernel[0], n.kernel[1]}, {n.stride[0], n.stride[1]},
                                {n.padding[0], n.padding[1]}, {1, 1}, n.ceil_mode);
        break;
      case Op::kAvgPool2d:
        out = torch::avg_pool2d(in(0), {n.kernel[0], n.kernel[1]}, {n.stride[0], n.stride[1]},
                                {n.padding[0], n.padding[1]}, n.ceil_mode, n.count_include_pad);
        break;
      case Op::kAdaptiveAvgPool2d:
        out = torch::adaptive_avg_pool2d(in(0), {n.output_size[0], n.output_size[1]});
        break;
      case Op::kFlatten:
        out = torch::flatten(in(0), n.dim);
        break;
      case Op::kDropout:
        out = torch::dropout(in(0), n.p, training);
        break;
      case Op::kAdd:
        out = in(0) + in(1);
        break;
      case Op::kConcat: {
        std::vector<torch::Tensor> parts;
        parts.reserve(n.inputs.size());
        for (int k : n.inputs) parts.push_back(values[k]);
        out = torch::cat(parts, n.dim);
        break;
      }
      default:
        out = Activation(n, in(0), n.inputs.size() > 1 ? in(1) : torch::Tensor());
        break;
    }
    values[i] = hooks ? hooks->AfterNode(static_cast<int>(i), n, std::move(out)) : std::move(out);
    if (free_dead_values) {
      for (int k : n.inputs) {
        if (last_use_[k] == static_cast<int>(i)) values[k] = torch::Tensor();
      }
    }
  }
  std::vector<torch::Tensor> outputs;
  outputs.reserve(graph_.outputs.size());
  for (int o : graph_.outputs) outputs.push_back(values[o]);
  return outputs;
}

}  // namespace qg::models
