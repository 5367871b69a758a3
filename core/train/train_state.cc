#include "core/train/train_state.h"

#include <torch/torch.h>

#include <filesystem>

#include "core/base/files.h"
#include "core/base/torch_call.h"

namespace qg::train {

namespace {
constexpr const char* kProgressKey = "quantgrid_train_progress";
}

Status SaveTrainState(const std::string& path, const models::GraphModuleImpl& model, const torch::optim::SGD& optimizer,
                      const TrainProgress& progress, const std::vector<torch::Tensor>& best_state) {
  const nlohmann::json record{{"epochs_done", progress.epochs_done},
                              {"global_step", progress.global_step},
                              {"recipe", progress.recipe},
                              {"report", progress.report},
                              {"best_val", progress.best_val},
                              {"best_epoch", progress.best_epoch},
                              {"epochs_without_improvement", progress.epochs_without_improvement}};
  std::error_code ec;
  const std::filesystem::path target(path);
  if (target.has_parent_path()) std::filesystem::create_directories(target.parent_path(), ec);
  const std::string tmp = UniqueTempPath(path);  // one per attempt: two writers never share it
  QG_RETURN_IF_ERROR(TorchCall(fmt::format("writing training state '{}'", path), [&] {
    torch::serialize::OutputArchive archive, model_archive, optim_archive, best_archive;
    archive.write(kProgressKey, c10::IValue(record.dump()));
    model.save(model_archive);
    archive.write("model", model_archive);
    optimizer.save(optim_archive);
    archive.write("optimizer", optim_archive);
    for (size_t i = 0; i < best_state.size(); ++i) best_archive.write(std::to_string(i), best_state[i]);
    archive.write("best", best_archive);
    archive.write("generator", at::detail::getDefaultCPUGenerator().get_state());
    archive.save_to(tmp);
  }));
  QG_RETURN_IF_ERROR(CommitTempFile(tmp, path));
  return OkStatus();
}

Result<std::optional<TrainProgress>> LoadTrainState(const std::string& path, models::GraphModuleImpl& model,
                                                    torch::optim::SGD& optimizer,
                                                    std::vector<torch::Tensor>& best_state) {
  std::error_code ec;
  if (path.empty() || !std::filesystem::exists(path, ec)) return std::optional<TrainProgress>();
  auto loaded = TorchCall("", [&]() -> TrainProgress {
    torch::serialize::InputArchive archive, model_archive, optim_archive, best_archive;
    archive.load_from(path);
    c10::IValue record_value;
    archive.read(kProgressKey, record_value);
    const auto record = nlohmann::json::parse(record_value.toStringRef());
    archive.read("model", model_archive);
    model.load(model_archive);
    model.UseChannelsLast();
    archive.read("optimizer", optim_archive);
    optimizer.load(optim_archive);
    best_state.clear();
    archive.read("best", best_archive);
    const size_t best_count = best_archive.keys().size();
    for (size_t i = 0; i < best_count; ++i) {
      torch::Tensor t;
      best_archive.read(std::to_string(i), t);
      best_state.push_back(t);
    }
    torch::Tensor generator_state;
    archive.read("generator", generator_state);
    auto generator = at::detail::getDefaultCPUGenerator();  // shares the global generator's state
    generator.set_state(generator_state);
    return TrainProgress{.epochs_done = record.at("epochs_done"),
                         .global_step = record.at("global_step"),
                         .recipe = record.at("recipe"),
                         .report = record.at("report"),
                         .best_val = record.at("best_val"),
                         .best_epoch = record.at("best_epoch"),
                         .epochs_without_improvement = record.at("epochs_without_improvement")};
  });
  if (!loaded) return Error::Corruption("training state '{}' cannot be read: {}", path, loaded.error().message);
  return std::optional<TrainProgress>(std::move(*loaded));
}

}  // namespace qg::train
