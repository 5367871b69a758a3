// Graph: the architecture of a model as a list of typed nodes in topological
// order. Models are built from explicit Conv2d / BatchNorm2d / ReLU / Linear
// nodes, residual Adds and Concats, so the quantization engine can find
// Conv-BN-ReLU chains, fold, fuse and replace them, and the ONNX exporter can
// walk the same list. Pure data (no LibTorch); round-trips through JSON, which
// is how a model file records its own architecture.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/base/result.h"

namespace qg::models {

enum class Op {
  kInput,
  kConv2d,
  kBatchNorm2d,
  kReLU,
  kLinear,
  kMaxPool2d,
  kAvgPool2d,
  kAdaptiveAvgPool2d,
  kFlatten,
  kDropout,
  kAdd,
  kConcat,
  // Imported models (ONNX) bring these too.
  kMul,             // elementwise, broadcasting (squeeze-excitation: x * s, s of shape N,C,1,1)
  kClamp,           // clamp_min <= x <= clamp_max (ReLU6 is 0..6)
  kLeakyReLU,       // alpha * x below 0
  kSigmoid,
  kHardSigmoid,     // clamp(alpha * x + beta, 0, 1); LibTorch's is alpha 1/6, beta 1/2
  kHardSwish,       // x * hardsigmoid(x) with alpha 1/6, beta 1/2
  kChannelShuffle,  // groups
  kSlice,           // channels [start, start + out_channels) of in_channels (ShuffleNetV2's split)
  kLayerNorm,       // over the channels at each position (ConvNeXt's LayerNorm2d), with weight and bias; eps
  kGELU,            // x * Phi(x), the exact (erf) form
};

std::string_view OpName(Op op);
Result<Op> OpFromName(std::string_view name);

struct Node {
  std::string name;  // unique; also names the node's parameters
  Op op = Op::kInput;
  std::vector<int> inputs;  // indices of earlier nodes

  // Conv2d: channels; Linear: features; BatchNorm2d: out_channels = features.
  int64_t in_channels = 0;
  int64_t out_channels = 0;
  // Conv2d and pooling geometry, {height, width}.
  std::array<int64_t, 2> kernel{1, 1};
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};
  std::array<int64_t, 2> dilation{1, 1};  // Conv2d
  int64_t groups = 1;                      // Conv2d, ChannelShuffle
  bool bias = false;
  // BatchNorm2d, LayerNorm.
  double eps = 1e-5;
  double momentum = 0.1;
  // Pooling.
  bool ceil_mode = false;
  bool count_include_pad = true;
  std::array<int64_t, 2> output_size{1, 1};
  // Dropout.
  double p = 0.0;
  // Flatten start dim / Concat dim.
  int64_t dim = 1;
  // Slice: the first channel it takes.
  int64_t start = 0;
  // Activations: LeakyReLU's slope and HardSigmoid's alpha, beta; Clamp's bounds.
  double alpha = 0.0;
  double beta = 0.0;
  double clamp_min = 0.0;
  double clamp_max = 0.0;

  bool HasParameters() const {
    return op == Op::kConv2d || op == Op::kLinear || op == Op::kBatchNorm2d || op == Op::kLayerNorm;
  }
};

struct Graph {
  std::vector<Node> nodes;
  std::vector<int> outputs;  // outputs[0] is the prediction; others are auxiliary heads

  // Appends `node` and returns its index.
  int Add(Node node);
  // consumers[i] lists the nodes that read node i's output.
  std::vector<std::vector<int>> Consumers() const;
  // Index of the node called `name`, or -1.
  int Find(std::string_view name) const;
  // Checks names are unique, inputs point backwards, arities fit the ops, and
  // there is exactly one Input node at index 0. InvalidArgument names the node.
  Status Validate() const;

  nlohmann::json ToJson() const;
  static Result<Graph> FromJson(const nlohmann::json& j);
};

}  // namespace qg::models
