#include "core/train/overlapped_allreduce.h"

#include "core/base/torch_call.h"

namespace qg::train {

struct OverlappedAllReduce::State {
  struct Bucket {
    std::vector<size_t> params;  // indices into `params`
    std::vector<int64_t> offsets;
    std::vector<torch::Tensor> flat;  // one float32 buffer, as c10d takes it
    std::vector<bool> filled;
    size_t pending = 0;
    c10::intrusive_ptr<c10d::Work> work;
  };

  CollectiveGroup* group = nullptr;
  int world_size = 1;
  int64_t first_bucket_bytes = 0, bucket_bytes = 0;
  bool armed = false;
  bool reused = false;  // a parameter's hook fired twice in one backward
  std::vector<torch::Tensor> params;
  std::vector<std::pair<size_t, size_t>> slot;  // param -> (bucket, position)
  std::vector<Bucket> buckets;
  size_t next_launch = 0;

  void Launch() {
    while (next_launch < buckets.size() && buckets[next_launch].pending == 0) {
      auto& b = buckets[next_launch++];
      b.work = group->allreduce(b.flat);
    }
  }

  void Fill(size_t param, const torch::Tensor& grad) {
    auto [bi, k] = slot[param];
    auto& b = buckets[bi];
    if (b.filled[k]) {  // its bucket may be in flight already: report, do not race
      reused = true;
      return;
    }
    b.flat[0].narrow(0, b.offsets[k], grad.numel()).copy_(grad.reshape(-1));
    b.filled[k] = true;
    if (--b.pending == 0) Launch();
  }
};

OverlappedAllReduce::OverlappedAllReduce(CollectiveGroup* group, int world_size, int64_t bucket_bytes,
                                         int64_t first_bucket_bytes)
    : state_(std::make_shared<State>()) {
  state_->group = group;
  state_->world_size = world_size;
  state_->first_bucket_bytes = first_bucket_bytes;
  state_->bucket_bytes = bucket_bytes;
}

OverlappedAllReduce::~OverlappedAllReduce() = default;

int OverlappedAllReduce::bucket_count() const { return static_cast<int>(state_->buckets.size()); }

void OverlappedAllReduce::Arm(models::GraphModuleImpl& model) {
  auto& s = *state_;
  if (s.params.empty()) {
    s.params = model.parameters();
    s.slot.resize(s.params.size());
    int64_t bytes = 0;
    for (size_t i = s.params.size(); i-- > 0;) {
      const auto& p = s.params[i];
      const int64_t cap = s.buckets.size() <= 1 ? s.first_bucket_bytes : s.bucket_bytes;
      if (s.buckets.empty() || (bytes > 0 && bytes + p.numel() * 4 > cap)) {
        s.buckets.emplace_back();
        bytes = 0;
      }
      auto& b = s.buckets.back();
      s.slot[i] = {s.buckets.size() - 1, b.params.size()};
      b.offsets.push_back(bytes / 4);
      b.params.push_back(i);
      bytes += p.numel() * 4;
    }
    for (auto& b : s.buckets) {
      int64_t numel = 0;
      for (size_t i : b.params) numel += s.params[i].numel();
      b.flat = {torch::zeros({numel}, s.params[0].options().dtype(torch::kFloat32))};  // on the model's device
    }
    std::weak_ptr<State> weak = state_;
    for (size_t i = 0; i < s.params.size(); ++i) {
      s.params[i].register_hook([weak, i](torch::Tensor grad) {
        if (auto st = weak.lock(); st && st->armed) {
          torch::NoGradGuard no_grad;
          st->Fill(i, grad.to(torch::kFloat32));
        }
        return grad;
      });
    }
  }
  for (auto& b : s.buckets) {
    b.filled.assign(b.params.size(), false);
    b.pending = b.params.size();
    b.work.reset();
  }
  s.next_launch = 0;
  s.reused = false;
  s.armed = true;
}

Status OverlappedAllReduce::Finish() {
  auto& s = *state_;
  if (!s.armed) return Error::Internal("gradient all-reduce finished without being armed before backward");
  s.armed = false;
  if (s.reused) {
    return Error::InvalidArgument("a parameter received two gradients in one backward (shared weights): overlapped "
                                  "all-reduce does not support it; set QG_DDP_OVERLAP=0");
  }
  return TorchCall("all-reducing gradients", [&] {
    torch::NoGradGuard no_grad;
    for (auto& b : s.buckets) {  // parameters backward did not reach
      for (size_t k = 0; k < b.params.size(); ++k) {
        if (b.filled[k]) continue;
        const auto& p = s.params[b.params[k]];
        auto part = b.flat[0].narrow(0, b.offsets[k], p.numel());
        if (p.grad().defined()) {
          part.copy_(p.grad().reshape(-1));
        } else {
          part.zero_();
        }
        b.filled[k] = true;
        --b.pending;
      }
    }
    s.Launch();
    for (auto& b : s.buckets) {
      b.work->wait();
      b.flat[0].div_(s.world_size);
      for (size_t k = 0; k < b.params.size(); ++k) {
        auto& p = s.params[b.params[k]];
        if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        p.mutable_grad().copy_(b.flat[0].narrow(0, b.offsets[k], p.numel()).view(p.sizes()));
      }
    }
  });
}

}  // namespace qg::train
