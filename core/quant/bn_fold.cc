#include "core/quant/bn_fold.h"

#include <torch/torch.h>

#include "core/base/torch_call.h"

namespace qg::quant {
namespace {

// bn_of[conv] = the BN node folded into it, or -1.
std::vector<int> FoldPairs(const models::Graph& g) {
  const auto consumers = g.Consumers();
  std::vector<int> bn_of(g.nodes.size(), -1);
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i].op != models::Op::kConv2d || consumers[i].size() != 1) continue;
    const int c = consumers[i][0];
    const bool is_output = std::find(g.outputs.begin(), g.outputs.end(), static_cast<int>(i)) != g.outputs.end();
    if (!is_output && g.nodes[c].op == models::Op::kBatchNorm2d) bn_of[i] = c;
  }
  return bn_of;
}

}  // namespace

int CountFoldableBatchNorms(const models::Graph& graph) {
  int n = 0;
  for (int bn : FoldPairs(graph)) n += bn >= 0;
  return n;
}

Result<models::GraphModule> FoldBatchNorm(const models::GraphModule& model) {
  const models::Graph& g = model->graph();
  const auto bn_of = FoldPairs(g);
  std::vector<char> dropped(g.nodes.size(), 0);
  for (int bn : bn_of) {
    if (bn >= 0) dropped[bn] = 1;
  }
  // New graph without the folded BNs; readers of a BN read its conv instead.
  std::vector<int> remap(g.nodes.size(), -1);
  models::Graph folded;
  for (size_t i = 0; i < g.nodes.size(); ++i) {
    if (dropped[i]) {
      remap[i] = remap[g.nodes[i].inputs[0]];
      continue;
    }
    models::Node n = g.nodes[i];
    for (int& in : n.inputs) in = remap[in];
    if (bn_of[i] >= 0) n.bias = true;
    remap[i] = folded.Add(std::move(n));
  }
  for (int o : g.outputs) folded.outputs.push_back(remap[o]);
  QG_RETURN_IF_ERROR(folded.Validate());

  auto meta = model->meta();
  meta.transforms.push_back("bn_fold");
  return TorchCall("folding batch norm", [&] {
    torch::NoGradGuard no_grad;
    models::GraphModule out(folded, meta);
    for (size_t i = 0; i < g.nodes.size(); ++i) {
      if (dropped[i]) continue;
      const int j = remap[i];
      if (auto conv = model->conv(static_cast<int>(i))) {
        auto dst = out->conv(j);
        if (bn_of[i] >= 0) {
          auto bn = model->bn(bn_of[i]);
          const auto w = conv->weight.to(torch::kDouble);
          const auto inv_std = torch::rsqrt(bn->running_var.to(torch::kDouble) + bn->options.eps());
          const auto gamma = bn->weight.to(torch::kDouble) * inv_std;
          const auto b = conv->bias.defined() ? conv->bias.to(torch::kDouble) : torch::zeros_like(gamma);
          dst->weight.copy_((w * gamma.view({-1, 1, 1, 1})).to(torch::kFloat32));
          dst->bias.copy_(((b - bn->running_mean.to(torch::kDouble)) * gamma + bn->bias.to(torch::kDouble))
                              .to(torch::kFloat32));
        } else {
          dst->weight.copy_(conv->weight);
          if (conv->bias.defined()) dst->bias.copy_(conv->bias);
        }
      } else if (auto lin = model->linear(static_cast<int>(i))) {
        out->linear(j)->weight.copy_(lin->weight);
        if (lin->bias.defined()) out->linear(j)->bias.copy_(lin->bias);
      } else if (auto bn = model->bn(static_cast<int>(i))) {
        auto dst = out->bn(j);
        dst->weight.copy_(bn->weight);
        dst->bias.copy_(bn->bias);
        dst->running_mean.copy_(bn->running_mean);
        dst->running_var.copy_(bn->running_var);
      } else if (auto ln = model->layer_norm(static_cast<int>(i))) {
        out->layer_norm(j)->weight.copy_(ln->weight);
        out->layer_norm(j)->bias.copy_(ln->bias);
      }
    }
    out->UseChannelsLast();
    out->eval();
    return out;
  });
}

}  // namespace qg::quant
