#include "core/quant/calibration.h"

#include <torch/torch.h>

#include "core/base/progress.h"
#include "core/base/torch_call.h"

namespace qg::quant {

ObservingHooks::ObservingHooks(const QuantPlan& plan, const ObserverOptions& observer) {
  for (int point : plan.quant_points) {
    auto made = MakeObserver(observer);
    if (!made) {
      status_ = made.error();
      return;
    }
    observers_[point] = std::move(*made);
  }
}

torch::Tensor ObservingHooks::AfterNode(int node, const models::Node& n, torch::Tensor out) {
  if (node == 0) {
    observers_.at(0)->Observe(out);
  } else if (auto it = observers_.find(node); it != observers_.end()) {
    it->second->Observe(out);
  }
  return out;
}

ActivationQParams ObservingHooks::Compute(const QuantSpec& spec) const {
  ActivationQParams q;
  for (const auto& [node, obs] : observers_) {
    if (!obs->empty()) q[node] = obs->Compute(spec);
  }
  return q;
}

Result<ActivationQParams> Calibrate(models::GraphModule& model, const QuantPlan& plan, const data::DataLoader& images,
                                    const ObserverOptions& observer, const QuantSpec& spec) {
  ObservingHooks hooks(plan, observer);
  QG_RETURN_IF_ERROR(hooks.status());
  model->eval();
  ProgressBar bar(fmt::format("calibrate ({})", observer.kind), images.BatchesPerEpoch());
  auto epoch = images.Epoch(0);
  int64_t done = 0;
  while (true) {
    QG_ASSIGN_OR_RETURN(auto batch, epoch->Next());
    if (!batch) break;
    QG_RETURN_IF_ERROR(TorchCall("calibration forward pass", [&] {
      torch::NoGradGuard no_grad;
      model->ForwardAll(batch->images, &hooks);
    }));
    bar.Update(++done);
  }
  bar.Finish(fmt::format("{} quantization points", plan.quant_points.size()));
  auto qparams = hooks.Compute(spec);
  for (int point : plan.quant_points) {
    if (!qparams.count(point)) {
      return Error::FailedPrecondition("calibration saw no values at node '{}'; is the calibration set empty?",
                                       model->graph().nodes[point].name);
    }
  }
  return qparams;
}

}  // namespace qg::quant
