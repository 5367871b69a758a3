#include "core/train/console_progress.h"

#include <fmt/format.h>

namespace qg::train {

void ConsoleProgress::OnEpochBegin(int64_t epoch, int64_t epochs, int64_t steps_in_epoch) {
  bar_ = std::make_unique<ProgressBar>(fmt::format("epoch {}/{}", epoch + 1, epochs), steps_in_epoch);
}

void ConsoleProgress::OnStep(const StepStats& s) {
  last_ = s;
  if (bar_) {
    bar_->Update(s.step, fmt::format("loss {:.4f} acc {:.2f}% {:.0f} img/s lr {:.4f}", s.loss, s.accuracy,
                                     s.images_per_second, s.lr));
  }
}

void ConsoleProgress::OnEpochEnd(const EpochStats& s) {
  if (!bar_) return;
  std::string extra = fmt::format("loss {:.4f} acc {:.2f}% {:.0f} img/s", s.train_loss, s.train_accuracy,
                                  s.images_per_second);
  if (s.val_accuracy >= 0) extra += fmt::format(" val {:.2f}%", s.val_accuracy);
  bar_->Finish(extra);
  bar_.reset();
}

}  // namespace qg::train
