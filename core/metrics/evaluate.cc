#include "core/metrics/evaluate.h"

#include <torch/torch.h>

#include "core/base/progress.h"
#include "core/base/torch_call.h"

namespace qg::metrics {

Result<EvalResult> Evaluate(models::InferenceModel& model, const data::DataLoader& loader, const std::string& label,
                            bool keep_logits) {
  ClassificationAccumulator acc(loader.dataset().Info().num_classes);
  std::vector<torch::Tensor> logits;
  ProgressBar bar(label, loader.BatchesPerEpoch());
  auto epoch = loader.Epoch(0);
  int64_t done = 0;
  while (true) {
    QG_ASSIGN_OR_RETURN(auto batch, epoch->Next());
    if (!batch) break;
    QG_ASSIGN_OR_RETURN(torch::Tensor out, TorchCall(fmt::format("{}: forward pass", label),
                                                     [&] { return model.Predict(batch->images); }));
    acc.Add(out, batch->labels);
    if (keep_logits) logits.push_back(out.to(torch::kFloat32));
    bar.Update(++done);
  }
  EvalResult result{.report = acc.Report()};
  result.report.class_names = loader.dataset().Info().class_names;
  bar.Finish(fmt::format("top-1 {:.2f} %", result.report.top1));
  if (keep_logits && !logits.empty()) result.logits = torch::cat(logits);
  return result;
}

}  // namespace qg::metrics
