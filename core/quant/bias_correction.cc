#include "core/quant/bias_correction.h"

#include <torch/torch.h>

#include "core/base/progress.h"
#include "core/base/torch_call.h"
#include "core/quant/internal/layer_math.h"

namespace qg::quant {
namespace {

// Captures the value of one node during an FP32 forward pass.
class CaptureHook final : public models::ForwardHooks {
 public:
  explicit CaptureHook(int node) : node_(node) {}
  torch::Tensor AfterNode(int node, const models::Node&, torch::Tensor out) override {
    if (node == node_) captured = out;
    return out;
  }
  torch::Tensor captured;

 private:
  int node_;
};

}  // namespace

Result<BiasCorrection> CorrectBiases(const PreparedModel& prepared, ConvertOptions options,
                                     const data::DataLoader& calibration) {
  models::GraphModule model = prepared.model;  // a non-const handle to the same module
  const auto& graph = model->graph();
  BiasCorrection out;
  const auto layers = prepared.plan.WeightLayers();
  ProgressBar bar("bias correction", static_cast<int64_t>(layers.size()));
  int64_t done = 0;
  for (const auto& name : layers) {
    bar.Update(done++, name);
    if (options.fp32_layers.count(name)) continue;
    const Block& block = *prepared.plan.FindBlock(name);
    const models::Node& node = graph.nodes[block.main];
    QG_ASSIGN_OR_RETURN(auto int8, Convert(model, prepared.plan, prepared.qparams, options));
    auto shift = TorchCall(fmt::format("bias correction of '{}'", name), [&]() -> std::optional<torch::Tensor> {
      torch::NoGradGuard no_grad;
      const torch::Tensor w = internal::LayerWeight(model, block.main).detach();
      torch::Tensor bias = internal::LayerBias(model, block.main);
      bias = bias.defined() ? bias.detach() : torch::zeros({node.out_channels});
      if (auto it = options.bias_overrides.find(name); it != options.bias_overrides.end()) bias = it->second;
      const auto wq = QuantizeWeight(w, options).dequantize();
      auto sum = torch::zeros({node.out_channels}, torch::kFloat64);
      int64_t count = 0;
      auto epoch = calibration.Epoch(0);
      while (true) {
        auto batch = epoch->Next();
        if (!batch || !*batch) break;
        CaptureHook capture(block.inputs[0]);
        model->ForwardAll((*batch)->images, &capture);
        const auto q_values = int8->RunKeepingValues((*batch)->images);
        // The INT8 model may lay a flattened tensor out NHWC (its Linear weights
        // permuted to match); flatten its 4D input in the FP32 model's order.
        const int in = block.inputs[0];
        const bool flattened = graph.nodes[in].op == models::Op::kFlatten;
        const auto& xq = q_values[flattened ? graph.nodes[in].inputs[0] : in];
        auto x_int8 = xq.is_quantized() ? xq.dequantize() : xq;
        if (flattened) x_int8 = torch::flatten(x_int8, 1);
        const auto y_fp = internal::LayerOutput(node, capture.captured, w, bias);
        const auto y_q = internal::LayerOutput(node, x_int8, wq, bias);
        const auto diff = (y_q - y_fp).to(torch::kFloat64);
        if (diff.dim() == 4) {
          sum += diff.sum({0, 2, 3});
          count += diff.size(0) * diff.size(2) * diff.size(3);
        } else {
          sum += diff.sum(0);
          count += diff.size(0);
        }
      }
      if (count == 0) return std::nullopt;
      return (sum / static_cast<double>(count)).to(torch::kFloat32);
    });
    if (!shift) return shift.error();
    if (!*shift) return Error::FailedPrecondition("bias correction: the calibration set is empty");
    torch::Tensor current = options.bias_overrides.count(name) ? options.bias_overrides[name] : torch::Tensor();
    if (!current.defined()) {
      current = internal::LayerBias(model, block.main);
      current = current.defined() ? current.detach() : torch::zeros({node.out_channels});
    }
    const auto& s = **shift;
    options.bias_overrides[name] = current - s;
    out.report.push_back({{"layer", name},
                          {"mean_abs_shift", s.abs().mean().item<double>()},
                          {"max_abs_shift", s.abs().max().item<double>()}});
  }
  bar.Finish();
  out.biases = options.bias_overrides;
  return out;
}

}  // namespace qg::quant
