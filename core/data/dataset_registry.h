// Opens datasets by name. Known names: fashion-mnist, mnist, cifar10,
// image-folder, synthetic. An unknown name is InvalidArgument listing them;
// missing or damaged files are NotFound/Corruption naming the file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/data/dataset.h"

namespace qg::data {

struct DatasetSpec {
  std::string name = "fashion-mnist";
  std::string dir;             // empty: the dataset's default location
  int64_t image_size = 224;    // image-folder: side of the center crop
  int64_t synthetic_train = 2048;
  int64_t synthetic_test = 512;
  int64_t synthetic_channels = 1;
  int64_t synthetic_size = 28;
  int64_t synthetic_classes = 10;
  uint64_t seed = 0;           // synthetic data only
  // A model's own input normalization (an imported model trained elsewhere):
  // per-channel mean and std on the [0, 1] scale; empty: the dataset's.
  std::vector<float> mean, std;
};

struct DatasetSplits {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> test;
};

std::vector<std::string> KnownDatasets();
// Where a dataset is read from when the spec gives no dir (Debian's
// dataset-fashion-mnist for fashion-mnist).
std::string DefaultDataDir(const std::string& name);
Result<DatasetSplits> OpenDataset(const DatasetSpec& spec);

// Holds out the last `val_size` training examples for validation.
struct TrainValSplit {
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> val;
};
TrainValSplit SplitValidation(std::shared_ptr<const Dataset> train, int64_t val_size);

}  // namespace qg::data
