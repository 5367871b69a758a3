// TrainObserver: how a trainer reports progress without knowing who listens
// (a console progress bar, a worker streaming to the coordinator, a test).
// Three hooks in taskflow's observer shape; all default to nothing.
#pragma once

#include <cstdint>
#include <vector>

namespace qg::train {

struct StepStats {
  int64_t epoch = 0;  // 0-based
  int64_t step = 0;   // within the epoch, 1-based count of finished steps
  int64_t steps_in_epoch = 0;
  double loss = 0;          // running mean over the epoch so far
  double accuracy = 0;      // running top-1 percent over the epoch so far
  double images_per_second = 0;
  double lr = 0;
};

struct EpochStats {
  int64_t epoch = 0;
  double train_loss = 0;
  double train_accuracy = 0;
  double val_accuracy = -1;  // -1 without a validation split
  double lr = 0;             // at the epoch's last step
  double seconds = 0;
  double images_per_second = 0;
};

class TrainObserver {
 public:
  virtual ~TrainObserver() = default;
  virtual void OnEpochBegin(int64_t epoch, int64_t epochs, int64_t steps_in_epoch) {}
  virtual void OnStep(const StepStats& stats) {}
  virtual void OnEpochEnd(const EpochStats& stats) {}
};

// Fans one event out to several observers.
class ObserverList final : public TrainObserver {
 public:
  void Add(TrainObserver* observer) {
    if (observer) observers_.push_back(observer);
  }
  void OnEpochBegin(int64_t epoch, int64_t epochs, int64_t steps) override {
    for (auto* o : observers_) o->OnEpochBegin(epoch, epochs, steps);
  }
  void OnStep(const StepStats& s) override {
    for (auto* o : observers_) o->OnStep(s);
  }
  void OnEpochEnd(const EpochStats& s) override {
    for (auto* o : observers_) o->OnEpochEnd(s);
  }

 private:
  std::vector<TrainObserver*> observers_;
};

}  // namespace qg::train
