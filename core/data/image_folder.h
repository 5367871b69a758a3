// ImageFolderDataset: ImageNet-style layout, one sub-folder per class
// (root/<class>/<image>.{jpg,jpeg,png,bmp}). Class index = position of the
// folder name in sorted order, as torchvision's ImageFolder. Images decode
// lazily on Fetch (shorter side resized to size/0.875, then center crop), so
// the dataset holds only file names.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/data/dataset.h"

namespace qg::data {

class ImageFolderDataset final : public Dataset {
 public:
  // NotFound when `root` is missing; InvalidArgument when it holds no class
  // folder with images.
  static Result<std::shared_ptr<ImageFolderDataset>> Open(const std::string& root, int image_size);

  const DatasetInfo& Info() const override { return info_; }
  int64_t Size() const override { return static_cast<int64_t>(files_.size()); }
  Result<Batch> Fetch(const std::vector<int64_t>& indices) const override;
  torch::Tensor Labels() const override { return labels_; }

 private:
  ImageFolderDataset() = default;
  DatasetInfo info_;
  std::vector<std::string> files_;
  torch::Tensor labels_;
  int image_size_ = 224;
};

}  // namespace qg::data
