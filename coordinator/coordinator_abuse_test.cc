// What a hostile peer can send the coordinator, before and after it proves
// the token. Each test would crash, exhaust or mislead the coordinator before
// the typed, bounded protocol; now the peer gets an error and loses its own
// connection, and the coordinator keeps serving (the harness checks at the end
// that it never stopped by itself).
#include <gtest/gtest.h>

#include "coordinator/protocol/framing.h"
#include "core/base/config_hash.h"
#include "storage/sqlite_result_store.h"
#include "tests/testing/coordinator_harness.h"

namespace qg::coord {
namespace {

using nlohmann::json;
using qg::testing::kHarnessToken;
using qg::testing::RawPeer;

std::string Frame(const std::string& payload) {
  const auto n = static_cast<uint32_t>(payload.size());
  return std::string{static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                     static_cast<char>(n)} +
         payload;
}

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

class CoordinatorAbuseTest : public qg::testing::CoordinatorHarness {
 protected:
  // Still serving: a client gets its status.
  void ExpectServing() { EXPECT_TRUE(ClusterStatus().contains("experiments")); }
};

TEST_F(CoordinatorAbuseTest, JsonNestedDeepBeforeOrAfterLoginIsRefusedUnparsed) {
  Start();
  {  // 200k levels in a hello: over the pre-authentication frame limit anyway
    RawPeer peer(endpoint());
    peer.Challenge();
    peer.WriteRaw(Frame(R"({"type":"hello","protocol":)" + Nested(200000) + "}"));
    EXPECT_TRUE(peer.Closed());
  }
  {  // 30k levels fit a pre-auth frame: the depth limit refuses them before parsing
    RawPeer peer(endpoint());
    peer.Challenge();
    peer.WriteRaw(Frame(R"({"type":"hello","protocol":)" + Nested(30000) + "}"));
    EXPECT_TRUE(peer.Closed());
  }
  {  // and after login, 200k levels in a result of an authenticated worker
    auto w = Worker("deep");
    w->WriteRaw(Frame(R"({"type":"result","lease_id":"x","job_id":1,"run":)" + Nested(200000) + "}"));
    EXPECT_TRUE(w->Closed());
  }
  ExpectServing();
}

TEST_F(CoordinatorAbuseTest, AHeaderClaimingMoreThanThePreAuthLimitIsRefusedAtOnce) {
  Start();
  RawPeer peer(endpoint());
  peer.Challenge();
  peer.WriteRaw(std::string{0x00, 0x10, 0x00, 0x00});  // 1 MiB announced before any hello
  EXPECT_TRUE(peer.Closed(2000));
  ExpectServing();
}

// Every message kind with one field swapped for a wrong type, sent by a peer
// of the role that may send that kind: error reply, that connection closed.
TEST_F(CoordinatorAbuseTest, WrongTypedFieldsInEveryMessageKindCloseOnlyThatConnection) {
  Start();
  const json job{{"key", "noop/0"}, {"kind", "noop"}, {"config", {{"index", 0}}},
                 {"config_hash", ConfigHash(json{{"index", 0}})}};
  const std::vector<std::tuple<std::string, json, std::string>> cases{
      {"worker", {{"type", "heartbeat"}, {"running", 5}}, "heartbeat.running"},
      {"worker", {{"type", "heartbeat"}, {"running", {1, 2}}}, "heartbeat.running[0]"},
      {"worker", {{"type", "log"}, {"lease_id", json::array()}, {"line", "x"}}, "log.lease_id"},
      {"worker", {{"type", "log"}, {"lease_id", "l"}, {"line", 7}}, "log.line"},
      {"worker", {{"type", "result"}, {"lease_id", 1}, {"job_id", 1}, {"run", json::object()}}, "result.lease_id"},
      {"worker", {{"type", "result"}, {"lease_id", "l"}, {"job_id", "1"}, {"run", json::object()}}, "result.job_id"},
      {"worker", {{"type", "result"}, {"lease_id", "l"}, {"job_id", 1}, {"error", {{"code", 3}}}}, "result.error.code"},
      {"worker", {{"type", "result"}, {"lease_id", "l"}, {"job_id", -1}, {"run", json::object()}}, "result.job_id"},
      {"client", {{"type", "cancel"}, {"experiment", 1}}, "cancel.experiment"},
      {"client", {{"type", "submit"}, {"name", 1}, {"jobs", json::array()}}, "submit.name"},
      {"client", {{"type", "submit"}, {"name", "e"}, {"jobs", json::array()}, {"force", "yes"}}, "submit.force"},
      {"client", {{"type", "submit"}, {"name", "e"}, {"jobs", {json{{"key", 5}}}}}, "job.key"},
      {"client", {{"type", "submit"}, {"name", "e"}, {"jobs", "all"}}, "submit.jobs"},
      {"client", {{"type", "status"}, {"verbose", true}}, "status"},
      {"worker", {{"type", "submit"}, {"name", "e"}, {"jobs", {job}}}, "unknown message type 'submit'"},
      {"client", {{"type", "result"}, {"lease_id", "l"}}, "unknown request 'result'"},
  };
  int n = 0;
  for (const auto& [role, message, culprit] : cases) {
    RawPeer peer(endpoint());
    auto welcome = peer.Hello(kHarnessToken, role, role + std::to_string(n++));
    ASSERT_TRUE(welcome && (*welcome)["type"] == "welcome");
    peer.Write(message);
    auto reply = peer.ReadWithin(5000);
    if (role == "worker") {  // a worker may be sent a lease first; none are pending here
      ASSERT_TRUE(reply) << message.dump();
    }
    ASSERT_TRUE(reply) << message.dump();
    EXPECT_EQ((*reply)["type"], "error") << message.dump();
    EXPECT_NE((*reply).value("message", "").find(culprit), std::string::npos)
        << message.dump() << " -> " << reply->dump();
    EXPECT_TRUE(peer.Closed()) << message.dump();
  }
  ExpectServing();
}

TEST_F(CoordinatorAbuseTest, AJobIdentityComesFromItsConfigNotFromTheClient) {
  Start();
  const json config{{"experiment", "x"}, {"index", 0}, {"value", 0}};
  for (const std::string& hash : std::vector<std::string>{"../../../etc", "/tmp/elsewhere", std::string(64, 'a')}) {
    const json job{{"key", "noop/0"}, {"kind", "noop"}, {"config", config}, {"config_hash", hash}};
    auto reply = protocol::Request(endpoint(), kHarnessToken, {{"type", "submit"}, {"name", "x"}, {"jobs", {job}}});
    ASSERT_FALSE(reply) << hash;
    EXPECT_NE(reply.error().message.find("config_hash is not the hash of its config"), std::string::npos);
  }
  auto store = *storage::SqliteResultStore::Open(dir_.File("c.db"), SystemClock::Instance(), {.read_only = true});
  EXPECT_FALSE(*store->GetExperiment("x")) << "nothing of a refused submit is stored";
}

TEST_F(CoordinatorAbuseTest, RolesHaveTheirOwnTokensAndVerbs) {
  auto options = DefaultOptions();
  options.token.clear();
  options.worker_token = "worker-token-0123456789";
  options.client_token = "client-token-0123456789";
  Start(options);
  {  // a worker host's token does not make it a client
    RawPeer peer(endpoint());
    auto reply = peer.Hello(options.worker_token, "client", "sneaky");
    EXPECT_EQ((*reply)["type"], "error");
    EXPECT_TRUE(peer.Closed());
  }
  auto status = protocol::Request(endpoint(), options.worker_token, {{"type", "status"}});
  EXPECT_EQ(status.error().code, ErrorCode::kUnauthenticated);
  EXPECT_TRUE(protocol::Request(endpoint(), options.client_token, {{"type", "status"}}));
  auto w = Worker("w", 1, options.worker_token);
  w->Write({{"type", "cancel"}, {"experiment", "anything"}});  // a client's verb, from a worker
  auto reply = w->ReadWithin(5000);
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["type"], "error");
  EXPECT_TRUE(w->Closed());
}

// Two experiments that share a config (a training job, say) must not run it
// twice at once: the second waits and takes the first's result.
TEST_F(CoordinatorAbuseTest, TwoExperimentsSharingAConfigRunItOnce) {
  Start();
  const json config{{"experiment", "shared"}, {"index", 0}, {"value", 7}};
  const json job{{"key", "train/seed0"}, {"kind", "noop"}, {"config", config}, {"config_hash", ConfigHash(config)},
                 {"resources", {{"cpus", 1}}}};
  for (const char* name : {"a", "b"}) {
    ASSERT_TRUE(protocol::Request(endpoint(), kHarnessToken, {{"type", "submit"}, {"name", name}, {"jobs", {job}}}));
  }
  auto w = Worker("w", 4);
  auto first = w->ReadWithin(5000);
  ASSERT_TRUE(first);
  EXPECT_FALSE(w->ReadWithin(300)) << "the same config was leased twice";
  w->Write(ResultFor(*first));
  ASSERT_TRUE(WaitFor([&] { return Experiment("a").value("completed", 0) == 1 && Experiment("b").value("completed", 0) == 1; }));
  EXPECT_FALSE(w->ReadWithin(200)) << "the second experiment took the first's result instead of running";
}

}  // namespace
}  // namespace qg::coord
