#include "core/metrics/classification.h"

#include <torch/torch.h>

namespace qg::metrics {

ClassificationAccumulator::ClassificationAccumulator(int64_t num_classes)
    : num_classes_(num_classes), confusion_(torch::zeros({num_classes, num_classes}, torch::kInt64)) {}

void ClassificationAccumulator::Add(const torch::Tensor& logits, const torch::Tensor& labels) {
  const auto l = logits.to(torch::kFloat32);
  const auto labels64 = labels.to(torch::kInt64);
  const int64_t k = std::min<int64_t>(5, l.size(1));
  const auto topk = std::get<1>(l.topk(k, 1));
  const auto hits = topk.eq(labels64.unsqueeze(1));
  const auto pred = topk.select(1, 0);
  top1_ += hits.select(1, 0).sum().item<int64_t>();
  top5_ += hits.any(1).sum().item<int64_t>();
  count_ += labels64.size(0);
  confusion_.view(-1).index_add_(0, labels64 * num_classes_ + pred, torch::ones_like(labels64));
}

ClassificationReport ClassificationAccumulator::Report() const {
  ClassificationReport r;
  r.count = count_;
  r.top1 = count_ ? 100.0 * static_cast<double>(top1_) / static_cast<double>(count_) : 0.0;
  r.top5 = count_ ? 100.0 * static_cast<double>(top5_) / static_cast<double>(count_) : 0.0;
  const auto acc = confusion_.accessor<int64_t, 2>();
  for (int64_t t = 0; t < num_classes_; ++t) {
    std::vector<int64_t> row(static_cast<size_t>(num_classes_));
    int64_t total = 0;
    for (int64_t p = 0; p < num_classes_; ++p) {
      row[p] = acc[t][p];
      total += acc[t][p];
    }
    r.per_class_accuracy.push_back(total ? 100.0 * static_cast<double>(acc[t][t]) / static_cast<double>(total) : -1.0);
    r.confusion.push_back(std::move(row));
  }
  return r;
}

nlohmann::json ClassificationReport::ToJson() const {
  return {{"count", count}, {"top1", top1}, {"top5", top5}, {"confusion", confusion},
          {"per_class_accuracy", per_class_accuracy}};
}

}  // namespace qg::metrics
