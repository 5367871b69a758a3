#include "core/quant/qat.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/base/logging.h"
#include "core/quant/fake_quant.h"

namespace qg::quant {

bool FineTuneDiverged(const std::vector<double>& step_losses) {
  if (step_losses.empty()) return false;
  const size_t tail = std::max<size_t>(1, step_losses.size() / 4);
  const double last = std::accumulate(step_losses.end() - static_cast<std::ptrdiff_t>(tail), step_losses.end(), 0.0) /
                      static_cast<double>(tail);
  return !std::isfinite(last) || last > 2 * step_losses.front() + 0.1;
}

Result<QatOutcome> FineTuneQuantAware(const StrategyContext& context, PreparedModel& prepared, const PtqParams& ptq,
                                      const QatRecipe& recipe) {
  const models::GraphModule start = models::CloneModel(prepared.model);
  QatOutcome outcome;
  double lr = recipe.lr;
  for (int attempt = 0;; ++attempt) {
    if (attempt > 0) prepared.model = models::CloneModel(start);
    // The observers start from the calibration images' ranges, as PTQ's
    // would; those images' loss is where the fine-tuning starts from.
    FakeQuantHooks hooks(prepared.plan, ptq.activation_spec, ptq.convert);
    double start_loss = 0, images = 0;
    {
      torch::NoGradGuard no_grad;
      auto epoch = CalibrationLoader(context, ptq.calibration_size).Epoch(0);
      while (true) {
        QG_ASSIGN_OR_RETURN(auto b, epoch->Next());
        if (!b) break;
        const auto logits = prepared.model->ForwardAll(b->images, &hooks)[0];
        const double n = static_cast<double>(b->labels.size(0));
        start_loss += torch::nn::functional::cross_entropy(logits, b->labels).item<double>() * n;
        images += n;
      }
    }
    if (images > 0) start_loss /= images;
    train::TrainOptions o;
    o.epochs = recipe.epochs;
    o.batch_size = recipe.batch_size;
    o.lr = lr;
    o.momentum = 0.9;
    o.weight_decay = 0;
    o.seed = context.seed;
    o.max_steps_per_epoch = recipe.max_steps_per_epoch;
    // A single step far above the start has diverged: no need to finish.
    auto report = train::Train(prepared.model, {.options = o,
                                                .train_set = context.train_set,
                                                .observer = context.progress,
                                                .hooks = &hooks,
                                                .stop_above_loss = images > 0 ? 5 * start_loss + 1 : 0});
    nlohmann::json failure{{"lr", lr}};
    if (report && !FineTuneDiverged(report->step_losses)) {
      outcome.qparams = hooks.Compute();
      outcome.report = std::move(*report);
      outcome.lr = lr;
      outcome.start_loss = start_loss;
      return outcome;
    }
    if (report) {
      failure["first_loss"] = report->step_losses.front();
      failure["last_loss"] = report->step_losses.back();
    } else if (report.error().code == ErrorCode::kFailedPrecondition) {  // stopped: non-finite or far too high
      failure["error"] = report.error().message;
    } else {
      return report.error();
    }
    outcome.diverged.push_back(failure);
    if (attempt == recipe.max_backoffs) {
      return Error::FailedPrecondition("qat: fine-tuning diverged at every learning rate tried ({}); set a smaller qat lr",
                                       outcome.diverged.dump());
    }
    Log("quant")->warn("qat: fine-tuning at lr {} diverged ({}); starting again from the calibrated weights at lr {}",
                       lr, failure.dump(), lr / 10);
    lr /= 10;
  }
}

}  // namespace qg::quant
