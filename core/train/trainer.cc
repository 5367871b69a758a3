#include "core/train/trainer.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>

#include "core/base/cuda_check.h"
#include "core/base/logging.h"
#include "core/base/torch_call.h"
#include "core/data/data_loader.h"
#include "core/data/dataset_registry.h"
#include "core/metrics/evaluate.h"
#include "core/models/fp32_inference.h"
#include "core/train/early_stopping.h"
#include "core/train/grad_scaler.h"
#include "core/train/lr_schedule.h"
#include "core/train/train_state.h"

namespace qg::train {
namespace {

using SteadyClock = std::chrono::steady_clock;

torch::optim::SGD MakeOptimizer(models::GraphModuleImpl& model, const TrainOptions& o) {
  return torch::optim::SGD(model.parameters(), torch::optim::SGDOptions(o.lr)
                                                   .momentum(o.momentum)
                                                   .nesterov(o.nesterov)
                                                   .weight_decay(o.weight_decay));
}

void SetLearningRate(torch::optim::SGD& optimizer, double lr) {
  for (auto& group : optimizer.param_groups()) static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
}

std::vector<torch::Tensor> SnapshotState(const models::GraphModuleImpl& model) {
  std::vector<torch::Tensor> state;
  for (const auto& p : model.parameters()) state.push_back(p.detach().clone());
  for (const auto& b : model.buffers()) state.push_back(b.detach().clone());
  return state;
}

void RestoreState(models::GraphModuleImpl& model, const std::vector<torch::Tensor>& state) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  for (auto& p : model.parameters()) p.copy_(state[i++]);
  for (auto& b : model.buffers()) b.copy_(state[i++]);
}

torch::Tensor Loss(const std::vector<torch::Tensor>& outputs, const torch::Tensor& labels, double label_smoothing) {
  namespace F = torch::nn::functional;
  const auto opts = F::CrossEntropyFuncOptions().label_smoothing(label_smoothing);
  auto loss = F::cross_entropy(outputs[0], labels, opts);
  for (size_t i = 1; i < outputs.size(); ++i) {
    if (outputs[i].defined()) loss = loss + 0.4 * F::cross_entropy(outputs[i], labels, opts);
  }
  return loss;
}

// Validation on the training device: batches come from the loader on CPU.
class OnDevice final : public models::InferenceModel {
 public:
  OnDevice(models::GraphModule model, torch::Device device) : inner_(std::move(model)), device_(device) {}
  std::string Describe() const override { return inner_.Describe() + " on " + device_.str(); }
  torch::Tensor Predict(const torch::Tensor& images) override {
    return inner_.Predict(images.to(device_)).to(torch::kCPU);
  }

 private:
  models::EagerFp32Model inner_;
  torch::Device device_;
};

// FP16 autocast for the forward pass (AMP), off again at scope exit.
class AutocastScope {
 public:
  explicit AutocastScope(bool on) : on_(on) {
    if (on_) at::autocast::set_enabled(true);
  }
  ~AutocastScope() {
    if (!on_) return;
    at::autocast::set_enabled(false);
    at::autocast::clear_cache();
  }

 private:
  bool on_;
};

Result<torch::Device> TrainingDevice(const TrainOptions& o) {
  if (o.device == "cpu") return torch::Device(torch::kCPU);
  QG_RETURN_IF_ERROR(RequireCuda("train.device cuda"));
  return torch::Device(torch::kCUDA);
}

}  // namespace

nlohmann::json TrainReport::ToJson() const {
  nlohmann::json jepochs = nlohmann::json::array();
  for (const auto& e : epochs) {
    jepochs.push_back({{"epoch", e.epoch},
                       {"train_loss", e.train_loss},
                       {"train_accuracy", e.train_accuracy},
                       {"val_accuracy", e.val_accuracy},
                       {"lr", e.lr},
                       {"seconds", e.seconds},
                       {"images_per_second", e.images_per_second}});
  }
  return {{"epochs", jepochs},     {"step_losses", step_losses}, {"best_epoch", best_epoch},
          {"best_val_accuracy", best_val_accuracy}, {"stopped_early", stopped_early}, {"resumed", resumed},
          {"steps", steps},        {"seconds", seconds}};
}

TrainReport TrainReport::FromJson(const nlohmann::json& j) {
  TrainReport r;
  for (const auto& e : j.value("epochs", nlohmann::json::array())) {
    r.epochs.push_back(EpochStats{.epoch = e.value("epoch", int64_t{0}),
                                  .train_loss = e.value("train_loss", 0.0),
                                  .train_accuracy = e.value("train_accuracy", 0.0),
                                  .val_accuracy = e.value("val_accuracy", -1.0),
                                  .lr = e.value("lr", 0.0),
                                  .seconds = e.value("seconds", 0.0),
                                  .images_per_second = e.value("images_per_second", 0.0)});
  }
  r.step_losses = j.value("step_losses", std::vector<double>{});
  r.best_epoch = j.value("best_epoch", int64_t{-1});
  r.best_val_accuracy = j.value("best_val_accuracy", -1.0);
  r.stopped_early = j.value("stopped_early", false);
  r.resumed = j.value("resumed", false);
  r.steps = j.value("steps", int64_t{0});
  r.seconds = j.value("seconds", 0.0);
  return r;
}

Result<TrainReport> Train(models::GraphModule& model, const TrainRun& run) {
  const TrainOptions& o = run.options;
  QG_ASSIGN_OR_RETURN(const torch::Device device, TrainingDevice(o));
  const int rank = run.sync ? run.sync->rank() : 0;
  const int world = run.sync ? run.sync->world_size() : 1;
  if (o.batch_size % world != 0) {
    return Error::InvalidArgument("train.batch_size {} is not divisible by the {} data-parallel ranks", o.batch_size, world);
  }
  auto split = data::SplitValidation(run.train_set, o.val_size);
  data::LoaderOptions lo{.batch_size = o.batch_size / world,
                         .shuffle = true,
                         .drop_last = world > 1,
                         .seed = o.seed,
                         .augment = {.crop_padding = o.crop_padding, .horizontal_flip = o.horizontal_flip},
                         .prefetch = 2,
                         .rank = rank,
                         .world_size = world};
  data::DataLoader loader(split.train, lo);
  std::unique_ptr<data::DataLoader> val_loader;
  if (split.val && rank == 0) {
    val_loader = std::make_unique<data::DataLoader>(split.val, data::LoaderOptions{.batch_size = 256});
  }
  int64_t steps_per_epoch = loader.BatchesPerEpoch();
  if (o.max_steps_per_epoch > 0) steps_per_epoch = std::min(steps_per_epoch, o.max_steps_per_epoch);
  if (steps_per_epoch == 0) return Error::InvalidArgument("training set of {} examples gives no full batch", loader.NumExamples());

  const CosineSchedule schedule{.base_lr = o.lr,
                                .min_lr = o.min_lr,
                                .warmup_steps = static_cast<int64_t>(std::llround(o.warmup_epochs * steps_per_epoch)),
                                .total_steps = o.epochs * steps_per_epoch};
  QG_RETURN_IF_ERROR(TorchCall("moving the model to " + device.str(), [&] { model->to(device); }));
  auto optimizer = MakeOptimizer(*model, o);
  // AMP resumes with a fresh loss scale: it finds its level within a few steps.
  GradScaler scaler;
  EarlyStopping stopper(o.early_stopping_patience);
  std::vector<torch::Tensor> best_state;
  TrainReport report;
  int64_t start_epoch = 0;
  int64_t global_step = 0;

  QG_ASSIGN_OR_RETURN(auto resumed, run.resume ? LoadTrainState(run.state_path, *model, optimizer, best_state)
                                               : Result<std::optional<TrainProgress>>(std::nullopt));
  if (resumed) {
    if (resumed->recipe != o.ToJson()) {
      return Error::FailedPrecondition("training state '{}' belongs to a different recipe; delete it or drop --resume",
                                       run.state_path);
    }
    report = TrainReport::FromJson(resumed->report);
    report.resumed = true;
    start_epoch = resumed->epochs_done;
    global_step = resumed->global_step;
    stopper.Restore(resumed->best_val, resumed->best_epoch, resumed->epochs_without_improvement);
    Log("train")->info("resuming from '{}' after epoch {}", run.state_path, start_epoch);
  } else {
    // Training randomness (dropout) gets its own stream, independent of how the
    // model was initialised.
    torch::manual_seed(o.seed * 7919 + 17);
  }
  if (run.sync) QG_RETURN_IF_ERROR(run.sync->BroadcastModel(*model));

  ObserverList observers;
  observers.Add(rank == 0 ? run.observer : nullptr);
  models::ForwardHooks* hooks = run.sync ? run.sync->TrainingHooks() : nullptr;
  if (run.hooks && hooks) return Error::InvalidArgument("training hooks and data-parallel hooks cannot be combined");
  if (run.hooks) hooks = run.hooks;
  const auto run_start = SteadyClock::now();
  for (int64_t epoch = start_epoch; epoch < o.epochs && !report.stopped_early; ++epoch) {
    model->train();
    observers.OnEpochBegin(epoch, o.epochs, steps_per_epoch);
    auto batches = loader.Epoch(epoch);
    const auto epoch_start = SteadyClock::now();
    double loss_sum = 0, correct = 0, seen = 0;
    double lr = schedule.At(global_step);
    for (int64_t step = 0; step < steps_per_epoch; ++step) {
      QG_ASSIGN_OR_RETURN(auto batch, batches->Next());
      if (!batch) break;
      lr = schedule.At(global_step);
      auto step_result = TorchCall(fmt::format("training step {} of epoch {}", step + 1, epoch + 1), [&] {
        SetLearningRate(optimizer, lr);
        optimizer.zero_grad();
        const auto images = batch->images.to(device, /*non_blocking=*/true);
        const auto labels = batch->labels.to(device, /*non_blocking=*/true);
        std::vector<torch::Tensor> outputs;
        {
          AutocastScope autocast(o.amp);
          outputs = model->ForwardAll(images, hooks);
        }
        if (o.amp) {  // the loss in FP32, as autocast would compute it
          for (auto& out : outputs) out = out.defined() ? out.to(torch::kFloat) : out;
        }
        auto loss = Loss(outputs, labels, o.label_smoothing);
        if (run.sync) run.sync->BeforeBackward(*model);
        (o.amp ? scaler.Scale(loss) : loss).backward();
        const double n = static_cast<double>(labels.size(0));
        return std::vector<double>{loss.item<double>() * n, outputs[0].argmax(1).eq(labels).sum().item<double>(), n};
      });
      if (!step_result) return step_result.error();
      std::vector<double> sums = *step_result;
      if (run.sync) {
        QG_RETURN_IF_ERROR(run.sync->SynchronizeGradients(*model));
        QG_ASSIGN_OR_RETURN(sums, run.sync->AllReduceSum(sums));
      }
      QG_RETURN_IF_ERROR(TorchCall("optimizer step", [&] {
        // With AMP, a step whose gradients overflowed is skipped (every rank
        // sees the same all-reduced gradients, so every rank skips it).
        if (!o.amp || scaler.Unscale(model->parameters())) optimizer.step();
        if (o.amp) scaler.Update();
      }));
      const double step_loss = sums[0] / sums[2];
      if (!std::isfinite(step_loss)) {
        return Error::FailedPrecondition("training diverged at epoch {} step {} (loss {}); lower the learning rate",
                                         epoch + 1, step + 1, step_loss);
      }
      report.step_losses.push_back(step_loss);
      loss_sum += sums[0];
      correct += sums[1];
      seen += sums[2];
      ++global_step;
      const double secs = std::chrono::duration<double>(SteadyClock::now() - epoch_start).count();
      observers.OnStep(StepStats{.epoch = epoch,
                                 .step = step + 1,
                                 .steps_in_epoch = steps_per_epoch,
                                 .loss = loss_sum / seen,
                                 .accuracy = 100.0 * correct / seen,
                                 .images_per_second = secs > 0 ? seen / secs : 0,
                                 .lr = lr});
    }
    const double secs = std::chrono::duration<double>(SteadyClock::now() - epoch_start).count();
    EpochStats stats{.epoch = epoch,
                     .train_loss = seen ? loss_sum / seen : 0,
                     .train_accuracy = seen ? 100.0 * correct / seen : 0,
                     .lr = lr,
                     .seconds = secs,
                     .images_per_second = secs > 0 ? seen / secs : 0};
    if (val_loader) {
      OnDevice eval_model(model, device);
      QG_ASSIGN_OR_RETURN(auto val, metrics::Evaluate(eval_model, *val_loader, fmt::format("validate {}", epoch + 1)));
      stats.val_accuracy = val.report.top1;
      if (stopper.Record(epoch, stats.val_accuracy) && o.early_stopping_patience > 0) best_state = SnapshotState(*model);
      report.best_epoch = stopper.best_epoch();
      report.best_val_accuracy = stopper.best();
      if (stopper.ShouldStop()) {
        report.stopped_early = true;
        Log("train")->info("early stop after epoch {}: validation top-1 has not improved for {} epochs (best {:.2f} % "
                           "at epoch {})",
                           epoch + 1, o.early_stopping_patience, stopper.best(), stopper.best_epoch() + 1);
      }
    }
    report.epochs.push_back(stats);
    report.steps = global_step;
    observers.OnEpochEnd(stats);
    if (!run.state_path.empty() && rank == 0) {
      QG_RETURN_IF_ERROR(SaveTrainState(run.state_path, *model, optimizer,
                                        TrainProgress{.epochs_done = epoch + 1,
                                                      .global_step = global_step,
                                                      .recipe = o.ToJson(),
                                                      .report = report.ToJson(),
                                                      .best_val = stopper.best(),
                                                      .best_epoch = stopper.best_epoch(),
                                                      .epochs_without_improvement = stopper.epochs_without_improvement()},
                                        best_state));
    }
  }
  if (o.early_stopping_patience > 0 && !best_state.empty()) RestoreState(*model, best_state);
  report.seconds += std::chrono::duration<double>(SteadyClock::now() - run_start).count();
  if (o.amp && scaler.skipped_steps() > 0) {
    Log("train")->info("AMP: {} steps skipped for inf/NaN gradients; final loss scale {}", scaler.skipped_steps(),
                       scaler.scale());
  }
  // Quantization, evaluation and model files work on CPU models.
  QG_RETURN_IF_ERROR(TorchCall("moving the model back to cpu", [&] { model->to(torch::kCPU); }));
  model->eval();
  return report;
}

}  // namespace qg::train
