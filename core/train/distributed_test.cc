// Data-parallel training over Gloo: two ranks (child processes of this test
// binary) against one process with the same global batch.
#include "core/train/distributed.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <torch/torch.h>

#include <boost/process.hpp>
#include <fstream>
#include <sstream>

#include "tests/testing/free_port.h"
#include "core/data/dataset_registry.h"
#include "core/models/model_registry.h"
#include "core/train/trainer.h"
#include "tests/testing/temp_dir.h"

namespace qg::train {
namespace {

namespace bp = boost::process;

TrainOptions Recipe() {
  TrainOptions o;
  o.epochs = 1;
  o.max_steps_per_epoch = 20;
  o.batch_size = 64;  // global: 32 per rank with 2 ranks
  o.lr = 0.05;
  o.seed = 3;
  o.val_size = 0;
  o.crop_padding = 0;
  o.horizontal_flip = false;
  return o;
}

std::shared_ptr<const data::Dataset> TrainSet() {
  return data::OpenDataset({.name = "synthetic", .synthetic_train = 2048, .synthetic_test = 64, .seed = 5})->train;
}

models::GraphModule NewModel() {
  // No dropout: its masks depend on how the batch is split.
  return *models::CreateModel("compact_cnn", {.in_channels = 1, .image_size = 28, .num_classes = 10, .dropout = 0}, 0);
}

torch::Tensor FlatWeights(const models::GraphModule& model) {
  std::vector<torch::Tensor> parts;
  for (const auto& t : model->parameters()) parts.push_back(t.detach().contiguous().view(-1));
  for (const auto& t : model->buffers()) parts.push_back(t.detach().to(torch::kFloat32).contiguous().view(-1));
  return torch::cat(parts);
}

// One rank, started by TwoRanksTrainLikeOneProcessWithTheSameGlobalBatch.
TEST(Distributed, DISABLED_RankProcess) {
  const char* out = std::getenv("QG_TEST_DDP_OUT");
  ASSERT_NE(out, nullptr);
  torch::set_num_threads(1);
  auto config = DistributedConfigFromEnv();
  ASSERT_TRUE(config && *config) << "not launched as a rank";
  auto sync = ConnectProcessGroup(**config, "cpu");
  ASSERT_TRUE(sync) << sync.error().ToString();
  auto model = NewModel();
  auto report = Train(model, {.options = Recipe(), .train_set = TrainSet(), .sync = sync->get()});
  ASSERT_TRUE(report) << report.error().ToString();
  torch::save(std::vector<torch::Tensor>{torch::tensor(report->step_losses, torch::kFloat64), FlatWeights(model)},
              out);
}

// Two ranks with gradients all-reduced while backward runs (overlap "1") or
// after it ("0"); the rank logs and their [losses, weights] per rank.
std::vector<std::vector<torch::Tensor>> TrainTwoRanks(const qg::testing::TempDir& dir, const std::string& overlap,
                                                      std::string* log0) {
  const std::string port = std::to_string(qg::testing::FreeLoopbackPort());
  std::vector<bp::child> ranks;
  auto file = [&](int r, const char* ext) { return dir.File("overlap" + overlap + "-rank" + std::to_string(r) + ext); };
  for (int r = 0; r < 2; ++r) {
    auto env = boost::this_process::environment();
    env["QG_RANK"] = std::to_string(r);
    env["QG_WORLD_SIZE"] = "2";
    env["QG_MASTER_PORT"] = port;
    env["QG_DDP_OVERLAP"] = overlap;
    env["QG_TEST_DDP_OUT"] = file(r, ".pt");
    ranks.emplace_back("/proc/self/exe",
                       bp::args({"--gtest_filter=Distributed.DISABLED_RankProcess", "--gtest_also_run_disabled_tests"}),
                       env, (bp::std_out & bp::std_err) > file(r, ".log"));
  }
  for (auto& r : ranks) {
    r.wait();
    EXPECT_EQ(r.exit_code(), 0);
  }
  std::stringstream text;
  text << std::ifstream(file(0, ".log")).rdbuf();
  *log0 = text.str();
  std::vector<std::vector<torch::Tensor>> out(2);
  for (int r = 0; r < 2; ++r) torch::load(out[r], file(r, ".pt"));
  return out;
}

TEST(Distributed, TwoRanksTrainLikeOneProcessWithTheSameGlobalBatch) {
  qg::testing::TempDir dir;
  torch::set_num_threads(1);
  auto reference = NewModel();
  auto one = Train(reference, {.options = Recipe(), .train_set = TrainSet()});
  ASSERT_TRUE(one) << one.error().ToString();
  ASSERT_EQ(one->step_losses.size(), 20u);

  std::string overlapped_log, after_log;
  const auto overlapped = TrainTwoRanks(dir, "1", &overlapped_log);
  const auto after = TrainTwoRanks(dir, "0", &after_log);
  ASSERT_EQ(overlapped[0].size(), 2u) << overlapped_log;
  ASSERT_EQ(after[0].size(), 2u) << after_log;
  // compact_cnn's 1.6 MB of gradients: a 1 MB first bucket goes out while
  // backward still computes the rest.
  EXPECT_NE(overlapped_log.find("2 buckets overlapped with backward"), std::string::npos) << overlapped_log;
  EXPECT_NE(after_log.find("after backward"), std::string::npos) << after_log;
  const auto& rank0 = overlapped[0];
  ASSERT_EQ(rank0[0].numel(), 20);
  for (int step = 0; step < 20; ++step) {
    EXPECT_NEAR(rank0[0][step].item<double>(), one->step_losses[step], 1e-4) << "step " << step;
  }
  EXPECT_TRUE(torch::equal(rank0[1], overlapped[1][1])) << "the ranks' final weights differ";
  // Bucketing changes which elements travel together, not what is summed.
  EXPECT_TRUE(torch::equal(rank0[1], after[0][1])) << "overlapped and after-backward all-reduce disagree";
  EXPECT_TRUE(torch::equal(rank0[0], after[0][0]));
  // Close to the one-process weights, not equal: per-rank partial sums are
  // added in another order, and 20 momentum steps carry float32 rounding to
  // about 3e-3 (measured) on weights of order 0.1-1.
  EXPECT_LT((rank0[1] - FlatWeights(reference)).abs().max().item<double>(), 1e-2);
}

TEST(Distributed, ConfigComesFromTheLauncherEnvironment) {
  for (const char* v : {"QG_RANK", "QG_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "SLURM_PROCID",
                        "SLURM_NTASKS", "QG_MASTER_ADDR", "QG_MASTER_PORT"}) {
    unsetenv(v);
  }
  EXPECT_FALSE(*DistributedConfigFromEnv());  // one process
  setenv("QG_RANK", "0", 1);
  setenv("QG_WORLD_SIZE", "1", 1);
  setenv("QG_LOCAL_RANK", "3", 1);
  auto alone = DistributedConfigFromEnv();
  ASSERT_TRUE(alone && *alone) << "quantgrid's own variables ask for a group, even of one (NCCL on one GPU)";
  EXPECT_EQ((*alone)->local_rank, 3);
  unsetenv("QG_RANK");
  unsetenv("QG_WORLD_SIZE");
  unsetenv("QG_LOCAL_RANK");
  setenv("OMPI_COMM_WORLD_RANK", "1", 1);
  setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  auto mpi = DistributedConfigFromEnv();
  ASSERT_TRUE(mpi && *mpi);
  EXPECT_EQ((*mpi)->launcher, "mpirun");
  EXPECT_EQ((*mpi)->rank, 1);
  EXPECT_EQ((*mpi)->world_size, 2);
  // The port every rank derives from the job id stays below the kernel's
  // ephemeral ports (32768 up), which any outgoing connection may hold.
  for (int job = 0; job < 200; ++job) {
    setenv("PMIX_NAMESPACE", fmt::format("prterun-node-{}@1", job).c_str(), 1);
    const int port = (*DistributedConfigFromEnv())->master_port;
    EXPECT_GE(port, 20000);
    EXPECT_LT(port, 32000) << "job " << job;
  }
  unsetenv("PMIX_NAMESPACE");
  setenv("OMPI_COMM_WORLD_RANK", "2", 1);
  EXPECT_EQ(DistributedConfigFromEnv().error().code, ErrorCode::kInvalidArgument);
  unsetenv("OMPI_COMM_WORLD_RANK");
  unsetenv("OMPI_COMM_WORLD_SIZE");
  setenv("SLURM_PROCID", "0", 1);
  setenv("SLURM_NTASKS", "4", 1);
  setenv("QG_MASTER_PORT", "31234", 1);
  auto slurm = DistributedConfigFromEnv();
  ASSERT_TRUE(slurm && *slurm);
  EXPECT_EQ((*slurm)->launcher, "slurm");
  EXPECT_EQ((*slurm)->world_size, 4);
  EXPECT_EQ((*slurm)->master_port, 31234);
  unsetenv("SLURM_PROCID");
  unsetenv("SLURM_NTASKS");
  unsetenv("QG_MASTER_PORT");
}

// Under AMP, convs hand SyncBatchNorm FP16 activations. Its statistics must be
// summed in FP32: in FP16 a batch's element count per channel (here 256 x 28
// x 28 = 200704) is past FP16's largest value, 65504, and LibTorch refuses
// it (seen on a GPU). Checked on a Gloo group of one, against FP32 batch norm.
TEST(Distributed, SyncBatchNormSumsHalfActivationsInFloat) {
  DistributedConfig config{.master_port = qg::testing::FreeLoopbackPort(), .launcher = "quantgrid"};
  auto sync = ConnectProcessGroup(config, "cpu");
  ASSERT_TRUE(sync) << sync.error().ToString();
  models::ForwardHooks* hooks = (*sync)->TrainingHooks();
  ASSERT_NE(hooks, nullptr);

  torch::manual_seed(5);
  torch::nn::BatchNorm2d bn(2);
  bn->train();
  const auto x = (torch::randn({256, 2, 28, 28}) * 0.5 + 0.25).to(torch::kHalf);
  const auto y = hooks->BatchNorm(0, models::Node{}, *bn, x);
  ASSERT_EQ(y.scalar_type(), torch::kHalf);
  const auto expected = torch::batch_norm(x.to(torch::kFloat), bn->weight, bn->bias, {}, {}, /*training=*/true, 0.1,
                                          1e-5, /*cudnn_enabled=*/false);
  EXPECT_TRUE(torch::allclose(y.to(torch::kFloat), expected, 2e-3, 2e-3))
      << (y.to(torch::kFloat) - expected).abs().max().item<float>();
  EXPECT_NEAR(bn->running_mean.mean().item<double>(), 0.1 * 0.25, 2e-3);  // momentum 0.1 of the batch mean
}

}  // namespace
}  // namespace qg::train
