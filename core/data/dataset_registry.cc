#include "core/data/dataset_registry.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <filesystem>

#include "core/data/cifar10_binary.h"
#include "core/data/idx_reader.h"
#include "core/data/image_folder.h"
#include "core/data/synthetic.h"

namespace qg::data {

namespace fs = std::filesystem;

namespace {

// "train-images-idx3-ubyte" with or without ".gz".
Result<std::string> FindIdx(const std::string& dir, const std::string& stem) {
  std::error_code ec;
  for (const auto& candidate : {fs::path(dir) / (stem + ".gz"), fs::path(dir) / stem}) {
    if (fs::exists(candidate, ec)) return candidate.string();
  }
  return Error::NotFound("IDX file '{}' (or '{}.gz') does not exist", (fs::path(dir) / stem).string(), stem);
}

Result<DatasetSplits> OpenIdx(const DatasetSpec& spec, const std::string& dir, DatasetInfo info) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Error::NotFound("{} directory '{}' does not exist{}", spec.name, dir,
                           spec.name == "fashion-mnist" ? " (apt install dataset-fashion-mnist)" : "");
  }
  DatasetSplits splits;
  for (const std::string split : {"train", "t10k"}) {
    QG_ASSIGN_OR_RETURN(std::string images, FindIdx(dir, split + "-images-idx3-ubyte"));
    QG_ASSIGN_OR_RETURN(std::string labels, FindIdx(dir, split + "-labels-idx1-ubyte"));
    QG_ASSIGN_OR_RETURN(LabeledImages data, ReadIdxImagesAndLabels(images, labels, info.num_classes));
    info.height = data.height;
    info.width = data.width;
    auto ds = std::make_shared<InMemoryDataset>(info, std::move(data));
    (split == "train" ? splits.train : splits.test) = std::move(ds);
  }
  return splits;
}

Result<DatasetSplits> OpenCifar10(const std::string& dir) {
  DatasetInfo info{.name = "cifar10",
                   .channels = 3,
                   .height = 32,
                   .width = 32,
                   .num_classes = 10,
                   .class_names = Cifar10ClassNames(dir),
                   .mean = {0.4914f, 0.4822f, 0.4465f},
                   .std = {0.2470f, 0.2435f, 0.2616f}};
  DatasetSplits splits;
  for (const std::string split : {"train", "test"}) {
    QG_ASSIGN_OR_RETURN(auto files, Cifar10SplitFiles(dir, split));
    QG_ASSIGN_OR_RETURN(LabeledImages data, ReadCifar10Files(files));
    auto ds = std::make_shared<InMemoryDataset>(info, std::move(data));
    (split == "train" ? splits.train : splits.test) = std::move(ds);
  }
  return splits;
}

Result<DatasetSplits> OpenImageFolder(const DatasetSpec& spec, const std::string& dir) {
  std::error_code ec;
  const bool has_val = fs::is_directory(fs::path(dir) / "val", ec);
  const std::string test_dir = has_val ? "val" : "test";
  QG_ASSIGN_OR_RETURN(auto train, ImageFolderDataset::Open((fs::path(dir) / "train").string(),
                                                           static_cast<int>(spec.image_size)));
  QG_ASSIGN_OR_RETURN(auto test, ImageFolderDataset::Open((fs::path(dir) / test_dir).string(),
                                                          static_cast<int>(spec.image_size)));
  if (train->Info().class_names != test->Info().class_names) {
    return Error::InvalidArgument("image folder '{}': train and {} have different class folders", dir, test_dir);
  }
  return DatasetSplits{train, test};
}

DatasetSplits MakeSynthetic(const DatasetSpec& spec) {
  SyntheticOptions o{.count = spec.synthetic_train,
                     .channels = spec.synthetic_channels,
                     .height = spec.synthetic_size,
                     .width = spec.synthetic_size,
                     .num_classes = spec.synthetic_classes,
                     .seed = spec.seed,
                     .split_seed = 1};
  DatasetInfo info{.name = "synthetic",
                   .channels = o.channels,
                   .height = o.height,
                   .width = o.width,
                   .num_classes = o.num_classes,
                   .class_names = {},
                   .mean = std::vector<float>(static_cast<size_t>(o.channels), 0.5f),
                   .std = std::vector<float>(static_cast<size_t>(o.channels), 0.25f)};
  for (int64_t c = 0; c < o.num_classes; ++c) info.class_names.push_back(fmt::format("class{}", c));
  DatasetSplits splits;
  splits.train = std::make_shared<InMemoryDataset>(info, MakeSyntheticImages(o));
  o.count = spec.synthetic_test;
  o.split_seed = 2;
  splits.test = std::make_shared<InMemoryDataset>(info, MakeSyntheticImages(o));
  return splits;
}

}  // namespace

std::vector<std::string> KnownDatasets() { return {"fashion-mnist", "mnist", "cifar10", "image-folder", "synthetic"}; }

std::string DefaultDataDir(const std::string& name) {
  if (name == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  if (name == "mnist") return "/usr/share/datasets/mnist";
  if (name == "cifar10") return "data/cifar-10-batches-bin";
  if (name == "image-folder") return "data/imagenet";
  return "";
}

namespace {

Result<DatasetSplits> OpenByName(const DatasetSpec& spec) {
  const std::string dir = spec.dir.empty() ? DefaultDataDir(spec.name) : spec.dir;
  if (spec.name == "fashion-mnist") {
    return OpenIdx(spec, dir,
                   DatasetInfo{.name = "fashion-mnist",
                               .channels = 1,
                               .num_classes = 10,
                               .class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
                                               "Shirt", "Sneaker", "Bag", "Ankle boot"},
                               .mean = {0.2860f},
                               .std = {0.3530f}});
  }
  if (spec.name == "mnist") {
    return OpenIdx(spec, dir,
                   DatasetInfo{.name = "mnist",
                               .channels = 1,
                               .num_classes = 10,
                               .class_names = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"},
                               .mean = {0.1307f},
                               .std = {0.3081f}});
  }
  if (spec.name == "cifar10") return OpenCifar10(dir);
  if (spec.name == "image-folder") return OpenImageFolder(spec, dir);
  if (spec.name == "synthetic") return MakeSynthetic(spec);
  return Error::InvalidArgument("unknown dataset '{}'; known: {}", spec.name, fmt::join(KnownDatasets(), ", "));
}

}  // namespace

Result<DatasetSplits> OpenDataset(const DatasetSpec& spec) {
  QG_ASSIGN_OR_RETURN(DatasetSplits splits, OpenByName(spec));
  if (spec.mean.empty() && spec.std.empty()) return splits;
  const auto channels = static_cast<size_t>(splits.train->Info().channels);
  if (spec.mean.size() != channels || spec.std.size() != channels) {
    return Error::InvalidArgument("dataset '{}' has {} channels; the model's mean and std give {} and {}", spec.name,
                                  channels, spec.mean.size(), spec.std.size());
  }
  splits.train = std::make_shared<RenormalizedDataset>(splits.train, spec.mean, spec.std);
  splits.test = std::make_shared<RenormalizedDataset>(splits.test, spec.mean, spec.std);
  return splits;
}

TrainValSplit SplitValidation(std::shared_ptr<const Dataset> train, int64_t val_size) {
  const int64_t n = train->Size();
  val_size = std::clamp<int64_t>(val_size, 0, n / 2);
  if (val_size == 0) return {train, nullptr};
  return {std::make_shared<SubsetDataset>(train, 0, n - val_size), std::make_shared<SubsetDataset>(train, n - val_size, n)};
}

}  // namespace qg::data
