// Quantization-aware fine-tuning: fake-quantized forward passes (FakeQuantHooks)
// on a prepared FP32 model, SGD with the straight-through estimator, then the
// observers' ranges as the INT8 model's activation scales.
//
// A learning rate that suits one model can blow up another: BN folded away, a
// ResNet-18 that trained at lr 0.05 diverged within 4 QAT steps at lr 0.005.
// So a fine-tuning that diverges starts again from the same weights at a tenth
// of the rate, at most twice, and says so; the one it keeps and the ones it
// dropped go into the strategy's details. Diverged: a step loss above 5x the
// calibration images' loss + 1 (stops it there), or FineTuneDiverged at the end.
#pragma once

#include <nlohmann/json.hpp>

#include "core/base/result.h"
#include "core/quant/ptq.h"
#include "core/train/trainer.h"

namespace qg::quant {

struct QatRecipe {
  int64_t epochs = 1;
  int64_t batch_size = 128;
  double lr = 0.005;
  int64_t max_steps_per_epoch = 0;  // 0: whole epochs
  int max_backoffs = 2;             // restarts at lr / 10 after a divergence
};

struct QatOutcome {
  ActivationQParams qparams;  // the fine-tuned observers' ranges
  train::TrainReport report;  // of the kept fine-tuning
  double lr = 0;              // its learning rate
  nlohmann::json diverged = nlohmann::json::array();  // dropped ones: [{lr, first_loss, last_loss | error}]
  double start_loss = 0;  // the calibration images' loss, fake-quantized, before fine-tuning
};

// Fine-tunes `prepared.model` in place. Errors: every try diverged
// (FailedPrecondition, naming the rates), or the data's.
Result<QatOutcome> FineTuneQuantAware(const StrategyContext& context, PreparedModel& prepared, const PtqParams& ptq,
                                      const QatRecipe& recipe);

// True when the loss went the wrong way: the last quarter of the steps (at
// least one) averages more than twice the first step's loss plus 0.1.
bool FineTuneDiverged(const std::vector<double>& step_losses);

}  // namespace qg::quant
