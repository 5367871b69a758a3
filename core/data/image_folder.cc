#include "core/data/image_folder.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/data/image_decode.h"

namespace qg::data {

namespace fs = std::filesystem;

namespace {

bool IsImageFile(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp";
}

}  // namespace

Result<std::shared_ptr<ImageFolderDataset>> ImageFolderDataset::Open(const std::string& root, int image_size) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return Error::NotFound("image folder '{}' does not exist", root);
  std::vector<std::string> classes;
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    if (entry.is_directory()) classes.push_back(entry.path().filename().string());
  }
  std::sort(classes.begin(), classes.end());
  std::shared_ptr<ImageFolderDataset> ds(new ImageFolderDataset());
  std::vector<int64_t> labels;
  for (size_t c = 0; c < classes.size(); ++c) {
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(fs::path(root) / classes[c], ec)) {
      if (entry.is_regular_file() && IsImageFile(entry.path())) files.push_back(entry.path().string());
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      ds->files_.push_back(std::move(f));
      labels.push_back(static_cast<int64_t>(c));
    }
  }
  if (classes.empty() || ds->files_.empty()) {
    return Error::InvalidArgument("image folder '{}' has no class sub-folders with .jpg/.jpeg/.png/.bmp images",
                                  root);
  }
  ds->image_size_ = image_size;
  ds->labels_ = torch::tensor(labels, torch::kInt64);
  ds->info_ = DatasetInfo{.name = "image-folder",
                          .channels = 3,
                          .height = image_size,
                          .width = image_size,
                          .num_classes = static_cast<int64_t>(classes.size()),
                          .class_names = classes,
                          .mean = {0.485f, 0.456f, 0.406f},
                          .std = {0.229f, 0.224f, 0.225f}};
  return ds;
}

Result<Batch> ImageFolderDataset::Fetch(const std::vector<int64_t>& indices) const {
  const int64_t n = static_cast<int64_t>(indices.size());
  auto images = torch::empty({n, 3, image_size_, image_size_}, torch::kUInt8);
  const int resize_to = static_cast<int>(std::lround(image_size_ / 0.875));
  for (int64_t i = 0; i < n; ++i) {
    QG_ASSIGN_OR_RETURN(std::vector<uint8_t> chw, DecodeResizeCrop(files_[indices[i]], resize_to, image_size_));
    std::memcpy(images[i].data_ptr<uint8_t>(), chw.data(), chw.size());
  }
  const auto idx = torch::tensor(indices, torch::kInt64);
  return Batch{images, labels_.index_select(0, idx)};
}

}  // namespace qg::data
