// ConsoleProgress: a TrainObserver that draws a progress bar per epoch with
// loss, accuracy, images per second and learning rate, and logs each epoch.
#pragma once

#include <memory>

#include "core/base/progress.h"
#include "core/train/train_observer.h"

namespace qg::train {

class ConsoleProgress final : public TrainObserver {
 public:
  void OnEpochBegin(int64_t epoch, int64_t epochs, int64_t steps_in_epoch) override;
  void OnStep(const StepStats& stats) override;
  void OnEpochEnd(const EpochStats& stats) override;

 private:
  std::unique_ptr<ProgressBar> bar_;
  StepStats last_;
};

}  // namespace qg::train
