#include "core/data/data_loader.h"

#include <torch/torch.h>

#include <numeric>

namespace qg::data {

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, LoaderOptions options)
    : dataset_(std::move(dataset)), options_(options) {}

int64_t DataLoader::NumExamples() const {
  const int64_t n = dataset_->Size();
  return options_.limit > 0 ? std::min(n, options_.limit) : n;
}

int64_t DataLoader::BatchesPerEpoch() const {
  const int64_t global = options_.batch_size * options_.world_size;
  const int64_t n = NumExamples();
  return options_.drop_last ? n / global : (n + global - 1) / global;
}

std::vector<int64_t> DataLoader::StepIndices(const std::vector<int64_t>& order, int64_t step) const {
  const int64_t global = options_.batch_size * options_.world_size;
  const int64_t n = static_cast<int64_t>(order.size());
  const int64_t begin = std::min(n, step * global + options_.rank * options_.batch_size);
  const int64_t end = std::min({n, begin + options_.batch_size, (step + 1) * global});
  return std::vector<int64_t>(order.begin() + begin, order.begin() + end);
}

Result<Batch> DataLoader::MakeBatch(const std::vector<int64_t>& indices, int64_t epoch) const {
  QG_ASSIGN_OR_RETURN(Batch raw, dataset_->Fetch(indices));
  const auto& info = dataset_->Info();
  auto images = Augment(raw.images, indices, options_.augment, options_.seed, epoch);
  return Batch{Normalize(images, info.mean, info.std), raw.labels};
}

std::unique_ptr<EpochIterator> DataLoader::Epoch(int64_t epoch) const {
  return std::unique_ptr<EpochIterator>(new EpochIterator(*this, epoch));
}

EpochIterator::EpochIterator(const DataLoader& loader, int64_t epoch)
    : loader_(loader), epoch_(epoch), steps_(loader.BatchesPerEpoch()) {
  const int64_t n = loader.NumExamples();
  if (loader.options_.shuffle) {
    auto gen = at::make_generator<at::CPUGeneratorImpl>(loader.options_.seed * 1000003u + static_cast<uint64_t>(epoch));
    auto perm = torch::randperm(n, gen, torch::kInt64);
    order_.assign(perm.data_ptr<int64_t>(), perm.data_ptr<int64_t>() + n);
  } else {
    order_.resize(static_cast<size_t>(n));
    std::iota(order_.begin(), order_.end(), 0);
  }
  if (loader.options_.prefetch > 0) producer_ = std::thread([this] { Produce(); });
}

EpochIterator::~EpochIterator() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (producer_.joinable()) producer_.join();
}

void EpochIterator::Produce() {
  for (int64_t step = 0; step < steps_; ++step) {
    auto batch = loader_.MakeBatch(loader_.StepIndices(order_, step), epoch_);
    const bool failed = !batch;
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return stop_ || static_cast<int>(ready_.size()) < loader_.options_.prefetch; });
    if (stop_) return;
    ready_.push_back(std::move(batch));
    cv_.notify_all();
    if (failed) break;
  }
  std::lock_guard lock(mu_);
  producer_done_ = true;
  cv_.notify_all();
}

Result<std::optional<Batch>> EpochIterator::Next() {
  if (!producer_.joinable()) {
    if (next_step_ >= steps_) return std::optional<Batch>();
    QG_ASSIGN_OR_RETURN(Batch b, loader_.MakeBatch(loader_.StepIndices(order_, next_step_++), epoch_));
    return std::optional<Batch>(std::move(b));
  }
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return !ready_.empty() || producer_done_; });
  if (ready_.empty()) return std::optional<Batch>();
  auto batch = std::move(ready_.front());
  ready_.pop_front();
  cv_.notify_all();
  if (!batch) return std::move(batch).error();
  return std::optional<Batch>(std::move(*batch));
}

}  // namespace qg::data
