// CoordinatorHarness: a real Coordinator on loopback, on a FakeClock, with no
// workers: tests bring peers that speak the protocol by hand (RawPeer) and
// move time themselves instead of sleeping through leases and heartbeats.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>

#include "coordinator/coordinator.h"
#include "coordinator/protocol/client.h"
#include "coordinator/protocol/messages.h"
#include "core/base/fake_clock.h"
#include "experiments/probe_spec.h"
#include "tests/testing/raw_peer.h"
#include "tests/testing/temp_dir.h"

namespace qg::testing {

inline const std::string kHarnessToken = "test-token-0123456789";

class CoordinatorHarness : public ::testing::Test {
 protected:
  // Defaults: the coordinator ticks every 10 ms of real time; a worker may be
  // silent for 20 s and a lease lives 1 s, both of fake time.
  static coord::CoordinatorOptions DefaultOptions() {
    coord::CoordinatorOptions o;
    o.token = kHarnessToken;
    o.heartbeat_ms = 20;
    o.missed_heartbeats = 1000;
    o.lease_ms = 1000;
    o.retry = {.base_ms = 50, .max_ms = 1000, .jitter = 0};
    return o;
  }

  void Start(coord::CoordinatorOptions o = DefaultOptions()) {
    o.listen = "127.0.0.1:0";
    o.db = dir_.File("c.db");
    o.clock = &clock_;
    auto c = coord::Coordinator::Start(o);
    ASSERT_TRUE(c) << c.error().ToString();
    coordinator_ = std::move(*c);
    thread_ = std::thread([this] { stopped_with_ = coordinator_->Run(); });
  }

  void TearDown() override {
    if (coordinator_) {
      coordinator_->Stop();
      thread_.join();
      EXPECT_TRUE(stopped_with_) << "the coordinator stopped by itself: " << stopped_with_.error().ToString();
    }
  }

  protocol::Endpoint endpoint() const { return {"127.0.0.1", coordinator_->port()}; }

  Result<nlohmann::json> Submit(const nlohmann::json& spec, const std::string& token = kHarnessToken) {
    QG_ASSIGN_OR_RETURN(auto jobs, exp::ExpandProbeSpec(spec));
    return protocol::Request(endpoint(), token, protocol::SubmitMessage(spec["name"], spec, jobs, false));
  }
  nlohmann::json ClusterStatus() {
    auto s = protocol::Request(endpoint(), kHarnessToken, {{"type", "status"}});
    EXPECT_TRUE(s) << s.error().ToString();
    return s ? *s : nlohmann::json::object();
  }
  nlohmann::json Experiment(const std::string& name) {
    const auto status = ClusterStatus();
    for (const auto& e : status["experiments"]) {
      if (e["name"] == name) return e;
    }
    return nlohmann::json::object();
  }
  // Polls (real time, bounded) until `done` holds.
  bool WaitFor(const std::function<bool()>& done, double seconds = 10) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return done();
  }
  // Moves fake time on, then lets the coordinator tick a few times.
  void Advance(std::chrono::milliseconds d) {
    clock_.Advance(d);
    std::this_thread::sleep_for(std::chrono::milliseconds(60));
  }

  // A worker that has said hello (welcome checked).
  std::unique_ptr<RawPeer> Worker(const std::string& name, double cpus = 1,
                                  const std::string& token = kHarnessToken) {
    auto peer = std::make_unique<RawPeer>(endpoint());
    auto welcome = peer->Hello(token, "worker", name, {{"cpus", cpus}});
    EXPECT_TRUE(welcome && (*welcome)["type"] == "welcome") << (welcome ? welcome->dump() : welcome.error().ToString());
    return peer;
  }
  // The worker's answer to a lease: a run for the leased job.
  static nlohmann::json ResultFor(const nlohmann::json& lease) {
    const auto& request = lease["request"];
    return {{"type", "result"},
            {"lease_id", lease["lease_id"]},
            {"job_id", lease["job_id"]},
            {"run", {{"config_hash", request["config_hash"]}, {"kind", request["kind"]}, {"job_key", request["key"]}}}};
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<coord::Coordinator> coordinator_;
  std::thread thread_;
  qg::Status stopped_with_ = OkStatus();
};

}  // namespace qg::testing
