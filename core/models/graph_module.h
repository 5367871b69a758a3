// GraphModule: a Graph with its parameters, as a torch::nn::Module, and the
// interpreter that runs it. Training, calibration and QAT all run through here;
// ForwardHooks let calibration observe every node's output, let QAT replace
// weights and activations with fake-quantized ones, and let data-parallel
// training synchronise batch-norm statistics.
//
// Convolutions run channels-last: LibTorch 1.13 sends channels-last
// convolutions and pooling to oneDNN on CPU, ~3-15x faster than NCHW here, in
// training as in inference. Conv weights are stored channels-last for that.
//
// Not thread-safe: one thread runs a module at a time.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "core/models/graph.h"

namespace qg::models {

// Observation and substitution points inside a forward pass.
class ForwardHooks {
 public:
  virtual ~ForwardHooks() = default;
  // Every node's output passes through here; return it or a replacement.
  virtual torch::Tensor AfterNode(int node, const Node& n, torch::Tensor out) { return out; }
  // The weight a Conv2d/Linear node is about to use; return it or a replacement.
  virtual torch::Tensor Weight(int node, const Node& n, torch::Tensor weight) { return weight; }
  // A BatchNorm2d node (data-parallel training swaps in SyncBatchNorm here).
  virtual torch::Tensor BatchNorm(int node, const Node& n, torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
    return bn.forward(x);
  }
};

// What a model file records besides the graph: how it was made.
struct ModelMeta {
  std::string model_name;        // registry name, e.g. "compact_cnn"
  nlohmann::json options;        // the ModelOptions it was built with
  nlohmann::json transforms = nlohmann::json::array();  // e.g. ["bn_fold"]
};

class GraphModuleImpl : public torch::nn::Module {
 public:
  GraphModuleImpl(Graph graph, ModelMeta meta);

  // The prediction (outputs[0]).
  torch::Tensor forward(const torch::Tensor& x);
  // All outputs: prediction first, then auxiliary heads. In eval mode the
  // auxiliary heads are skipped and come back undefined.
  std::vector<torch::Tensor> ForwardAll(const torch::Tensor& x, ForwardHooks* hooks = nullptr);

  const Graph& graph() const { return graph_; }
  const ModelMeta& meta() const { return meta_; }
  ModelMeta& mutable_meta() { return meta_; }
  int64_t ParameterCount() const;

  // Per-node parameter holders; null for nodes of another kind.
  torch::nn::Conv2d conv(int node) const { return conv_[node]; }
  torch::nn::BatchNorm2d bn(int node) const { return bn_[node]; }
  torch::nn::Linear linear(int node) const { return linear_[node]; }
  torch::nn::LayerNorm layer_norm(int node) const { return layer_norm_[node]; }

  // Re-lays conv weights out channels-last (after loading or editing them).
  void UseChannelsLast();

 private:
  Graph graph_;
  ModelMeta meta_;
  std::vector<torch::nn::Conv2d> conv_;
  std::vector<torch::nn::BatchNorm2d> bn_;
  std::vector<torch::nn::Linear> linear_;
  std::vector<torch::nn::LayerNorm> layer_norm_;
  std::vector<char> needed_for_prediction_;  // nodes outputs[0] depends on
  std::vector<int> last_use_;                // last node reading each value
};

TORCH_MODULE(GraphModule);

// The FP32 function of a parameter-free node beyond the basic ones (Mul,
// Clamp, LeakyReLU, Sigmoid, HardSigmoid, HardSwish, GELU, ChannelShuffle): shared
// by the module, INT8 steps that fall back to FP32, and FP16 models.
// `other` is the second input of binary ops.
torch::Tensor Activation(const Node& n, const torch::Tensor& x, const torch::Tensor& other);
// Layer norm over the channels (dim 1) of an N,C,H,W tensor at each position,
// as at::layer_norm over the last dim of its N,H,W,C view, which laying the
// input out channels-last makes contiguous; the output is channels-last too.
torch::Tensor ChannelLayerNorm(const torch::Tensor& x, const torch::Tensor& weight, const torch::Tensor& bias,
                               double eps);

// A deep copy: same graph, meta, parameters and buffers; training mode kept.
GraphModule CloneModel(const GraphModule& model);

// Module names may not contain '.', node names do: "layer1.0.conv" -> "layer1_0_conv".
std::string ModuleKey(const std::string& node_name);

}  // namespace qg::models
