#include "core/quant/layer_mse.h"

#include <torch/torch.h>

#include <map>

#include "core/base/torch_call.h"

namespace qg::quant {
namespace {

class CaptureAll final : public models::ForwardHooks {
 public:
  torch::Tensor AfterNode(int node, const models::Node& n, torch::Tensor out) override {
    values[n.name] = out;
    return out;
  }
  std::map<std::string, torch::Tensor> values;
};

}  // namespace

Result<nlohmann::json> LayerwiseMse(const models::GraphModule& fp32, QuantizedModel& int8, const torch::Tensor& images) {
  const auto& names = int8.meta().value("value_names", nlohmann::json::array());
  return TorchCall("layer-wise MSE", [&] {
    torch::NoGradGuard no_grad;
    models::GraphModule model = fp32;
    model->eval();
    CaptureAll capture;
    model->ForwardAll(images, &capture);
    const auto values = int8.RunKeepingValues(images);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [layer, slot] : int8.Int8Outputs()) {
      if (slot >= static_cast<int>(names.size())) continue;
      const std::string value_name = names[slot];
      const auto it = capture.values.find(value_name);
      if (it == capture.values.end() || !values[slot].defined()) continue;
      const auto ref = it->second.to(torch::kFloat64);
      const auto got = (values[slot].is_quantized() ? values[slot].dequantize() : values[slot]).to(torch::kFloat64);
      const double mse = (got - ref).pow(2).mean().item<double>();
      out.push_back({{"layer", layer},
                     {"value", value_name},
                     {"mse", mse},
                     {"relative_mse", mse / std::max(ref.pow(2).mean().item<double>(), 1e-30)}});
    }
    return out;
  });
}

}  // namespace qg::quant
