// quantgrid train: train one model on one dataset, save it, print its row.
#include <fmt/format.h>

#include <memory>

#include "cli/command.h"
#include "core/base/text_table.h"
#include "core/pipeline/torch_runtime.h"
#include "core/pipeline/train_step.h"
#include "core/train/console_progress.h"
#include "core/train/distributed.h"

namespace qg::cli {
namespace {

struct TrainFlags {
  RuntimeFlags runtime;
  pipeline::TrainStepSpec spec;
  bool fresh = false;
};

Status RunTrain(TrainFlags& f) {
  pipeline::ConfigureThreads(f.runtime.threads);
  auto& spec = f.spec;
  if (spec.out_dir.empty()) {
    const std::string model = spec.onnx_path.empty() ? spec.model : "onnx";
    spec.out_dir = fmt::format("runs/train/{}_{}_seed{}", model, spec.dataset.name, spec.recipe.seed);
  }
  spec.resume = !f.fresh;
  QG_ASSIGN_OR_RETURN(train::TrainOptions checked, train::TrainOptions::FromJson(spec.recipe.ToJson(), "flags"));
  (void)checked;
  // Launched as one rank of several (mpirun, srun, QG_RANK/QG_WORLD_SIZE):
  // join the group; rank 0 reports, evaluates and writes the model.
  QG_ASSIGN_OR_RETURN(auto distributed, train::DistributedConfigFromEnv());
  std::unique_ptr<train::GradientSync> sync;
  if (distributed) {
    QG_ASSIGN_OR_RETURN(sync, train::ConnectProcessGroup(*distributed, spec.recipe.device));
  }
  train::ConsoleProgress progress;
  QG_ASSIGN_OR_RETURN(auto result, pipeline::RunTrainStep(spec, &progress, sync.get()));
  if (sync && sync->rank() != 0) return OkStatus();

  TextTable table({"Model", "Dataset", "Params", "Epochs", "Top-1 (%)", "Top-5 (%)", "Size (MB)", "Train (s)"},
                  {true, true});
  table.AddRow({spec.model, spec.dataset.name, fmt::format("{}", result.parameters),
                fmt::format("{}", result.report.epochs.size()), fmt::format("{:.2f}", result.test.top1),
                fmt::format("{:.2f}", result.test.top5), fmt::format("{:.2f}", result.model_bytes / 1e6),
                fmt::format("{:.0f}", result.report.seconds)});
  fmt::print("\n{}\n", table.Render(TableFormat::kMarkdown));
  fmt::print("model   {}\nsha256  {}\n", result.model_path, result.model_sha256);
  return OkStatus();
}

}  // namespace

void AddTrainCommand(CLI::App& app, Action& action) {
  auto flags = std::make_shared<TrainFlags>();
  auto& s = flags->spec;
  auto& r = s.recipe;
  CLI::App* cmd = app.add_subcommand("train", "Train a model on a dataset and save it (FP32)");
  AddRuntimeFlags(*cmd, flags->runtime);
  cmd->add_option("--model", s.model, "compact_cnn, resnet18_cifar, inception_v3")->capture_default_str();
  cmd->add_option("--model-file", s.onnx_path, "an ONNX model to fine-tune from its weights (--epochs 0: import it)");
  AddModelInputFlags(*cmd, s.import);
  cmd->add_option("--dataset", s.dataset.name, "fashion-mnist, mnist, cifar10, image-folder, synthetic")
      ->capture_default_str();
  cmd->add_option("--data-dir", s.dataset.dir, "where the dataset lives (default: its standard place)");
  cmd->add_option("--image-size", s.dataset.image_size, "image-folder crop size")->capture_default_str();
  cmd->add_flag("--aux-logits", s.aux_logits, "inception_v3: train the auxiliary classifier too");
  cmd->add_option("--epochs", r.epochs)->capture_default_str();
  cmd->add_option("--batch-size", r.batch_size)->capture_default_str();
  cmd->add_option("--lr", r.lr, "peak learning rate")->capture_default_str();
  cmd->add_option("--min-lr", r.min_lr)->capture_default_str();
  cmd->add_option("--momentum", r.momentum)->capture_default_str();
  cmd->add_flag("--nesterov", r.nesterov);
  cmd->add_option("--weight-decay", r.weight_decay)->capture_default_str();
  cmd->add_option("--warmup-epochs", r.warmup_epochs)->capture_default_str();
  cmd->add_option("--label-smoothing", r.label_smoothing)->capture_default_str();
  cmd->add_option("--early-stopping-patience", r.early_stopping_patience, "epochs; 0 = off")->capture_default_str();
  cmd->add_option("--val-size", r.val_size, "training images held out for validation")->capture_default_str();
  cmd->add_option("--crop-padding", r.crop_padding, "random crop augmentation padding; 0 = off")->capture_default_str();
  cmd->add_flag("--flip", r.horizontal_flip, "random horizontal flips");
  cmd->add_option("--seed", r.seed)->capture_default_str();
  cmd->add_option("--max-steps-per-epoch", r.max_steps_per_epoch, "cut epochs short (smoke tests)");
  cmd->add_option("--device", r.device, "cpu, or cuda (CUDA LibTorch and a GPU)")->capture_default_str();
  cmd->add_flag("--amp", r.amp, "cuda: mixed precision (FP16 autocast, dynamic loss scaling)");
  cmd->add_option("--out", s.out_dir, "output directory (default runs/train/<model>_<dataset>_seed<seed>)");
  cmd->add_flag("--fresh", flags->fresh, "ignore an existing training state in --out and start over");
  cmd->callback([flags, &action] { action = [flags] { return RunTrain(*flags); }; });
}

}  // namespace qg::cli
