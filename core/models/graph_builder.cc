#include "core/models/graph_builder.h"

#include "core/base/check.h"

namespace qg::models {

GraphBuilder::GraphBuilder(int64_t in_channels) { Push(Node{.name = "input", .op = Op::kInput}, in_channels); }

int GraphBuilder::Push(Node node, int64_t channels) {
  channels_.push_back(channels);
  return graph_.Add(std::move(node));
}

int GraphBuilder::Conv(const std::string& name, int x, int64_t out, Pair kernel, Pair stride, Pair padding, bool bias) {
  return Push(Node{.name = name,
                   .op = Op::kConv2d,
                   .inputs = {x},
                   .in_channels = channels_[x],
                   .out_channels = out,
                   .kernel = kernel,
                   .stride = stride,
                   .padding = padding,
                   .bias = bias},
              out);
}

int GraphBuilder::BatchNorm(const std::string& name, int x, double eps) {
  return Push(Node{.name = name, .op = Op::kBatchNorm2d, .inputs = {x}, .out_channels = channels_[x], .eps = eps},
              channels_[x]);
}

int GraphBuilder::ReLU(const std::string& name, int x) {
  return Push(Node{.name = name, .op = Op::kReLU, .inputs = {x}}, channels_[x]);
}

int GraphBuilder::ConvBnRelu(const std::string& prefix, int x, int64_t out, Pair kernel, Pair stride, Pair padding,
                             double bn_eps, bool relu) {
  x = Conv(prefix + ".conv", x, out, kernel, stride, padding, /*bias=*/false);
  x = BatchNorm(prefix + ".bn", x, bn_eps);
  return relu ? ReLU(prefix + ".relu", x) : x;
}

int GraphBuilder::Linear(const std::string& name, int x, int64_t in_features, int64_t out_features, bool bias) {
  return Push(Node{.name = name,
                   .op = Op::kLinear,
                   .inputs = {x},
                   .in_channels = in_features,
                   .out_channels = out_features,
                   .bias = bias},
              out_features);
}

int GraphBuilder::MaxPool(const std::string& name, int x, Pair kernel, Pair stride, Pair padding, bool ceil_mode) {
  return Push(Node{.name = name,
                   .op = Op::kMaxPool2d,
                   .inputs = {x},
                   .kernel = kernel,
                   .stride = stride,
                   .padding = padding,
                   .ceil_mode = ceil_mode},
              channels_[x]);
}

int GraphBuilder::AvgPool(const std::string& name, int x, Pair kernel, Pair stride, Pair padding,
                          bool count_include_pad) {
  return Push(Node{.name = name,
                   .op = Op::kAvgPool2d,
                   .inputs = {x},
                   .kernel = kernel,
                   .stride = stride,
                   .padding = padding,
                   .count_include_pad = count_include_pad},
              channels_[x]);
}

int GraphBuilder::AdaptiveAvgPool(const std::string& name, int x, Pair output_size) {
  return Push(Node{.name = name, .op = Op::kAdaptiveAvgPool2d, .inputs = {x}, .output_size = output_size},
              channels_[x]);
}

int GraphBuilder::Flatten(const std::string& name, int x) {
  return Push(Node{.name = name, .op = Op::kFlatten, .inputs = {x}, .dim = 1}, channels_[x]);
}

int GraphBuilder::Dropout(const std::string& name, int x, double p) {
  return Push(Node{.name = name, .op = Op::kDropout, .inputs = {x}, .p = p}, channels_[x]);
}

int GraphBuilder::Add(const std::string& name, int a, int b) {
  QG_CHECK(channels_[a] == channels_[b]);
  return Push(Node{.name = name, .op = Op::kAdd, .inputs = {a, b}}, channels_[a]);
}

int GraphBuilder::Concat(const std::string& name, const std::vector<int>& xs) {
  int64_t c = 0;
  for (int x : xs) c += channels_[x];
  return Push(Node{.name = name, .op = Op::kConcat, .inputs = xs, .dim = 1}, c);
}

Graph GraphBuilder::Finish(std::vector<int> outputs) {
  graph_.outputs = std::move(outputs);
  QG_CHECK(graph_.Validate());
  return std::move(graph_);
}

}  // namespace qg::models
