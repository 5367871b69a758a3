// GradScaler: dynamic loss scaling for mixed-precision (AMP) training, as
// torch.cuda.amp.GradScaler does it, written with plain tensor ops because
// LibTorch 1.13 has no C++ GradScaler. FP16 gradients underflow without it.
//
//   loss = scaler.Scale(loss); loss.backward(); (all-reduce gradients)
//   if (scaler.Unscale(params)) optimizer.step();   // skipped on inf/NaN
//   scaler.Update();
//
// Update halves the scale after a step with inf/NaN gradients and doubles it
// after `growth_interval` clean steps in a row. Works on any device (the
// tests run it on CPU).
#pragma once

#include <torch/torch.h>

#include <vector>

namespace qg::train {

class GradScaler {
 public:
  struct Options {
    double init_scale = 65536.0;
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int64_t growth_interval = 2000;
  };
  GradScaler() : GradScaler(Options{}) {}
  explicit GradScaler(Options options) : options_(options), scale_(options.init_scale) {}

  torch::Tensor Scale(const torch::Tensor& loss) const { return loss * scale_; }
  // Divides every defined gradient by the scale, in place; false when any
  // is inf or NaN (the step must be skipped).
  bool Unscale(const std::vector<torch::Tensor>& params);
  // Grows or backs off the scale after the last Unscale.
  void Update();

  double scale() const { return scale_; }
  int64_t skipped_steps() const { return skipped_; }

 private:
  Options options_;
  double scale_;
  bool last_finite_ = true;
  int64_t clean_steps_ = 0;
  int64_t skipped_ = 0;
};

}  // namespace qg::train
