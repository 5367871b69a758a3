// EarlyStopping: stop when validation accuracy has not improved by more than
// min_delta for `patience` consecutive epochs. patience 0 never stops.
#pragma once

#include <cstdint>

namespace qg::train {

class EarlyStopping {
 public:
  explicit EarlyStopping(int64_t patience, double min_delta = 0.0) : patience_(patience), min_delta_(min_delta) {}

  // Records epoch `epoch`'s validation accuracy; true when it is the best so far.
  bool Record(int64_t epoch, double val_accuracy);
  bool ShouldStop() const { return patience_ > 0 && epochs_without_improvement_ >= patience_; }
  double best() const { return best_; }
  int64_t best_epoch() const { return best_epoch_; }

  // For resumable training state.
  int64_t epochs_without_improvement() const { return epochs_without_improvement_; }
  void Restore(double best, int64_t best_epoch, int64_t epochs_without_improvement) {
    best_ = best;
    best_epoch_ = best_epoch;
    epochs_without_improvement_ = epochs_without_improvement;
  }

 private:
  int64_t patience_;
  double min_delta_;
  double best_ = -1.0;
  int64_t best_epoch_ = -1;
  int64_t epochs_without_improvement_ = 0;
};

}  // namespace qg::train
