// OverlappedAllReduce: the gradient all-reduce of data-parallel training,
// started bucket by bucket while backward is still running (what PyTorch's
// DDP Reducer does, which LibTorch does not expose to C++).
//
// Parameters go into buckets in reverse registration order, the order in
// which backward produces their gradients: a small first bucket (1 MB, so
// the last layers' all-reduce starts early), then `bucket_bytes` each. A hook
// on each parameter copies its gradient into its bucket's flat buffer; when a
// bucket is full it is all-reduced asynchronously. Buckets are launched
// strictly in index order, so every rank issues the same collectives in the
// same order. Finish() launches what backward did not fill (parameters with
// no gradient this step count as zero), waits, and writes the mean back into
// each parameter's .grad.
//
// Hooks hold only a weak reference: a model that outlives this object trains
// on without it. A parameter used twice in one forward (shared weights) is
// an error: its bucket may be on the wire before its second gradient comes.
#pragma once

#include "core/train/collective_group.h"
#include <torch/torch.h>

#include <memory>

#include "core/base/result.h"
#include "core/models/graph_module.h"

namespace qg::train {

class OverlappedAllReduce {
 public:
  OverlappedAllReduce(CollectiveGroup* group, int world_size, int64_t bucket_bytes,
                      int64_t first_bucket_bytes = 1 << 20);
  ~OverlappedAllReduce();

  // Before loss.backward(): the first call builds the buckets and hooks.
  void Arm(models::GraphModuleImpl& model);
  // After backward: every parameter's .grad is the mean over ranks.
  Status Finish();

  int bucket_count() const;  // 0 until the first Arm()

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace qg::train
