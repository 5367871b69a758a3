// Learning-rate schedule: linear warm-up, then cosine decay to min_lr.
// A pure function of the global step, so a resumed run gets the same rates.
#pragma once

#include <cstdint>

namespace qg::train {

struct CosineSchedule {
  double base_lr = 0.05;
  double min_lr = 0.0;
  int64_t warmup_steps = 0;
  int64_t total_steps = 1;

  // Rate for `step` in [0, total_steps); later steps keep min_lr.
  double At(int64_t step) const;
};

}  // namespace qg::train
