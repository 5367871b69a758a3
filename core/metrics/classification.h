// Classification metrics: top-1, top-5, confusion matrix, per-class accuracy,
// accumulated batch by batch.
#pragma once

#include <torch/types.h>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace qg::metrics {

struct ClassificationReport {
  int64_t count = 0;
  double top1 = 0;  // percent
  double top5 = 0;  // percent
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  std::vector<double> per_class_accuracy;       // percent; -1 for a class with no examples
  std::vector<std::string> class_names;         // the dataset's, where it names them

  nlohmann::json ToJson() const;
};

class ClassificationAccumulator {
 public:
  explicit ClassificationAccumulator(int64_t num_classes);
  // logits [B, classes], labels int64 [B].
  void Add(const torch::Tensor& logits, const torch::Tensor& labels);
  ClassificationReport Report() const;

 private:
  int64_t num_classes_;
  int64_t count_ = 0;
  int64_t top1_ = 0;
  int64_t top5_ = 0;
  torch::Tensor confusion_;  // int64 [classes, classes]
};

}  // namespace qg::metrics
