#include "cluster/local_cluster.h"

#include <algorithm>

#include "coordinator/protocol/auth.h"
#include "core/base/logging.h"
#include "worker/resource_probe.h"

namespace qg::cluster {

Result<std::unique_ptr<LocalCluster>> LocalCluster::Start(LocalClusterOptions options) {
  std::unique_ptr<LocalCluster> cluster(new LocalCluster());
  auto& c = options.coordinator;
  if (c.token.empty()) c.token = protocol::RandomNonce();
  c.listen = "127.0.0.1:0";
  cluster->token_ = c.token;
  cluster->worker_tls_ = options.worker_tls;
  QG_ASSIGN_OR_RETURN(cluster->coordinator_, coord::Coordinator::Start(c));
  auto* coordinator = cluster->coordinator_.get();
  cluster->coordinator_thread_ = std::thread([coordinator] {
    if (auto s = coordinator->Run(); !s) Log("coordinator")->error("stopped: {}", s.error().ToString());
  });

  const auto machine = worker::ProbeResources();
  const int n = options.workers >= 0 ? options.workers : std::max(1, static_cast<int>(machine.cpus) / 2);
  for (int i = 0; i < n; ++i) {
    protocol::Resources share{.cpus = std::max(2.0, machine.cpus / n), .gpus = n == 1 ? machine.gpus : i < machine.gpus,
                              .memory_mb = machine.memory_mb / n};
    cluster->AddWorker("local-" + std::to_string(i + 1), options.worker_resources.value_or(share));
  }
  return cluster;
}

worker::WorkerClient& LocalCluster::AddWorker(const std::string& name, const protocol::Resources& resources) {
  workers_.push_back(std::make_unique<worker::WorkerClient>(worker::WorkerOptions{
      .coordinator = endpoint(), .token = token_, .tls = worker_tls_, .name = name, .resources = resources, .reconnect = false}));
  auto* w = workers_.back().get();
  worker_threads_.emplace_back([w] {
    if (auto s = w->Run(); !s) Log("worker")->error("{}", s.error().ToString());
  });
  return *w;
}

LocalCluster::~LocalCluster() {
  for (auto& w : workers_) w->Stop();
  for (auto& t : worker_threads_) t.join();
  if (coordinator_) coordinator_->Stop();
  if (coordinator_thread_.joinable()) coordinator_thread_.join();
}

}  // namespace qg::cluster
