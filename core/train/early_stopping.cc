#include "core/train/early_stopping.h"

namespace qg::train {

bool EarlyStopping::Record(int64_t epoch, double val_accuracy) {
  if (best_epoch_ < 0 || val_accuracy > best_ + min_delta_) {
    best_ = val_accuracy;
    best_epoch_ = epoch;
    epochs_without_improvement_ = 0;
    return true;
  }
  ++epochs_without_improvement_;
  return false;
}

}  // namespace qg::train
