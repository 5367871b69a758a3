#include "core/quant/cle.h"

#include <torch/torch.h>

#include <fmt/format.h>

#include <algorithm>

#include "core/base/torch_call.h"
#include "core/quant/internal/layer_math.h"

namespace qg::quant {
namespace {

using models::Graph;
using models::Node;
using models::Op;
using internal::LayerBias;
using internal::LayerWeight;

bool IsLayer(const Node& n) { return n.op == Op::kConv2d || n.op == Op::kLinear; }
bool IsDepthwise(const Node& n) {
  return n.op == Op::kConv2d && n.groups > 1 && n.groups == n.in_channels && n.groups == n.out_channels;
}
bool IsRelu6(const Node& n) { return n.op == Op::kClamp && n.clamp_min == 0.0 && n.clamp_max == 6.0; }
// f(s * x) = s * f(x) for s > 0, channel by channel.
bool IsHomogeneous(const Node& n) {
  // A Flatten keeps channels one to one only on a 1x1 map: FindPairs checks
  // that the layer behind it reads as many features as there are channels.
  return n.op == Op::kReLU || n.op == Op::kMaxPool2d || n.op == Op::kAvgPool2d || n.op == Op::kAdaptiveAvgPool2d ||
         n.op == Op::kDropout || n.op == Op::kFlatten;
}

struct Pair {
  int first, second;
  bool relu = false;  // a ReLU on the way (bias absorption needs one)
};

// Pairs (first, second): `first`'s output reaches only `second`, through
// single-reader homogeneous nodes; `second` reads channels one to one (a
// conv with groups 1 or depthwise, or a linear after nothing but them).
std::vector<Pair> FindPairs(const Graph& g, std::vector<std::string>* skipped) {
  const auto consumers = g.Consumers();
  auto is_output = [&](int i) { return std::find(g.outputs.begin(), g.outputs.end(), i) != g.outputs.end(); };
  std::vector<Pair> pairs;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    const Node& a = g.nodes[i];
    if (!IsLayer(a) || (a.op == Op::kConv2d && a.groups != 1 && !IsDepthwise(a))) continue;
    int at = i;
    bool blocked = false, relu = false;
    while (!is_output(at) && consumers[at].size() == 1) {
      const Node& next = g.nodes[consumers[at][0]];
      if (IsLayer(next)) break;
      if (IsRelu6(next)) {
        skipped->push_back(fmt::format("{} -> (ReLU6 '{}'): a clamp at 6 is not scale-invariant", a.name, next.name));
        blocked = true;
        break;
      }
      if (!IsHomogeneous(next) || next.inputs.size() != 1) {
        blocked = true;
        break;
      }
      relu = relu || next.op == Op::kReLU;
      at = consumers[at][0];
    }
    if (blocked || is_output(at) || consumers[at].size() != 1) continue;
    const int b = consumers[at][0];
    const Node& second = g.nodes[b];
    if (!IsLayer(second) || second.inputs.size() != 1) continue;
    if (second.op == Op::kConv2d && second.groups != 1 && !IsDepthwise(second)) continue;
    if (second.in_channels != a.out_channels) continue;  // a Linear behind a flatten of H x W > 1
    pairs.push_back({i, b, relu});
  }
  return pairs;
}

// Per-channel max |w| over output channels (dim 0) or input channels.
torch::Tensor OutputRanges(const torch::Tensor& w) { return w.abs().flatten(1).amax(1); }
torch::Tensor InputRanges(const torch::Tensor& w, bool depthwise) {
  if (depthwise) return OutputRanges(w);
  return w.abs().transpose(0, 1).flatten(1).amax(1);
}

std::vector<int64_t> BroadcastShape(const torch::Tensor& w, int64_t axis) {
  std::vector<int64_t> shape(static_cast<size_t>(w.dim()), 1);
  shape[static_cast<size_t>(axis)] = -1;
  return shape;
}

}  // namespace

nlohmann::json CleReport::ToJson() const {
  nlohmann::json ranges = nlohmann::json::array();
  for (const auto& r : weight_ranges) ranges.push_back({{"layer", r.layer}, {"before", r.before}, {"after", r.after}});
  return {{"pairs", pairs},   {"iterations", iterations}, {"last_change", last_change}, {"relu6_replaced", relu6_replaced},
          {"skipped", skipped}, {"weight_ranges", ranges}};
}

Result<CleReport> EqualizeCrossLayer(models::GraphModule& model, const CleOptions& options) {
  const Graph& g = model->graph();
  for (const Node& n : g.nodes) {
    if (n.op == Op::kBatchNorm2d) {
      return Error::FailedPrecondition("cross-layer equalization: BatchNorm '{}' is not folded (fold_bn first)",
                                       n.name);
    }
  }
  CleReport report;
  if (options.relu6_to_relu) {
    // The graph is the module's own: an edit of the op is what forward() runs.
    auto graph = g;
    for (Node& n : graph.nodes) {
      if (IsRelu6(n)) {
        n.op = Op::kReLU;
        ++report.relu6_replaced;
      }
    }
    if (report.relu6_replaced > 0) {
      auto meta = model->meta();
      meta.transforms.push_back("relu6_to_relu");
      models::GraphModule replaced(graph, meta);
      QG_RETURN_IF_ERROR(TorchCall("replacing ReLU6 by ReLU", [&] {
        torch::NoGradGuard no_grad;
        auto from = model->named_parameters(), to = replaced->named_parameters();
        for (const auto& p : from) to[p.key()].copy_(p.value());
        auto from_b = model->named_buffers(), to_b = replaced->named_buffers();
        for (const auto& b : from_b) to_b[b.key()].copy_(b.value());
      }));
      replaced->eval();
      model = replaced;
    }
  }
  const Graph& graph = model->graph();
  const auto pairs = FindPairs(graph, &report.skipped);
  report.pairs = static_cast<int>(pairs.size());
  QG_RETURN_IF_ERROR(TorchCall("cross-layer equalization", [&] {
    torch::NoGradGuard no_grad;
    const auto ranges_of = [&](int node) {
      const auto r = OutputRanges(LayerWeight(model, node)).to(torch::kDouble).contiguous();
      return std::vector<double>(r.data_ptr<double>(), r.data_ptr<double>() + r.numel());
    };
    std::vector<int> layers;
    for (const Pair& p : pairs) {
      for (int node : {p.first, p.second}) {
        if (std::find(layers.begin(), layers.end(), node) == layers.end()) layers.push_back(node);
      }
    }
    std::sort(layers.begin(), layers.end());
    for (int node : layers) report.weight_ranges.push_back({graph.nodes[node].name, ranges_of(node), {}});
    for (report.iterations = 0; report.iterations < options.max_iterations && !pairs.empty();) {
      ++report.iterations;
      double change = 0;
      for (const Pair& p : pairs) {
        auto w1 = LayerWeight(model, p.first), w2 = LayerWeight(model, p.second);
        auto b1 = LayerBias(model, p.first);
        const bool depthwise = IsDepthwise(graph.nodes[p.second]);
        const auto r1 = OutputRanges(w1).to(torch::kDouble), r2 = InputRanges(w2, depthwise).to(torch::kDouble);
        // Channels that are all zero on either side keep their scale.
        const auto live = (r1 > 0) & (r2 > 0);
        const auto s = torch::where(live, torch::sqrt(r1 * r2) / r2, torch::ones_like(r1));
        change = std::max(change, (s - 1).abs().max().item<double>());
        const auto s32 = s.to(torch::kFloat32);
        const std::string& name = graph.nodes[p.first].name;
        auto& scale = report.output_scales[name];
        scale = scale.defined() ? scale / s32 : 1 / s32;
        w1.div_(s32.view(BroadcastShape(w1, 0)));
        if (b1.defined()) b1.div_(s32);
        // The second layer reads f(y / s) = f(y) / s: its weights take s
        // back and its bias is untouched (also for a depthwise conv, whose
        // weight row i reads input channel i).
        w2.mul_(s32.view(BroadcastShape(w2, depthwise ? 0 : 1)));
      }
      report.last_change = change;
      if (change < options.tolerance) break;
    }
    for (size_t i = 0; i < layers.size(); ++i) report.weight_ranges[i].after = ranges_of(layers[i]);
  }));
  model->UseChannelsLast();
  model->mutable_meta().transforms.push_back("cle");
  return report;
}

std::map<std::string, BatchNormOfConv> BatchNormsOfConvs(const models::GraphModule& model) {
  const Graph& g = model->graph();
  const auto consumers = g.Consumers();
  std::map<std::string, BatchNormOfConv> out;
  for (int i = 0; i < static_cast<int>(g.nodes.size()); ++i) {
    if (g.nodes[i].op != Op::kConv2d || consumers[i].size() != 1) continue;
    if (auto bn = model->bn(consumers[i][0])) {
      out[g.nodes[i].name] = {bn->bias.detach().clone(), bn->weight.detach().clone()};
    }
  }
  return out;
}

Result<nlohmann::json> AbsorbBiases(models::GraphModule& model, const std::map<std::string, BatchNormOfConv>& bns,
                                    const CleReport& equalization) {
  const Graph& graph = model->graph();
  std::vector<std::string> ignored;
  const auto pairs = FindPairs(graph, &ignored);
  nlohmann::json report = nlohmann::json::array();
  QG_RETURN_IF_ERROR(TorchCall("bias absorption", [&] {
    torch::NoGradGuard no_grad;
    for (const Pair& p : pairs) {
      const std::string& name = graph.nodes[p.first].name;
      const auto bn = bns.find(name);
      auto b1 = LayerBias(model, p.first), b2 = LayerBias(model, p.second);
      if (!p.relu || bn == bns.end() || !b1.defined() || !b2.defined()) continue;
      torch::Tensor scale = torch::ones_like(bn->second.beta);
      if (auto it = equalization.output_scales.find(name); it != equalization.output_scales.end()) scale = it->second;
      // The folded (and equalized) output's mean and std per channel.
      const auto mean = bn->second.beta * scale, std = bn->second.gamma.abs() * scale;
      const auto c = torch::clamp_min(mean - 3 * std, 0);
      if (c.max().item<float>() <= 0) continue;
      const auto w2 = LayerWeight(model, p.second);
      const bool depthwise = IsDepthwise(graph.nodes[p.second]);
      // W2 . c: each input channel's weights summed over the kernel, times c.
      const auto shift = depthwise       ? w2.flatten(1).sum(1) * c
                         : w2.dim() == 2 ? torch::mv(w2, c)
                                         : torch::mv(w2.flatten(2).sum(2), c);
      b1.sub_(c);
      b2.add_(shift);
      report.push_back({{"layer", name},
                        {"next", graph.nodes[p.second].name},
                        {"channels", (c > 0).sum().item<int64_t>()},
                        {"mean_shift", c.mean().item<double>()}});
    }
  }));
  model->UseChannelsLast();
  return report;
}

}  // namespace qg::quant
