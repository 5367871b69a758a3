// Dataset: a labelled image collection the loaders draw batches from.
//
// Images travel as uint8 NCHW tensors until the loader normalizes them, so a
// dataset in memory costs one byte per pixel (Fashion-MNIST train: 47 MB).
// Fetch() may fail (an image-folder file that will not decode) and names the
// file in its Error. Implementations are safe for concurrent Fetch() calls:
// the loader's prefetch thread calls them while the trainer runs.
#pragma once

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/base/result.h"
#include "core/data/labeled_images.h"

namespace qg::data {

struct DatasetInfo {
  std::string name;  // "fashion-mnist", "cifar10", "image-folder", "synthetic"
  int64_t channels = 0;
  int64_t height = 0;
  int64_t width = 0;
  int64_t num_classes = 0;
  std::vector<std::string> class_names;
  std::vector<float> mean;  // per channel, on the [0,1] scale
  std::vector<float> std;
};

// A batch as it leaves a Dataset: uint8 images [B,C,H,W] and int64 labels [B].
// After the loader it holds float images, normalized.
struct Batch {
  torch::Tensor images;
  torch::Tensor labels;
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual const DatasetInfo& Info() const = 0;
  virtual int64_t Size() const = 0;
  // The examples at `indices` (each in [0, Size())), in that order.
  virtual Result<Batch> Fetch(const std::vector<int64_t>& indices) const = 0;
  // All labels, in index order (for class counts and stratification).
  virtual torch::Tensor Labels() const = 0;
};

// A dataset fully decoded in memory.
class InMemoryDataset final : public Dataset {
 public:
  InMemoryDataset(DatasetInfo info, LabeledImages images);
  const DatasetInfo& Info() const override { return info_; }
  int64_t Size() const override { return images_.size(0); }
  Result<Batch> Fetch(const std::vector<int64_t>& indices) const override;
  torch::Tensor Labels() const override { return labels_; }

 private:
  DatasetInfo info_;
  torch::Tensor images_;  // uint8 [N,C,H,W]
  torch::Tensor labels_;  // int64 [N]
};

// Another dataset with the normalization a model expects instead of its own
// (a model trained elsewhere brings its mean and std).
class RenormalizedDataset final : public Dataset {
 public:
  RenormalizedDataset(std::shared_ptr<const Dataset> base, std::vector<float> mean, std::vector<float> std)
      : base_(std::move(base)), info_(base_->Info()) {
    info_.mean = std::move(mean);
    info_.std = std::move(std);
  }
  const DatasetInfo& Info() const override { return info_; }
  int64_t Size() const override { return base_->Size(); }
  Result<Batch> Fetch(const std::vector<int64_t>& indices) const override { return base_->Fetch(indices); }
  torch::Tensor Labels() const override { return base_->Labels(); }

 private:
  std::shared_ptr<const Dataset> base_;
  DatasetInfo info_;
};

// A contiguous slice [begin, end) of another dataset (validation hold-out).
class SubsetDataset final : public Dataset {
 public:
  SubsetDataset(std::shared_ptr<const Dataset> base, int64_t begin, int64_t end);
  const DatasetInfo& Info() const override { return base_->Info(); }
  int64_t Size() const override { return end_ - begin_; }
  Result<Batch> Fetch(const std::vector<int64_t>& indices) const override;
  torch::Tensor Labels() const override { return base_->Labels().slice(0, begin_, end_); }

 private:
  std::shared_ptr<const Dataset> base_;
  int64_t begin_;
  int64_t end_;
};

}  // namespace qg::data
