#include "core/data/dataset.h"

#include <torch/torch.h>

#include "core/base/check.h"

namespace qg::data {

InMemoryDataset::InMemoryDataset(DatasetInfo info, LabeledImages images) : info_(std::move(info)) {
  QG_CHECK(static_cast<int64_t>(images.pixels.size()) == images.count * images.ImageBytes());
  QG_CHECK(static_cast<int64_t>(images.labels.size()) == images.count);
  images_ = torch::from_blob(images.pixels.data(), {images.count, images.channels, images.height, images.width},
                             torch::kUInt8)
                .clone();
  labels_ = torch::from_blob(images.labels.data(), {images.count}, torch::kInt64).clone();
}

Result<Batch> InMemoryDataset::Fetch(const std::vector<int64_t>& indices) const {
  const auto idx = torch::from_blob(const_cast<int64_t*>(indices.data()), {static_cast<int64_t>(indices.size())},
                                    torch::kInt64);
  return Batch{images_.index_select(0, idx), labels_.index_select(0, idx)};
}

SubsetDataset::SubsetDataset(std::shared_ptr<const Dataset> base, int64_t begin, int64_t end)
    : base_(std::move(base)), begin_(begin), end_(end) {
  QG_CHECK(0 <= begin_ && begin_ <= end_ && end_ <= base_->Size());
}

Result<Batch> SubsetDataset::Fetch(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> shifted(indices);
  for (auto& i : shifted) i += begin_;
  return base_->Fetch(shifted);
}

}  // namespace qg::data
