#include "core/train/trainer.h"

#include <ATen/autocast_mode.h>
#include <torch/version.h>
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

// FP16 autocast for the forward pass (AMP), off again at scope exit.
class AutocastScope {
 public:
  explicit AutocastScope(bool on) : on_(on) {
    if (on_) SetCudaAutocast(true);
  }
  ~AutocastScope() {
    if (!on_) return;
    SetCudaAutocast(false);
    at::autocast::clear_cache();
  }

 private:
  static void SetCudaAutocast(bool on) {
#if TORCH_VERSION_MAJOR >= 2
    at::autocast::set_autocast_enabled(at::kCUDA, on);  // set_enabled is deprecated there
#else
    at::autocast::set_enabled(on);
#endif
  }
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

namespace {

// One training run, from its loaders to the trained model: what it keeps
// between steps and epochs, and one short method per stage.
class TrainingLoop {
 public:
  TrainingLoop(models::GraphModule& model, const TrainRun& run, torch::Device device)
      : model_(model),
        run_(run),
        o_(run.options),
        device_(device),
        rank_(run.sync ? run.sync->rank() : 0),
        world_(run.sync ? run.sync->world_size() : 1),
        stopper_(o_.early_stopping_patience) {}

  // Loaders, schedule, optimizer; resumes from the state file when asked.
  Status Prepare();
  Status RunEpoch(int64_t epoch);
  // Restores the best weights (early stopping) and hands the model back on CPU.
  Result<TrainReport> Finish();

  int64_t start_epoch() const { return start_epoch_; }
  bool stopped() const { return report_.stopped_early; }

 private:
  Status Resume();
  // Forward and backward of one batch; its loss sum, correct count and size.
  Result<std::vector<double>> Step(const data::Batch& batch, double lr, int64_t epoch, int64_t step);
  // Gradients all-reduced (data-parallel), then the optimizer step (skipped
  // by AMP when they overflowed): the sums of every rank.
  Result<std::vector<double>> Apply(std::vector<double> sums);
  Status Validate(int64_t epoch, EpochStats& stats);
  Status Checkpoint(int64_t epoch);

  models::GraphModule& model_;
  const TrainRun& run_;
  const TrainOptions& o_;
  const torch::Device device_;
  const int rank_, world_;
  std::unique_ptr<data::DataLoader> loader_, val_loader_;
  int64_t steps_per_epoch_ = 0;
  CosineSchedule schedule_;
  std::unique_ptr<torch::optim::SGD> optimizer_;
  GradScaler scaler_;  // AMP resumes with a fresh loss scale: it finds its level within a few steps
  EarlyStopping stopper_;
  std::vector<torch::Tensor> best_state_;
  TrainReport report_;
  int64_t start_epoch_ = 0;
  int64_t global_step_ = 0;
  ObserverList observers_;
  models::ForwardHooks* hooks_ = nullptr;
  SteadyClock::time_point run_start_ = SteadyClock::now();
};

Status TrainingLoop::Prepare() {
  if (o_.batch_size % world_ != 0) {
    return Error::InvalidArgument("train.batch_size {} is not divisible by the {} data-parallel ranks", o_.batch_size,
                                  world_);
  }
  auto split = data::SplitValidation(run_.train_set, o_.val_size);
  loader_ = std::make_unique<data::DataLoader>(
      split.train, data::LoaderOptions{.batch_size = o_.batch_size / world_,
                                       .shuffle = true,
                                       .drop_last = world_ > 1,
                                       .seed = o_.seed,
                                       .augment = {.crop_padding = o_.crop_padding, .horizontal_flip = o_.horizontal_flip},
                                       .prefetch = 2,
                                       .rank = rank_,
                                       .world_size = world_});
  if (split.val && rank_ == 0) {
    val_loader_ = std::make_unique<data::DataLoader>(split.val, data::LoaderOptions{.batch_size = 256});
  }
  steps_per_epoch_ = loader_->BatchesPerEpoch();
  if (o_.max_steps_per_epoch > 0) steps_per_epoch_ = std::min(steps_per_epoch_, o_.max_steps_per_epoch);
  if (steps_per_epoch_ == 0) {
    return Error::InvalidArgument("training set of {} examples gives no full batch", loader_->NumExamples());
  }
  schedule_ = CosineSchedule{.base_lr = o_.lr,
                             .min_lr = o_.min_lr,
                             .warmup_steps = static_cast<int64_t>(std::llround(o_.warmup_epochs * steps_per_epoch_)),
                             .total_steps = o_.epochs * steps_per_epoch_};
  QG_RETURN_IF_ERROR(TorchCall("moving the model to " + device_.str(), [&] { model_->to(device_); }));
  optimizer_ = std::make_unique<torch::optim::SGD>(MakeOptimizer(*model_, o_));
  QG_RETURN_IF_ERROR(Resume());
  if (run_.sync) QG_RETURN_IF_ERROR(run_.sync->BroadcastModel(*model_));
  observers_.Add(rank_ == 0 ? run_.observer : nullptr);
  hooks_ = run_.sync ? run_.sync->TrainingHooks() : nullptr;
  if (run_.hooks && hooks_) return Error::InvalidArgument("training hooks and data-parallel hooks cannot be combined");
  if (run_.hooks) hooks_ = run_.hooks;
  run_start_ = SteadyClock::now();
  return OkStatus();
}

Status TrainingLoop::Resume() {
  QG_ASSIGN_OR_RETURN(auto resumed, run_.resume ? LoadTrainState(run_.state_path, *model_, *optimizer_, best_state_)
                                                : Result<std::optional<TrainProgress>>(std::nullopt));
  if (!resumed) {
    // Training randomness (dropout) gets its own stream, independent of how
    // the model was initialised.
    torch::manual_seed(o_.seed * 7919 + 17);
    return OkStatus();
  }
  if (resumed->recipe != o_.ToJson()) {
    return Error::FailedPrecondition("training state '{}' belongs to a different recipe; delete it or drop --resume",
                                     run_.state_path);
  }
  report_ = TrainReport::FromJson(resumed->report);
  report_.resumed = true;
  start_epoch_ = resumed->epochs_done;
  global_step_ = resumed->global_step;
  stopper_.Restore(resumed->best_val, resumed->best_epoch, resumed->epochs_without_improvement);
  Log("train")->info("resuming from '{}' after epoch {}", run_.state_path, start_epoch_);
  return OkStatus();
}

Result<std::vector<double>> TrainingLoop::Step(const data::Batch& batch, double lr, int64_t epoch, int64_t step) {
  return TorchCall(fmt::format("training step {} of epoch {}", step + 1, epoch + 1), [&] {
    SetLearningRate(*optimizer_, lr);
    optimizer_->zero_grad();
    const auto images = batch.images.to(device_, /*non_blocking=*/true);
    const auto labels = batch.labels.to(device_, /*non_blocking=*/true);
    std::vector<torch::Tensor> outputs;
    {
      AutocastScope autocast(o_.amp);
      outputs = model_->ForwardAll(images, hooks_);
    }
    if (o_.amp) {  // the loss in FP32, as autocast would compute it
      for (auto& out : outputs) out = out.defined() ? out.to(torch::kFloat) : out;
    }
    auto loss = Loss(outputs, labels, o_.label_smoothing);
    if (run_.sync) run_.sync->BeforeBackward(*model_);
    (o_.amp ? scaler_.Scale(loss) : loss).backward();
    const double n = static_cast<double>(labels.size(0));
    return std::vector<double>{loss.item<double>() * n, outputs[0].argmax(1).eq(labels).sum().item<double>(), n};
  });
}

Result<std::vector<double>> TrainingLoop::Apply(std::vector<double> sums) {
  if (run_.sync) {
    QG_RETURN_IF_ERROR(run_.sync->SynchronizeGradients(*model_));
    QG_ASSIGN_OR_RETURN(sums, run_.sync->AllReduceSum(sums));
  }
  QG_RETURN_IF_ERROR(TorchCall("optimizer step", [&] {
    // With AMP, a step whose gradients overflowed is skipped (every rank sees
    // the same all-reduced gradients, so every rank skips it).
    if (!o_.amp || scaler_.Unscale(model_->parameters())) optimizer_->step();
    if (o_.amp) scaler_.Update();
  }));
  return sums;
}

Status TrainingLoop::RunEpoch(int64_t epoch) {
  model_->train();
  observers_.OnEpochBegin(epoch, o_.epochs, steps_per_epoch_);
  auto batches = loader_->Epoch(epoch);
  const auto epoch_start = SteadyClock::now();
  double loss_sum = 0, correct = 0, seen = 0;
  double lr = schedule_.At(global_step_);
  for (int64_t step = 0; step < steps_per_epoch_; ++step) {
    QG_ASSIGN_OR_RETURN(auto batch, batches->Next());
    if (!batch) break;
    lr = schedule_.At(global_step_);
    QG_ASSIGN_OR_RETURN(auto local, Step(*batch, lr, epoch, step));
    QG_ASSIGN_OR_RETURN(auto sums, Apply(std::move(local)));
    const double step_loss = sums[0] / sums[2];
    if (!std::isfinite(step_loss) || (run_.stop_above_loss > 0 && step_loss > run_.stop_above_loss)) {
      return Error::FailedPrecondition("training diverged at epoch {} step {} (loss {}); lower the learning rate",
                                       epoch + 1, step + 1, step_loss);
    }
    report_.step_losses.push_back(step_loss);
    loss_sum += sums[0];
    correct += sums[1];
    seen += sums[2];
    ++global_step_;
    const double secs = std::chrono::duration<double>(SteadyClock::now() - epoch_start).count();
    observers_.OnStep(StepStats{.epoch = epoch, .step = step + 1, .steps_in_epoch = steps_per_epoch_,
                                .loss = loss_sum / seen, .accuracy = 100.0 * correct / seen,
                                .images_per_second = secs > 0 ? seen / secs : 0, .lr = lr});
  }
  const double secs = std::chrono::duration<double>(SteadyClock::now() - epoch_start).count();
  EpochStats stats{.epoch = epoch, .train_loss = seen ? loss_sum / seen : 0,
                   .train_accuracy = seen ? 100.0 * correct / seen : 0, .lr = lr, .seconds = secs,
                   .images_per_second = secs > 0 ? seen / secs : 0};
  QG_RETURN_IF_ERROR(Validate(epoch, stats));
  report_.epochs.push_back(stats);
  report_.steps = global_step_;
  observers_.OnEpochEnd(stats);
  return Checkpoint(epoch);
}

Status TrainingLoop::Validate(int64_t epoch, EpochStats& stats) {
  if (!val_loader_) return OkStatus();
  models::DeviceModel eval_model(model_, device_);  // the model being trained, where it trains
  QG_ASSIGN_OR_RETURN(auto val, metrics::Evaluate(eval_model, *val_loader_, fmt::format("validate {}", epoch + 1)));
  stats.val_accuracy = val.report.top1;
  if (stopper_.Record(epoch, stats.val_accuracy) && o_.early_stopping_patience > 0) best_state_ = SnapshotState(*model_);
  report_.best_epoch = stopper_.best_epoch();
  report_.best_val_accuracy = stopper_.best();
  if (stopper_.ShouldStop()) {
    report_.stopped_early = true;
    Log("train")->info("early stop after epoch {}: validation top-1 has not improved for {} epochs (best {:.2f} % "
                       "at epoch {})",
                       epoch + 1, o_.early_stopping_patience, stopper_.best(), stopper_.best_epoch() + 1);
  }
  return OkStatus();
}

Status TrainingLoop::Checkpoint(int64_t epoch) {
  if (run_.state_path.empty() || rank_ != 0) return OkStatus();
  return SaveTrainState(run_.state_path, *model_, *optimizer_,
                        TrainProgress{.epochs_done = epoch + 1,
                                      .global_step = global_step_,
                                      .recipe = o_.ToJson(),
                                      .report = report_.ToJson(),
                                      .best_val = stopper_.best(),
                                      .best_epoch = stopper_.best_epoch(),
                                      .epochs_without_improvement = stopper_.epochs_without_improvement()},
                        best_state_);
}

Result<TrainReport> TrainingLoop::Finish() {
  if (o_.early_stopping_patience > 0 && !best_state_.empty()) RestoreState(*model_, best_state_);
  report_.seconds += std::chrono::duration<double>(SteadyClock::now() - run_start_).count();
  if (o_.amp && scaler_.skipped_steps() > 0) {
    Log("train")->info("AMP: {} steps skipped for inf/NaN gradients; final loss scale {}", scaler_.skipped_steps(),
                       scaler_.scale());
  }
  // Quantization, evaluation and model files work on CPU models.
  QG_RETURN_IF_ERROR(TorchCall("moving the model back to cpu", [&] { model_->to(torch::kCPU); }));
  model_->eval();
  return report_;
}

}  // namespace

Result<TrainReport> Train(models::GraphModule& model, const TrainRun& run) {
  QG_ASSIGN_OR_RETURN(const torch::Device device, TrainingDevice(run.options));
  TrainingLoop loop(model, run, device);
  QG_RETURN_IF_ERROR(loop.Prepare());
  for (int64_t epoch = loop.start_epoch(); epoch < run.options.epochs && !loop.stopped(); ++epoch) {
    QG_RETURN_IF_ERROR(loop.RunEpoch(epoch));
  }
  return loop.Finish();
}

}  // namespace qg::train
