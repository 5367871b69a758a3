#include "core/quant/sensitivity.h"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>

#include "core/base/files.h"
#include "core/base/progress.h"
#include "core/base/torch_call.h"
#include "core/metrics/classification.h"
#include "core/models/fp32_inference.h"

namespace qg::quant {
namespace {

struct Outputs {
  torch::Tensor logits;
  torch::Tensor labels;
};

Result<Outputs> Run(models::InferenceModel& model, const data::DataLoader& data) {
  std::vector<torch::Tensor> logits, labels;
  auto epoch = data.Epoch(0);
  while (true) {
    QG_ASSIGN_OR_RETURN(auto batch, epoch->Next());
    if (!batch) break;
    QG_ASSIGN_OR_RETURN(auto out, TorchCall("sensitivity forward", [&] { return model.Predict(batch->images); }));
    logits.push_back(out);
    labels.push_back(batch->labels);
  }
  return Outputs{torch::cat(logits), torch::cat(labels)};
}

double Top1(const Outputs& o) {
  return 100.0 * o.logits.argmax(1).eq(o.labels).to(torch::kFloat64).mean().item<double>();
}

int64_t LayerParameters(const models::GraphModule& m, const Block& b) {
  int64_t n = 0;
  if (auto conv = m->conv(b.main)) {
    n += conv->weight.numel() + (conv->bias.defined() ? conv->bias.numel() : 0);
  } else if (auto lin = m->linear(b.main)) {
    n += lin->weight.numel() + (lin->bias.defined() ? lin->bias.numel() : 0);
  }
  return n;
}

}  // namespace

Result<std::vector<LayerSensitivity>> MeasureSensitivity(const PreparedModel& prepared, const ConvertOptions& options,
                                                         const data::DataLoader& data, const std::string& metric) {
  models::EagerFp32Model fp32(prepared.model);
  QG_ASSIGN_OR_RETURN(const Outputs reference, Run(fp32, data));
  const double ref_power = reference.logits.pow(2).mean().item<double>();
  const double ref_top1 = Top1(reference);
  const auto layers = prepared.plan.WeightLayers();
  std::vector<LayerSensitivity> out;
  ProgressBar bar("sensitivity", static_cast<int64_t>(layers.size()));
  for (const auto& layer : layers) {
    ConvertOptions only = options;
    for (const auto& other : layers) {
      if (other != layer) only.fp32_layers.insert(other);
    }
    QG_ASSIGN_OR_RETURN(auto model, Convert(prepared.model, prepared.plan, prepared.qparams, only));
    QG_ASSIGN_OR_RETURN(const Outputs o, Run(*model, data));
    out.push_back({.layer = layer,
                   .relative_mse = (o.logits - reference.logits).pow(2).mean().item<double>() / std::max(ref_power, 1e-12),
                   .accuracy_drop = ref_top1 - Top1(o),
                   .parameters = LayerParameters(prepared.model, *prepared.plan.FindBlock(layer))});
    bar.Update(static_cast<int64_t>(out.size()), layer);
  }
  bar.Finish();
  std::stable_sort(out.begin(), out.end(), [&](const LayerSensitivity& a, const LayerSensitivity& b) {
    return metric == "accuracy" ? a.accuracy_drop > b.accuracy_drop : a.relative_mse > b.relative_mse;
  });
  return out;
}

Result<std::vector<FrontPoint>> ParetoFront(const PreparedModel& prepared, const ConvertOptions& options,
                                            const std::vector<LayerSensitivity>& ranked, const data::DataLoader& data,
                                            const std::string& scratch_dir) {
  std::vector<FrontPoint> front;
  ProgressBar bar("mpq front", static_cast<int64_t>(ranked.size()) + 1);
  for (size_t k = 0; k <= ranked.size(); ++k) {
    ConvertOptions o = options;
    FrontPoint p{.fp32_count = static_cast<int>(k)};
    for (size_t i = 0; i < k; ++i) {
      o.fp32_layers.insert(ranked[i].layer);
      p.fp32_layers.push_back(ranked[i].layer);
    }
    QG_ASSIGN_OR_RETURN(auto model, Convert(prepared.model, prepared.plan, prepared.qparams, o));
    QG_ASSIGN_OR_RETURN(const Outputs out, Run(*model, data));
    p.accuracy = Top1(out);
    const std::string path = (std::filesystem::path(scratch_dir) / fmt::format("mpq_front_{}.pt", k)).string();
    QG_RETURN_IF_ERROR(model->Save(path));
    QG_ASSIGN_OR_RETURN(p.model_bytes, FileSize(path));
    std::error_code ec;
    std::filesystem::remove(path, ec);
    front.push_back(std::move(p));
    bar.Update(static_cast<int64_t>(front.size()));
  }
  bar.Finish();
  return front;
}

}  // namespace qg::quant
