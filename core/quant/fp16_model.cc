#include "core/quant/fp16_model.h"

#include <torch/torch.h>

#include "core/base/torch_call.h"
#include "core/models/fp32_inference.h"

namespace qg::quant {
namespace {

// FP16 storage: FP32 compute on weights rounded to half.
class HalfStorageModel final : public models::InferenceModel {
 public:
  explicit HalfStorageModel(std::unique_ptr<models::CompiledFp32Model> compiled) : compiled_(std::move(compiled)) {}
  std::string Describe() const override {
    return "fp16 weights (rounded to half), fp32 compute: LibTorch 1.13 has no half conv/matmul on CPU";
  }
  torch::Tensor Predict(const torch::Tensor& images) override { return compiled_->Predict(images); }

 private:
  std::unique_ptr<models::CompiledFp32Model> compiled_;
};

}  // namespace

models::GraphModule HalfCopy(const models::GraphModule& model) {
  auto copy = models::CloneModel(model);
  copy->to(torch::kHalf);
  return copy;
}

Result<std::unique_ptr<models::InferenceModel>> MakeHalfModel(const models::GraphModule& model,
                                                               const std::string& device, const std::string& compute) {
  if (device == "cuda") return models::DeviceModel::OnCuda(model, torch::kHalf);
  if (compute == "bf16") {
    return TorchCall("bf16 model", [&]() -> std::unique_ptr<models::InferenceModel> {
      return std::make_unique<models::DeviceModel>(models::CloneModel(model), torch::Device(torch::kCPU),
                                                   torch::kBFloat16);
    });
  }
  if (compute != "fp32") {
    return Error::InvalidArgument("fp16 on cpu: compute \"{}\" is not available; use fp32 (half storage) or bf16",
                                  compute);
  }
  QG_ASSIGN_OR_RETURN(auto rounded, TorchCall("rounding weights to half", [&] {
                        auto m = HalfCopy(model);
                        m->to(torch::kFloat32);
                        m->UseChannelsLast();
                        m->eval();
                        return m;
                      }));
  QG_ASSIGN_OR_RETURN(auto compiled, models::CompiledFp32Model::Compile(rounded));
  return std::unique_ptr<models::InferenceModel>(new HalfStorageModel(std::move(compiled)));
}

}  // namespace qg::quant
