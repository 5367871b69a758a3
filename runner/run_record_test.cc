// What a job stores of its latencies: a row timed on a GPU names the GPU,
// not the CPU of the machine it sat in, so that a nightly compare refuses to
// set one GPU's latency against another's.
#include "runner/run_record.h"

#include <gtest/gtest.h>

#include "experiments/report/results.h"

namespace qg::runner {
namespace {

TEST(RunRecord, LatencyTimedOnAGpuNamesTheGpuAsTheMachine) {
  storage::RunRecord run;
  run.cpu_model = "AMD EPYC (family 25, AVX-512, VNNI)";
  run.threads = 16;
  EXPECT_EQ(exp::TimedOn(run), "AMD EPYC (family 25, AVX-512, VNNI), 16 threads");

  metrics::LatencyStats cpu{.batch_size = 1, .p50_ms = 0.2};
  EXPECT_FALSE(cpu.ToJson().contains("device_name")) << "CPU results keep their JSON";
  AddLatency({cpu}, run);
  EXPECT_EQ(exp::TimedOn(run), "AMD EPYC (family 25, AVX-512, VNNI), 16 threads");

  metrics::LatencyStats gpu{.batch_size = 64, .p50_ms = 1.5, .device = "cuda", .device_name = "NVIDIA H200"};
  EXPECT_EQ(metrics::LatencyStats::FromJson(gpu.ToJson()).device_name, "NVIDIA H200");
  AddLatency({gpu}, run);
  EXPECT_EQ(run.metrics.at("latency.cuda.b64.p50_ms"), 1.5);
  EXPECT_EQ(exp::TimedOn(run), "NVIDIA H200 (CUDA)");
  const auto back = storage::RunRecord::FromJson(run.ToJson());
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(exp::TimedOn(*back), "NVIDIA H200 (CUDA)") << "the name travels from worker to coordinator";
}

}  // namespace
}  // namespace qg::runner
