// Scheduler benchmarks: a coordinator and 2 workers on loopback (in one
// process, real TCP, real SQLite, the code `quantgrid run` uses).
//   throughput  no-op jobs per second through coordinator + 2 workers (goal >= 2,000/s; with --tls too)
//   sleep       200 x 0.5 s sleep jobs on 2 one-slot workers vs the ideal 50 s (goal <= 2 % overhead)
//   ingest      results stored per second by SqliteResultStore::CompleteJob (goal >= 10,000 rows/s)
// Figures and ratios are printed; nothing is asserted.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "cluster/local_cluster.h"
#include "coordinator/protocol/client.h"
#include "core/base/build_info.h"
#include "core/base/config_hash.h"
#include "core/base/logging.h"
#include "experiments/probe_spec.h"
#include "storage/sqlite_result_store.h"
#include "worker/worker_client.h"

namespace qg::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// TLS for the loopback cluster: certificates from deploy/tls-certs.sh in `dir`.
struct Tls {
  protocol::TlsContext server, client;
};

Tls MakeTls(const std::string& dir) {
  const std::string out = dir + "/tls";
  const std::string command = fmt::format("bash {}/deploy/tls-certs.sh {} 127.0.0.1 > /dev/null", kSourceDir, out);
  if (std::system(command.c_str()) != 0) {
    fmt::print(stderr, "deploy/tls-certs.sh failed (is openssl installed?)\n");
    std::exit(1);
  }
  return {*protocol::ServerTlsContext(out + "/coordinator.pem", out + "/coordinator.key"),
          *protocol::ClientTlsContext(out + "/ca.pem")};
}

struct LoopbackCluster {
  LoopbackCluster(const std::string& db, int workers, double cpus_each, const Tls& with = {}) : tls(with.client) {
    cluster::LocalClusterOptions o;
    o.coordinator.db = db;
    o.coordinator.tls = with.server;
    o.workers = workers;
    o.worker_resources = protocol::Resources{.cpus = cpus_each};
    o.worker_tls = with.client;
    cluster = std::move(*cluster::LocalCluster::Start(o));
  }
  protocol::Endpoint endpoint() const { return cluster->endpoint(); }

  // Submits a probe spec and waits for it; seconds from submit to done.
  double RunProbe(const json& spec, double* submit_seconds) {
    const auto request = protocol::SubmitMessage(spec["name"], spec, *exp::ExpandProbeSpec(spec), false);
    const auto t0 = Clock::now();
    auto reply = protocol::Request(endpoint(), cluster->token(), request, tls);
    if (!reply) {
      fmt::print(stderr, "submit failed: {}\n", reply.error().ToString());
      std::exit(1);
    }
    *submit_seconds = Seconds(t0);
    while (true) {
      auto status = *protocol::Request(endpoint(), cluster->token(), {{"type", "status"}}, tls);
      for (const auto& e : status["experiments"]) {
        if (e["name"] == spec["name"] && e["pending"] == 0 && e["running"] == 0) return Seconds(t0);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  protocol::TlsContext tls;
  std::unique_ptr<cluster::LocalCluster> cluster;
};

void Throughput(const std::string& dir, int jobs, bool tls) {
  LoopbackCluster cluster(dir + "/throughput.db", 2, 4, tls ? MakeTls(dir) : Tls{});
  double submit = 0;
  const double total = cluster.RunProbe({{"name", "noops"}, {"probe", {{"kind", "noop"}, {"count", jobs}}}}, &submit);
  const double scheduling = total - submit;
  fmt::print("throughput{}: {} no-op jobs, 2 workers x 4 slots: submit (store {} jobs) {:.2f} s, run {:.2f} s = "
             "{:.0f} jobs/s (goal 2000: {:.2f}x)\n",
             tls ? " (TLS)" : "", jobs, jobs, submit, scheduling, jobs / scheduling, jobs / scheduling / 2000);
}

void SleepSweep(const std::string& dir, int jobs, double seconds) {
  LoopbackCluster cluster(dir + "/sleep.db", 2, 1);
  double submit = 0;
  const double total = cluster.RunProbe(
      {{"name", "sleepers"}, {"probe", {{"kind", "sleep"}, {"count", jobs}, {"seconds", seconds}}}}, &submit);
  const double ideal = jobs * seconds / 2;
  fmt::print("sleep sweep: {} x {} s on 2 one-slot workers: {:.2f} s vs ideal {:.2f} s: overhead {:.2f} % (goal <= 2 %)\n",
             jobs, seconds, total, ideal, 100 * (total - ideal) / ideal);
}

void Ingest(const std::string& dir, int results) {
  auto store = *storage::SqliteResultStore::Open(dir + "/ingest.db");
  const int64_t e = *store->PutExperiment("ingest", json::object());
  std::vector<storage::JobRecord> jobs;
  for (int i = 0; i < results; ++i) {
    storage::JobRecord j;
    j.key = fmt::format("noop/{}", i);
    j.kind = "noop";
    j.config = {{"i", i}};
    j.config_hash = ConfigHash(j.config);
    jobs.push_back(j);
  }
  (void)store->SyncJobs(e, jobs);
  auto stored = *store->ListJobs(e);
  int64_t rows = 0;
  const auto t0 = Clock::now();
  for (const auto& j : stored) {
    storage::RunRecord run;
    run.config_hash = j.config_hash;
    run.kind = j.kind;
    run.job_key = j.key;
    // A quantization result's shape: a dozen scalars, two documents, one artifact.
    for (const char* m : {"top1", "top5", "size_bytes", "latency.cpu.b1.p50_ms", "latency.cpu.b1.p90_ms",
                          "latency.cpu.b64.p50_ms", "latency.cpu.b64.p90_ms", "output.max_abs", "output.mean_abs",
                          "output.relative_mse", "output.top1_agreement", "speedup"}) {
      run.metrics[m] = 1.0;
    }
    run.documents["layer_mse"] = json::array({1, 2, 3});
    run.documents["confusion"] = json::array({json::array({1, 0}), json::array({0, 1})});
    run.artifacts.push_back({"model_int8", "runs/x.pt", std::string(64, 'a'), 1000});
    if (auto s = store->CompleteJob(j.id, run); !s) {
      fmt::print(stderr, "ingest failed: {}\n", s.error().ToString());
      std::exit(1);
    }
    rows += 1 + static_cast<int64_t>(run.metrics.size() + run.documents.size() + run.artifacts.size()) + 1;
  }
  const double s = Seconds(t0);
  fmt::print("ingest: {} results in {:.2f} s = {:.0f} results/s, {:.0f} rows/s (run + 14 metric rows + artifact + "
             "job update; one transaction each; goal 10000 rows/s: {:.2f}x)\n",
             results, s, results / s, rows / s, rows / s / 10000);
}

}  // namespace
}  // namespace qg::bench

int main(int argc, char** argv) {
  CLI::App app{"quantgrid scheduler benchmarks"};
  int noops = 20000;
  int sleepers = 200;
  double sleep_s = 0.5;
  int results = 5000;
  std::string which = "all";
  std::string dir = "/tmp";
  bool tls = false;
  app.add_option("--which", which, "throughput, sleep, ingest or all")->capture_default_str();
  app.add_option("--noops", noops, "no-op jobs for throughput")->capture_default_str();
  app.add_option("--sleepers", sleepers, "sleep jobs")->capture_default_str();
  app.add_option("--sleep-s", sleep_s, "seconds per sleep job")->capture_default_str();
  app.add_option("--results", results, "results to ingest")->capture_default_str();
  app.add_flag("--tls", tls, "throughput over TLS (certificates from deploy/tls-certs.sh)");
  app.add_option("--dir", dir, "where the benchmark databases go (fresh files)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  qg::InitLogging("warn");
  const std::string work = dir + "/qg-scheduler-bench-" + std::to_string(getpid());
  std::filesystem::create_directories(work);
  if (which == "all" || which == "throughput") qg::bench::Throughput(work, noops, tls);
  if (which == "all" || which == "ingest") qg::bench::Ingest(work, results);
  if (which == "all" || which == "sleep") qg::bench::SleepSweep(work, sleepers, sleep_s);
  std::filesystem::remove_all(work);
  return 0;
}
