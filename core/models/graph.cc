#include "core/models/graph.h"

#include <array>
#include <set>

namespace qg::models {
namespace {

constexpr std::array<std::pair<Op, std::string_view>, 22> kOps = {{
    {Op::kInput, "input"},
    {Op::kConv2d, "conv2d"},
    {Op::kBatchNorm2d, "batch_norm2d"},
    {Op::kReLU, "relu"},
    {Op::kLinear, "linear"},
    {Op::kMaxPool2d, "max_pool2d"},
    {Op::kAvgPool2d, "avg_pool2d"},
    {Op::kAdaptiveAvgPool2d, "adaptive_avg_pool2d"},
    {Op::kFlatten, "flatten"},
    {Op::kDropout, "dropout"},
    {Op::kAdd, "add"},
    {Op::kConcat, "concat"},
    {Op::kMul, "mul"},
    {Op::kClamp, "clamp"},
    {Op::kLeakyReLU, "leaky_relu"},
    {Op::kSigmoid, "sigmoid"},
    {Op::kHardSigmoid, "hard_sigmoid"},
    {Op::kHardSwish, "hard_swish"},
    {Op::kChannelShuffle, "channel_shuffle"},
    {Op::kSlice, "slice"},
    {Op::kLayerNorm, "layer_norm"},
    {Op::kGELU, "gelu"},
}};

// How many inputs an op takes; -1 for "two or more".
int Arity(Op op) {
  switch (op) {
    case Op::kInput:
      return 0;
    case Op::kAdd:
    case Op::kMul:
      return 2;
    case Op::kConcat:
      return -1;
    default:
      return 1;
  }
}

}  // namespace

std::string_view OpName(Op op) {
  for (const auto& [o, name] : kOps) {
    if (o == op) return name;
  }
  return "?";
}

Result<Op> OpFromName(std::string_view name) {
  for (const auto& [o, n] : kOps) {
    if (n == name) return o;
  }
  return Error::InvalidArgument("unknown graph op '{}'", name);
}

int Graph::Add(Node node) {
  nodes.push_back(std::move(node));
  return static_cast<int>(nodes.size()) - 1;
}

std::vector<std::vector<int>> Graph::Consumers() const {
  std::vector<std::vector<int>> consumers(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    for (int in : nodes[i].inputs) consumers[in].push_back(static_cast<int>(i));
  }
  return consumers;
}

int Graph::Find(std::string_view name) const {
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

Status Graph::Validate() const {
  if (nodes.empty() || nodes[0].op != Op::kInput) return Error::InvalidArgument("graph must start with an input node");
  std::set<std::string> names;
  for (size_t i = 0; i < nodes.size(); ++i) {
    const Node& n = nodes[i];
    if (!names.insert(n.name).second) return Error::InvalidArgument("graph node name '{}' is used twice", n.name);
    if (i > 0 && n.op == Op::kInput) return Error::InvalidArgument("graph node '{}': only node 0 may be the input", n.name);
    const int arity = Arity(n.op);
    const int count = static_cast<int>(n.inputs.size());
    if ((arity >= 0 && count != arity) || (arity < 0 && count < 2)) {
      return Error::InvalidArgument("graph node '{}' ({}) has {} inputs", n.name, OpName(n.op), count);
    }
    for (int in : n.inputs) {
      if (in < 0 || in >= static_cast<int>(i)) {
        return Error::InvalidArgument("graph node '{}' reads node {} which does not precede it", n.name, in);
      }
    }
  }
  if (outputs.empty()) return Error::InvalidArgument("graph has no outputs");
  for (int o : outputs) {
    if (o < 0 || o >= static_cast<int>(nodes.size())) return Error::InvalidArgument("graph output {} is out of range", o);
  }
  return OkStatus();
}

nlohmann::json Graph::ToJson() const {
  nlohmann::json jnodes = nlohmann::json::array();
  for (const Node& n : nodes) {
    nlohmann::json j{{"name", n.name}, {"op", OpName(n.op)}, {"inputs", n.inputs}};
    switch (n.op) {
      case Op::kConv2d:
        j.update({{"in", n.in_channels}, {"out", n.out_channels}, {"kernel", n.kernel}, {"stride", n.stride},
                  {"padding", n.padding}, {"groups", n.groups}, {"bias", n.bias}});
        // Only when used, so the files of models without it keep their bytes.
        if (n.dilation != std::array<int64_t, 2>{1, 1}) j["dilation"] = n.dilation;
        break;
      case Op::kClamp:
        j.update({{"min", n.clamp_min}, {"max", n.clamp_max}});
        break;
      case Op::kLeakyReLU:
        j["alpha"] = n.alpha;
        break;
      case Op::kHardSigmoid:
        j.update({{"alpha", n.alpha}, {"beta", n.beta}});
        break;
      case Op::kChannelShuffle:
        j.update({{"groups", n.groups}, {"out", n.out_channels}});
        break;
      case Op::kSlice:
        j.update({{"start", n.start}, {"in", n.in_channels}, {"out", n.out_channels}});
        break;
      case Op::kLinear:
        j.update({{"in", n.in_channels}, {"out", n.out_channels}, {"bias", n.bias}});
        break;
      case Op::kBatchNorm2d:
        j.update({{"out", n.out_channels}, {"eps", n.eps}, {"momentum", n.momentum}});
        break;
      case Op::kLayerNorm:
        j.update({{"out", n.out_channels}, {"eps", n.eps}});
        break;
      case Op::kMaxPool2d:
      case Op::kAvgPool2d:
        j.update({{"kernel", n.kernel}, {"stride", n.stride}, {"padding", n.padding}, {"ceil_mode", n.ceil_mode},
                  {"count_include_pad", n.count_include_pad}});
        break;
      case Op::kAdaptiveAvgPool2d:
        j["output_size"] = n.output_size;
        break;
      case Op::kDropout:
        j["p"] = n.p;
        break;
      case Op::kFlatten:
      case Op::kConcat:
        j["dim"] = n.dim;
        break;
      default:
        break;
    }
    jnodes.push_back(std::move(j));
  }
  return {{"nodes", std::move(jnodes)}, {"outputs", outputs}};
}

Result<Graph> Graph::FromJson(const nlohmann::json& j) {
  try {
    Graph g;
    for (const auto& jn : j.at("nodes")) {
      Node n;
      n.name = jn.at("name").get<std::string>();
      QG_ASSIGN_OR_RETURN(n.op, OpFromName(jn.at("op").get<std::string>()));
      n.inputs = jn.at("inputs").get<std::vector<int>>();
      n.in_channels = jn.value("in", int64_t{0});
      n.out_channels = jn.value("out", int64_t{0});
      n.kernel = jn.value("kernel", n.kernel);
      n.stride = jn.value("stride", n.stride);
      n.padding = jn.value("padding", n.padding);
      n.groups = jn.value("groups", int64_t{1});
      n.bias = jn.value("bias", false);
      n.eps = jn.value("eps", 1e-5);
      n.momentum = jn.value("momentum", 0.1);
      n.ceil_mode = jn.value("ceil_mode", false);
      n.count_include_pad = jn.value("count_include_pad", true);
      n.output_size = jn.value("output_size", n.output_size);
      n.p = jn.value("p", 0.0);
      n.dim = jn.value("dim", int64_t{1});
      n.start = jn.value("start", int64_t{0});
      n.dilation = jn.value("dilation", n.dilation);
      n.alpha = jn.value("alpha", 0.0);
      n.beta = jn.value("beta", 0.0);
      n.clamp_min = jn.value("min", 0.0);
      n.clamp_max = jn.value("max", 0.0);
      g.nodes.push_back(std::move(n));
    }
    g.outputs = j.at("outputs").get<std::vector<int>>();
    QG_RETURN_IF_ERROR(g.Validate());
    return g;
  } catch (const nlohmann::json::exception& e) {
    return Error::Corruption("model graph JSON: {}", e.what());
  }
}

}  // namespace qg::models
