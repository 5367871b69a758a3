#include "core/models/model_macs.h"

#include <torch/torch.h>

#include "core/base/torch_call.h"
#include "core/models/model_options.h"

namespace qg::models {
namespace {

class ShapeHooks final : public ForwardHooks {
 public:
  torch::Tensor AfterNode(int node, const Node& n, torch::Tensor out) override {
    if (n.op == Op::kConv2d || n.op == Op::kLinear) shapes[node] = out.sizes().vec();
    return out;
  }
  std::map<int, std::vector<int64_t>> shapes;
};

}  // namespace

Result<std::map<std::string, int64_t>> MacsPerLayer(GraphModule model) {
  QG_ASSIGN_OR_RETURN(auto options, ModelOptions::FromJson(model->meta().options));
  ShapeHooks hooks;
  QG_RETURN_IF_ERROR(TorchCall("counting multiply-adds", [&] {
    torch::NoGradGuard no_grad;
    const bool training = model->is_training();
    model->eval();
    model->ForwardAll(torch::zeros({1, options.in_channels, options.image_size, options.image_size}), &hooks);
    model->train(training);
  }));
  std::map<std::string, int64_t> macs;
  const auto& nodes = model->graph().nodes;
  for (const auto& [index, shape] : hooks.shapes) {
    const Node& n = nodes[index];
    int64_t outputs = 1;
    for (size_t d = 1; d < shape.size(); ++d) outputs *= shape[d];
    macs[n.name] = n.op == Op::kConv2d ? outputs * (n.in_channels / n.groups) * n.kernel[0] * n.kernel[1]
                                       : outputs * n.in_channels;
  }
  return macs;
}

}  // namespace qg::models
