// Calibration: run the FP32 model over calibration images with an observer at
// every quantization point of a plan, and turn what they saw into activation
// scales and zero points.
#pragma once

#include <map>

#include "core/base/result.h"
#include "core/data/data_loader.h"
#include "core/models/graph_module.h"
#include "core/quant/observers.h"
#include "core/quant/quant_plan.h"

namespace qg::quant {

// node id -> qparams of the tensor that node's value becomes.
using ActivationQParams = std::map<int, QParams>;

Result<ActivationQParams> Calibrate(models::GraphModule& model, const QuantPlan& plan, const data::DataLoader& images,
                                    const ObserverOptions& observer, const QuantSpec& spec);

// Hooks that feed each quantization point's value to its observer.
class ObservingHooks final : public models::ForwardHooks {
 public:
  ObservingHooks(const QuantPlan& plan, const ObserverOptions& observer);
  Status status() const { return status_; }
  torch::Tensor AfterNode(int node, const models::Node& n, torch::Tensor out) override;
  ActivationQParams Compute(const QuantSpec& spec) const;

 private:
  std::map<int, std::unique_ptr<Observer>> observers_;
  Status status_;
};

}  // namespace qg::quant
