// Attacks on a whole cluster, with real workers: floods of idle connections,
// a worker cut off by the network, mutated frames of every kind, and TLS
// (a wrong CA, what a man in the middle sees).
#include <gtest/gtest.h>

#include <boost/process.hpp>
#include <fstream>
#include <random>

#include "cluster/local_cluster.h"
#include "coordinator/protocol/client.h"
#include "coordinator/protocol/messages.h"
#include "core/base/build_info.h"
#include "core/base/config_hash.h"
#include "experiments/probe_spec.h"
#include "tests/testing/raw_peer.h"
#include "tests/testing/tcp_proxy.h"
#include "tests/testing/temp_dir.h"

namespace qg::cluster {
namespace {

using nlohmann::json;
using qg::testing::RawPeer;
using std::chrono::milliseconds;

const std::string kToken = "test-token-0123456789";

int64_t ResidentMb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) / 1024;
  }
  return -1;
}

bool WaitFor(const std::function<bool()>& done, double seconds = 30) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return done();
}

class Harness {
 public:
  explicit Harness(const std::string& db, LocalClusterOptions options = {}) {
    options.coordinator.token = kToken;
    options.coordinator.db = db;
    options.workers = 0;
    auto c = LocalCluster::Start(options);
    EXPECT_TRUE(c) << c.error().ToString();
    cluster = std::move(*c);
    tls = options.worker_tls;
  }
  protocol::Endpoint endpoint() const { return cluster->endpoint(); }
  Result<json> Submit(const json& spec, const protocol::Endpoint* via = nullptr) {
    QG_ASSIGN_OR_RETURN(auto jobs, exp::ExpandProbeSpec(spec));
    return protocol::Request(via ? *via : endpoint(), kToken, protocol::SubmitMessage(spec["name"], spec, jobs, false),
                             tls);
  }
  json Experiment(const std::string& name) {
    auto status = protocol::Request(endpoint(), kToken, {{"type", "status"}}, tls);
    if (!status) return json::object();
    for (const auto& e : (*status)["experiments"]) {
      if (e["name"] == name) return e;
    }
    return json::object();
  }
  bool Finished(const std::string& name, int completed, double seconds = 60) {
    return WaitFor([&] { return Experiment(name).value("completed", -1) == completed; }, seconds);
  }

  std::unique_ptr<LocalCluster> cluster;
  protocol::TlsContext tls;
};

std::string Header(uint32_t n) {
  return {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
}

// 300 connections that each send only a frame header used to make the
// coordinator allocate 16 MiB apiece (948 MB resident in 2.5 s); now a
// pre-auth frame is capped at 64 KiB, buffers grow with the bytes that
// arrive, idle unauthenticated connections are capped, and a real worker
// still gets in and finishes its jobs.
TEST(ClusterAbuse, AFloodOfHeaderOnlyConnectionsNeitherExhaustsNorLocksOut) {
  qg::testing::TempDir dir;
  Harness h(dir.File("c.db"));
  ASSERT_TRUE(h.Submit({{"name", "work"}, {"probe", {{"kind", "noop"}, {"count", 100}}}}));
  const int64_t before = ResidentMb();
  std::vector<std::unique_ptr<RawPeer>> flood;
  for (int i = 0; i < 300; ++i) {
    flood.push_back(std::make_unique<RawPeer>(h.endpoint()));
    flood.back()->WriteRaw(Header(i % 2 ? 16u << 20 : 60u << 10));
  }
  h.cluster->AddWorker("real", {.cpus = 2});
  EXPECT_TRUE(h.Finished("work", 100)) << h.Experiment("work").dump();
  const int64_t after = ResidentMb();
  EXPECT_LT(after - before, 100) << "the flood took " << after - before << " MB";
#if !defined(__SANITIZE_ADDRESS__)  // ASan's shadow memory alone is ~400 MB resident
  EXPECT_LT(after, 200) << "resident " << after << " MB (before the flood: " << before << " MB)";
#endif
}

// A worker whose link is cut without a close (here a proxy that stops
// forwarding) hears of no renewal, and stops its job before the coordinator
// can give the job to anyone else: it never runs twice at once.
TEST(ClusterAbuse, AWorkerCutOffStopsItsJobBeforeItIsLeasedAgain) {
  qg::testing::TempDir dir;
  LocalClusterOptions options;
  options.coordinator.heartbeat_ms = 100;
  options.coordinator.missed_heartbeats = 100;  // the lease runs out first
  options.coordinator.lease_ms = 2000;
  options.coordinator.retry = {.base_ms = 10, .max_ms = 10};
  Harness h(dir.File("c.db"), options);
  qg::testing::TcpProxy proxy(h.endpoint().port);
  worker::WorkerClient cut({.coordinator = {"127.0.0.1", proxy.port()}, .token = kToken, .name = "cut",
                            .resources = {.cpus = 1}, .reconnect = false});
  std::thread cut_thread([&] { (void)cut.Run(); });
  ASSERT_TRUE(h.Submit({{"name", "slow"}, {"probe", {{"kind", "sleep"}, {"count", 1}, {"seconds", 3.0}}}}));
  ASSERT_TRUE(WaitFor([&] { return cut.jobs_running() == 1; }));
  const auto t0 = std::chrono::steady_clock::now();
  proxy.Freeze();
  auto& rescuer = h.cluster->AddWorker("rescuer", {.cpus = 1});
  const bool stopped_ok = WaitFor([&] { return cut.jobs_running() == 0; }, 10);
  const auto stopped = std::chrono::steady_clock::now();
  const bool regranted_ok = WaitFor([&] { return rescuer.jobs_running() == 1; }, 10);
  const auto regranted = std::chrono::steady_clock::now();
  const bool finished = h.Finished("slow", 1);
  cut.Stop();
  cut_thread.join();
  ASSERT_TRUE(stopped_ok) << "the cut-off worker kept running its job";
  ASSERT_TRUE(regranted_ok) << "the job was never leased again";
  EXPECT_LT(stopped, regranted) << "the job ran on two workers at once";
  EXPECT_LT(std::chrono::duration<double>(stopped - t0).count(), 2.0);
  EXPECT_TRUE(finished);
}

// Structure-aware fuzzing: valid frames of every message kind with one field
// mutated (types swapped, huge strings, deep nesting, negative and huge
// numbers), from peers before and after login; the good worker's jobs all
// complete and the coordinator serves on.
TEST(ClusterAbuse, MutatedFramesOfEveryKindFromEveryPeerChangeNothing) {
  qg::testing::TempDir dir;
  Harness h(dir.File("c.db"));
  h.cluster->AddWorker("good", {.cpus = 1});
  ASSERT_TRUE(h.Submit({{"name", "during"}, {"probe", {{"kind", "noop"}, {"count", 300}}}}));
  std::mt19937 rng(7);
  const json run{{"config_hash", std::string(64, 'a')}, {"kind", "noop"}, {"metrics", {{"top1", 1}}}};
  const std::vector<std::pair<std::string, json>> kinds{
      {"worker", {{"type", "heartbeat"}, {"running", {"l1"}}}},
      {"worker", {{"type", "log"}, {"lease_id", "l1"}, {"line", "x"}}},
      {"worker", {{"type", "result"}, {"lease_id", "l1"}, {"job_id", 1}, {"run", run}}},
      {"worker", {{"type", "result"}, {"lease_id", "l1"}, {"job_id", 1}, {"error", {{"code", "internal"}}}}},
      {"client", {{"type", "status"}}},
      {"client", {{"type", "cancel"}, {"experiment", "nope"}}},
      {"client", {{"type", "submit"}, {"name", "x"}, {"jobs", json::array()}}},
      {"client", {{"type", "results"}, {"experiment", "during"}, {"documents", {"details"}}}},
      {"any", {{"type", "hello"}, {"protocol", 1}, {"role", "worker"}, {"name", "n"}, {"proof", "00"}}},
  };
  auto mutate = [&](json m) {
    std::vector<std::string> keys;
    for (const auto& [k, v] : m.items()) keys.push_back(k);
    const std::string key = keys[rng() % keys.size()];
    // Far past the decoder's depth limit; not deeper, because the test's own
    // nlohmann dump recurses per level (5000 overflowed the stack under ASan).
    const json deep = json::parse(std::string(1000, '[') + std::string(1000, ']'));
    const std::vector<json> values{nullptr, -1, -1e300, 1e300, true, "", std::string(200000, 'x'), json::array(),
                                   json::object(), deep, json{{"type", 1}}, 4294967297u};
    m[key] = values[rng() % values.size()];
    return m;
  };
  int sent = 0;
  for (int round = 0; round < 300; ++round) {
    const auto& [role, message] = kinds[rng() % kinds.size()];
    RawPeer peer(h.endpoint());
    const bool login = role != "any" && rng() % 3 != 0;
    if (login) {
      auto welcome = peer.Hello(kToken, role, "fuzz-" + std::to_string(round), {{"cpus", 0}});
      ASSERT_TRUE(welcome && (*welcome)["type"] == "welcome") << "a valid login was refused mid-fuzz";
    } else {
      peer.Challenge();
    }
    for (int k = 0; k < 3; ++k, ++sent) peer.Write(mutate(message));
    peer.Close();
  }
  EXPECT_EQ(sent, 900);
  EXPECT_TRUE(h.Finished("during", 300));
  ASSERT_TRUE(h.Submit({{"name", "after"}, {"probe", {{"kind", "noop"}, {"count", 20}}}}));
  EXPECT_TRUE(h.Finished("after", 20));
}

// Certificates for 127.0.0.1 from a CA of the test's own (deploy/tls-certs.sh).
std::string MakeCertificates(const qg::testing::TempDir& dir, const std::string& name) {
  const std::string out = dir.File(name);
  const int rc = boost::process::system(boost::process::search_path("bash"),
                                        std::string(kSourceDir) + "/deploy/tls-certs.sh", out, "127.0.0.1",
                                        boost::process::std_out > boost::process::null);
  EXPECT_EQ(rc, 0) << "deploy/tls-certs.sh failed (is openssl installed?)";
  return out;
}

TEST(ClusterTls, WorkersCheckTheCoordinatorAndTheWireCarriesNoSpecText) {
  qg::testing::TempDir dir;
  const std::string certs = MakeCertificates(dir, "cluster"), other = MakeCertificates(dir, "other");
  LocalClusterOptions options;
  options.coordinator.tls = *protocol::ServerTlsContext(certs + "/coordinator.pem", certs + "/coordinator.key");
  options.worker_tls = *protocol::ClientTlsContext(certs + "/ca.pem");
  options.coordinator.handshake_timeout_ms = 500;  // the plain-TCP client below waits this long
  Harness h(dir.File("c.db"), options);
  // A worker that trusts another CA does not talk to this coordinator.
  worker::WorkerClient stranger({.coordinator = h.endpoint(), .token = kToken,
                                 .tls = *protocol::ClientTlsContext(other + "/ca.pem"), .name = "stranger"});
  auto refused = stranger.Run();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kUnauthenticated) << refused.error().ToString();
  // Plain TCP to a TLS coordinator gets nowhere either (dropped at the handshake timeout).
  EXPECT_FALSE(protocol::Request(h.endpoint(), kToken, {{"type", "status"}}));
  // Through a man in the middle: the spec crosses, but not readably.
  h.cluster->AddWorker("w", {.cpus = 1});
  qg::testing::TcpProxy mitm(h.endpoint().port);
  const protocol::Endpoint via{"127.0.0.1", mitm.port()};
  ASSERT_TRUE(h.Submit({{"name", "secret-study-7f3a"}, {"probe", {{"kind", "noop"}, {"count", 3}}}}, &via));
  EXPECT_TRUE(h.Finished("secret-study-7f3a", 3));
  EXPECT_GT(mitm.Seen().size(), 500u);
  EXPECT_EQ(mitm.Seen().find("secret-study-7f3a"), std::string::npos) << "the spec crossed in the clear";
}

TEST(ClusterTls, WithoutTlsTheWireCarriesTheSpecInTheClear) {  // the control for the test above
  qg::testing::TempDir dir;
  Harness h(dir.File("c.db"));
  qg::testing::TcpProxy mitm(h.endpoint().port);
  const protocol::Endpoint via{"127.0.0.1", mitm.port()};
  ASSERT_TRUE(h.Submit({{"name", "secret-study-7f3a"}, {"probe", {{"kind", "noop"}, {"count", 1}}}}, &via));
  EXPECT_NE(mitm.Seen().find("secret-study-7f3a"), std::string::npos);
}

}  // namespace
}  // namespace qg::cluster
