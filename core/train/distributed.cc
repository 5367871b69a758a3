#include "core/train/distributed.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include "core/base/build_info.h"
#if QG_WITH_CUDA
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/version.h>
#include <torch/torch.h>

#include <cstdlib>
#include <functional>

#include "core/base/cuda_check.h"
#include "core/base/logging.h"
#include "core/base/torch_call.h"
#include "core/train/overlapped_allreduce.h"

namespace qg::train {
namespace {

std::optional<std::string> Env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::optional<std::string>(v) : std::nullopt;
}

Result<int> EnvInt(const char* name, const std::string& text) {
  try {
    size_t used = 0;
    const int v = std::stoi(text, &used);
    if (used == text.size()) return v;
  } catch (const std::exception&) {
  }
  return Error::InvalidArgument("${}='{}' is not an integer", name, text);
}

// Sums a tensor over ranks, and its gradient likewise on the way back: what
// SyncBatchNorm's statistics need.
class DifferentiableAllReduce : public torch::autograd::Function<DifferentiableAllReduce> {
 public:
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, torch::Tensor x, int64_t group) {
    ctx->saved_data["group"] = group;
    return Sum(x, group);
  }
  static torch::autograd::tensor_list backward(torch::autograd::AutogradContext* ctx,
                                               torch::autograd::tensor_list grads) {
    return {Sum(grads[0], ctx->saved_data["group"].toInt()), torch::Tensor()};
  }

 private:
  static torch::Tensor Sum(const torch::Tensor& x, int64_t group) {
    std::vector<torch::Tensor> t{x.detach().clone().contiguous()};
    reinterpret_cast<CollectiveGroup*>(group)->allreduce(t)->wait();
    return t[0];
  }
};

class SyncBatchNormHooks final : public models::ForwardHooks {
 public:
  explicit SyncBatchNormHooks(CollectiveGroup* group) : group_(group) {}

  torch::Tensor BatchNorm(int node, const models::Node& n, torch::nn::BatchNorm2dImpl& bn,
                          const torch::Tensor& x) override {
    if (!bn.is_training()) return bn.forward(x);
    // Statistics in FP32 whatever autocast made x: in FP16 a batch's element
    // count (256 x 28 x 28) and its sums of squares overflow.
    const auto input_type = x.scalar_type();
    const auto xf = x.to(torch::kFloat);
    const int64_t c = xf.size(1);
    const double local_count = static_cast<double>(xf.numel() / c);
    auto stats = torch::cat({xf.sum({0, 2, 3}), (xf * xf).sum({0, 2, 3}),
                             torch::full({1}, local_count, xf.options())});
    stats = DifferentiableAllReduce::apply(stats, reinterpret_cast<int64_t>(group_));
    const auto count = stats[2 * c].detach();
    const auto mean = stats.narrow(0, 0, c) / count;
    const auto var = stats.narrow(0, c, c) / count - mean * mean;  // biased, as BN normalises with it
    {
      torch::NoGradGuard no_grad;
      const double m = bn.options.momentum().value_or(0.1);
      const double total = count.item<double>();
      bn.running_mean.mul_(1 - m).add_(mean.detach() * m);
      bn.running_var.mul_(1 - m).add_(var.detach() * (total / std::max(1.0, total - 1)) * m);
      bn.num_batches_tracked.add_(1);
    }
    const auto scale = bn.weight * torch::rsqrt(var + bn.options.eps());
    const auto shift = bn.bias - mean * scale;
    return (xf * scale.view({1, c, 1, 1}) + shift.view({1, c, 1, 1})).to(input_type);
  }

 private:
  CollectiveGroup* group_;
};

// GradientSync over any c10d process group; tensors live on `device`.
class C10dGradientSync final : public GradientSync {
 public:
  C10dGradientSync(const DistributedConfig& config, c10::intrusive_ptr<c10d::Store> store,
                   c10::intrusive_ptr<CollectiveGroup> group, torch::Device device)
      : config_(config), store_(std::move(store)), group_(std::move(group)), device_(device) {
    if (config_.sync_batchnorm) hooks_ = std::make_unique<SyncBatchNormHooks>(group_.get());
    if (config_.overlap_backward) {
      overlap_ = std::make_unique<OverlappedAllReduce>(group_.get(), config_.world_size, config_.bucket_bytes);
    }
  }

  int rank() const override { return config_.rank; }
  int world_size() const override { return config_.world_size; }

  Status BroadcastModel(models::GraphModuleImpl& model) override {
    std::vector<torch::Tensor> tensors;
    for (auto& p : model.parameters()) tensors.push_back(p);
    for (auto& b : model.buffers()) tensors.push_back(b);
    return TorchCall("broadcasting rank 0's model", [&] {
      torch::NoGradGuard no_grad;
      ForEachBucket(tensors, [&](std::vector<torch::Tensor>& flat) {
        group_->broadcast(flat, c10d::BroadcastOptions{.rootRank = 0})->wait();
      });
    });
  }

  void BeforeBackward(models::GraphModuleImpl& model) override {
    if (overlap_) overlap_->Arm(model);
  }

  Status SynchronizeGradients(models::GraphModuleImpl& model) override {
    const auto start = std::chrono::steady_clock::now();
    auto done = overlap_ ? overlap_->Finish() : AllReduceAfterBackward(model);
    sync_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ++sync_steps_;
    return done;
  }

  ~C10dGradientSync() override {
#if TORCH_VERSION_MAJOR >= 2
    // LibTorch 2's NCCL group warns (and may leak) when destroyed unshut.
    try {
      group_->shutdown();
    } catch (const std::exception& e) {
      Log("train")->warn("rank {}: shutting the process group down: {}", config_.rank, e.what());
    }
#endif
    if (sync_steps_ > 0) {
      if (overlap_) {
        Log("train")->info("rank {}/{}: {} gradient all-reduces, {:.3f} ms per step (waited for after backward; "
                           "{} buckets overlapped with backward)",
                           config_.rank, config_.world_size, sync_steps_, 1000 * sync_seconds_ / sync_steps_,
                           overlap_->bucket_count());
      } else {
        Log("train")->info("rank {}/{}: {} gradient all-reduces, {:.3f} ms per step (after backward, {} MB buckets)",
                           config_.rank, config_.world_size, sync_steps_, 1000 * sync_seconds_ / sync_steps_,
                           config_.bucket_bytes >> 20);
      }
    }
  }

  Result<std::vector<double>> AllReduceSum(std::vector<double> values) override {
    auto t = torch::tensor(values, torch::kFloat64);
    QG_RETURN_IF_ERROR(TorchCall("all-reducing counters", [&] {
      std::vector<torch::Tensor> v{t.to(device_)};
      group_->allreduce(v)->wait();
      t = v[0].to(torch::kCPU);
    }));
    return std::vector<double>(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  }

  models::ForwardHooks* TrainingHooks() override { return hooks_.get(); }

 private:
  Status AllReduceAfterBackward(models::GraphModuleImpl& model) {
    std::vector<torch::Tensor> grads;
    for (auto& p : model.parameters()) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.mutable_grad());
    }
    return TorchCall("all-reducing gradients", [&] {
      ForEachBucket(grads, [&](std::vector<torch::Tensor>& flat) {
        group_->allreduce(flat)->wait();
        flat[0].div_(config_.world_size);
      });
    });
  }

  // Flattens tensors (any memory format) into buckets of about
  // bucket_bytes, runs `op` on each, and copies the results back.
  void ForEachBucket(std::vector<torch::Tensor>& tensors, const std::function<void(std::vector<torch::Tensor>&)>& op) {
    size_t begin = 0;
    while (begin < tensors.size()) {
      size_t end = begin;
      int64_t bytes = 0;
      std::vector<torch::Tensor> parts;
      while (end < tensors.size() && (end == begin || bytes < config_.bucket_bytes)) {
        parts.push_back(tensors[end].detach().contiguous().view(-1).to(torch::kFloat32));
        bytes += tensors[end].numel() * 4;
        ++end;
      }
      std::vector<torch::Tensor> flat{torch::cat(parts)};
      op(flat);
      int64_t offset = 0;
      for (size_t i = begin; i < end; ++i) {
        auto& t = tensors[i];
        t.detach().copy_(flat[0].narrow(0, offset, t.numel()).view(t.sizes()).to(t.scalar_type()));
        offset += t.numel();
      }
      begin = end;
    }
  }

  DistributedConfig config_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<CollectiveGroup> group_;
  torch::Device device_;
  std::unique_ptr<SyncBatchNormHooks> hooks_;
  std::unique_ptr<OverlappedAllReduce> overlap_;
  double sync_seconds_ = 0;
  int64_t sync_steps_ = 0;
};

// Below Linux's ephemeral range (32768-60999 by default): a port in it can be
// any outgoing connection's on the host, and rank 0 then cannot bind it (a CI
// run's mpirun test drew 35574 while other tests were connecting).
int PortFromJobId(const std::string& id) { return 20000 + static_cast<int>(std::hash<std::string>{}(id) % 12000); }

}  // namespace

Result<std::optional<DistributedConfig>> DistributedConfigFromEnv() {
  DistributedConfig c;
  std::optional<std::string> rank, size;
  if ((rank = Env("QG_RANK")) && (size = Env("QG_WORLD_SIZE"))) {
    c.launcher = "quantgrid";
  } else if ((rank = Env("OMPI_COMM_WORLD_RANK")) && (size = Env("OMPI_COMM_WORLD_SIZE"))) {
    c.launcher = "mpirun";
    c.master_port = PortFromJobId(Env("PMIX_NAMESPACE").value_or(Env("OMPI_MCA_orte_hnp_uri").value_or("mpirun")));
  } else if ((rank = Env("SLURM_PROCID")) && (size = Env("SLURM_NTASKS"))) {
    c.launcher = "slurm";
    c.master_addr = Env("SLURM_LAUNCH_NODE_IPADDR").value_or(c.master_addr);
    c.master_port = PortFromJobId(Env("SLURM_JOB_ID").value_or("slurm") + "." + Env("SLURM_STEP_ID").value_or(""));
  } else {
    return std::optional<DistributedConfig>();
  }
  QG_ASSIGN_OR_RETURN(c.rank, EnvInt("rank", *rank));
  QG_ASSIGN_OR_RETURN(c.world_size, EnvInt("world size", *size));
  for (const char* name : {"QG_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID"}) {
    if (auto local = Env(name)) {
      QG_ASSIGN_OR_RETURN(c.local_rank, EnvInt(name, *local));
      break;
    }
  }
  if (auto addr = Env("QG_MASTER_ADDR")) c.master_addr = *addr;
  if (auto overlap = Env("QG_DDP_OVERLAP")) c.overlap_backward = *overlap != "0";
  if (auto port = Env("QG_MASTER_PORT")) {
    QG_ASSIGN_OR_RETURN(c.master_port, EnvInt("QG_MASTER_PORT", *port));
  }
  if (c.world_size < 1 || c.rank < 0 || c.rank >= c.world_size) {
    return Error::InvalidArgument("{} launch: rank {} is outside world size {}", c.launcher, c.rank, c.world_size);
  }
  // A launcher's single task is one process; quantgrid's own variables ask for a group.
  if (c.world_size == 1 && c.launcher != "quantgrid") return std::optional<DistributedConfig>();
  return std::optional<DistributedConfig>(c);
}

Result<std::unique_ptr<GradientSync>> ConnectProcessGroup(const DistributedConfig& config, const std::string& device) {
  if (device != "cpu" && device != "cuda") return Error::InvalidArgument("unknown training device '{}'", device);
  if (device == "cuda") QG_RETURN_IF_ERROR(RequireCuda("NCCL training"));
  Log("train")->info("rank {}/{} ({}) joining the {} group at {}:{}", config.rank, config.world_size, config.launcher,
                     device == "cuda" ? "NCCL" : "Gloo", config.master_addr, config.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(config.master_port);
    options.isServer = config.rank == 0;
    options.numWorkers = config.world_size;
    options.waitWorkers = true;
    options.timeout = std::chrono::seconds(config.timeout_s);
    auto store = c10::make_intrusive<c10d::TCPStore>(config.master_addr, options);
#if QG_WITH_CUDA
    if (device == "cuda") {
      const int gpus = static_cast<int>(torch::cuda::device_count());  // > 0: RequireCuda passed
      const auto gpu = static_cast<c10::DeviceIndex>(config.local_rank % gpus);
      c10::cuda::set_device(gpu);
      auto nccl = c10d::ProcessGroupNCCL::Options::create();
      nccl->timeout = std::chrono::seconds(config.timeout_s);
      auto group = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, config.rank, config.world_size, nccl);
      return std::unique_ptr<GradientSync>(
          new C10dGradientSync(config, store, group, torch::Device(torch::kCUDA, gpu)));
    }
#endif
    auto gloo = c10d::ProcessGroupGloo::Options::create();
    const bool loopback = config.master_addr == "127.0.0.1" || config.master_addr == "localhost";
    gloo->devices.push_back(loopback ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                     : c10d::ProcessGroupGloo::createDefaultDevice());
    gloo->timeout = std::chrono::seconds(config.timeout_s);
    auto group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, config.rank, config.world_size, gloo);
    return std::unique_ptr<GradientSync>(new C10dGradientSync(config, store, group, torch::Device(torch::kCPU)));
  } catch (const std::exception& e) {
    return Error::Unavailable("rank {}/{} could not join the group at {}:{}: {}", config.rank, config.world_size,
                              config.master_addr, config.master_port, e.what());
  }
}

}  // namespace qg::train
