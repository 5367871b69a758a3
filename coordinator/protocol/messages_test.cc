// Typed messages: every kind a peer can send, valid and then with each field
// swapped for every other JSON type. A wrong field is an InvalidArgument
// naming it, never an exception (nlohmann's type_error used to escape the
// handlers and stop the coordinator).
#include "coordinator/protocol/messages.h"

#include <gtest/gtest.h>

#include "coordinator/protocol/framing.h"
#include "core/base/config_hash.h"

namespace qg::protocol {
namespace {

using nlohmann::json;

json ValidJob() {
  const json config{{"experiment", "e"}, {"index", 0}, {"value", 0}};
  return {{"key", "noop/0"}, {"kind", "noop"}, {"config", config}, {"config_hash", ConfigHash(config)},
          {"deps", json::array()}, {"resources", {{"cpus", 1}}}, {"max_attempts", 3}};
}

// One valid message of every kind, and who parses it.
struct Kind {
  std::string name;
  json message;
  std::function<bool(const json&)> parses;
};

std::vector<Kind> Kinds() {
  auto hello = [](const json& m) { return ParseHello(m).has_value(); };
  auto worker = [](const json& m) { return ParseWorkerMessage(m).has_value(); };
  auto client = [](const json& m) { return ParseClientRequest(m).has_value(); };
  return {
      {"hello", {{"type", "hello"}, {"protocol", kProtocolVersion}, {"role", "worker"}, {"name", "w1"},
                 {"proof", "00"}, {"resources", {{"cpus", 2}, {"gpus", 0}, {"memory_mb", 100}, {"cpu", "AMD EPYC"}}}},
       hello},
      {"heartbeat", {{"type", "heartbeat"}, {"running", {"l1", "l2"}}}, worker},
      {"log", {{"type", "log"}, {"lease_id", "l1"}, {"line", "epoch 1"}}, worker},
      {"result", {{"type", "result"}, {"lease_id", "l1"}, {"job_id", 3}, {"run", {{"config_hash", "ab"}}}}, worker},
      {"result error", {{"type", "result"}, {"lease_id", "l1"}, {"job_id", 3},
                        {"error", {{"code", "internal"}, {"message", "boom"}}}}, worker},
      {"submit", {{"type", "submit"}, {"name", "e"}, {"spec", json::object()}, {"jobs", {ValidJob()}},
                  {"force", false}}, client},
      {"status", {{"type", "status"}}, client},
      {"cancel", {{"type", "cancel"}, {"experiment", "e"}}, client},
      {"results", {{"type", "results"}, {"experiment", "e"}, {"documents", {"details"}}}, client},
  };
}

// A value of every JSON type but `like`'s, plus a hostile one of its own.
std::vector<json> OtherTypes(const json& like) {
  std::vector<json> all{nullptr, true, -7, 3.5, "text", json::array({1, "x"}), json::object({{"a", 1}})};
  std::vector<json> out;
  for (auto& v : all) {
    if (v.type() != like.type() && !(v.is_number() && like.is_number())) out.push_back(v);
  }
  if (like.is_string()) out.push_back(std::string(1 << 20, 'x'));  // huge
  if (like.is_number()) out.push_back(-1), out.push_back(1e300);   // negative, huge
  return out;
}

TEST(Messages, EveryValidMessageParses) {
  for (const auto& k : Kinds()) EXPECT_TRUE(k.parses(k.message)) << k.name;
}

TEST(Messages, EveryFieldOfTheWrongTypeIsRefusedWithoutThrowing) {
  int refused = 0, accepted = 0;
  for (const auto& k : Kinds()) {
    std::vector<std::vector<std::string>> paths;
    for (const auto& [field, value] : k.message.items()) {
      if (field == "type") continue;
      paths.push_back({field});
      if (value.is_object()) {
        for (const auto& [inner, _] : value.items()) paths.push_back({field, inner});
      }
    }
    paths.push_back({"jobs", "0", "key"});
    paths.push_back({"jobs", "0", "config_hash"});
    for (const auto& path : paths) {
      json::json_pointer ptr;
      for (const auto& p : path) ptr /= p;
      if (!k.message.contains(ptr)) continue;
      for (const auto& bad : OtherTypes(k.message.at(ptr))) {
        json m = k.message;
        m[ptr] = bad;
        bool ok = false;
        ASSERT_NO_THROW(ok = k.parses(m)) << k.name << " " << ptr.to_string() << " = " << bad.dump().substr(0, 40);
        // A few swaps stay valid (a number where a number is expected, an
        // object for a run's metrics...); none may throw.
        ok ? ++accepted : ++refused;
      }
    }
  }
  EXPECT_GT(refused, 100);
  EXPECT_LT(accepted, refused / 3);
}

TEST(Messages, AResultsRequestAsksForAFewNamedDocumentsAtMost) {
  json ok{{"type", "results"}, {"experiment", "e"}, {"documents", {"details", "confusion"}}};
  ASSERT_TRUE(ParseClientRequest(ok));
  EXPECT_EQ(std::get<ResultsRequest>(*ParseClientRequest(ok)).documents.size(), 2u);
  json many = ok;
  many["documents"] = std::vector<std::string>(17, "details");
  EXPECT_EQ(ParseClientRequest(many).error().message, "results.documents: more than 16");
  json huge = ok;
  huge["documents"] = {std::string(201, 'x')};
  EXPECT_EQ(ParseClientRequest(huge).error().message, "results.documents: a name over 200 characters");
}

TEST(Messages, ErrorsNameTheMessageAndTheField) {
  json cancel{{"type", "cancel"}, {"experiment", 1}};
  EXPECT_EQ(ParseClientRequest(cancel).error().message, "cancel.experiment: must be a string");
  json result{{"type", "result"}, {"lease_id", 5}, {"job_id", 1}, {"run", json::object()}};
  EXPECT_EQ(ParseWorkerMessage(result).error().message, "result.lease_id: must be a string");
  EXPECT_EQ(ParseWorkerMessage({{"type", "steal"}}).error().message, "unknown message type 'steal' from a worker");
  EXPECT_EQ(ParseClientRequest({{"type", "result"}}).error().message, "unknown request 'result'");
  EXPECT_EQ(ParseWorkerMessage({{"type", "log\n[info] forged"}}).error().message,
            "unknown message type 'log\\n[info] forged' from a worker");
}

TEST(Messages, AJobsIdentityIsItsConfigNotWhatTheClientSays) {
  json job = ValidJob();
  job["config_hash"] = "../../etc";
  EXPECT_NE(JobFromJson(job).error().message.find("config_hash is not the hash of its config"), std::string::npos);
  job = ValidJob();
  job["config_hash"] = ConfigHash(json{{"another", "job"}});  // poisoning another job's cached result
  EXPECT_FALSE(JobFromJson(job));
  job = ValidJob();
  job["resources"] = {{"cpus", 1e9}};
  EXPECT_NE(JobFromJson(job).error().message.find("resources.cpus"), std::string::npos);
  EXPECT_TRUE(JobFromJson(ValidJob()));
}

// A worker names its CPU, and a job may ask for the CPU of one of its
// dependencies: names a peer sends, so strings of bounded length, and a job
// can only name a job it depends on.
TEST(Messages, AWorkersCpuAndAJobsSameCpuAsAreBoundedNames) {
  json hello = Kinds()[0].message;
  hello["resources"]["cpu"] = "AMD EPYC (family 25, AVX2, no VNNI)";
  auto parsed = ParseHello(hello);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->resources.cpu, "AMD EPYC (family 25, AVX2, no VNNI)");
  EXPECT_EQ(Resources::FromJson(parsed->resources.ToJson())->cpu, parsed->resources.cpu);
  hello["resources"]["cpu"] = std::string(201, 'x');
  EXPECT_NE(ParseHello(hello).error().message.find("resources.cpu must be a string of at most 200 characters"),
            std::string::npos);
  hello["resources"]["cpu"] = 25;
  EXPECT_FALSE(ParseHello(hello));

  json job = ValidJob();
  job["deps"] = {"quantize/int8"};
  job["resources"]["same_cpu_as"] = "quantize/int8";
  auto ok = JobFromJson(job);
  ASSERT_TRUE(ok);
  EXPECT_EQ(Resources::FromJson(ok->resources)->same_cpu_as, "quantize/int8");
  job["resources"]["same_cpu_as"] = "quantize/other";
  EXPECT_NE(JobFromJson(job).error().message.find(
                "resources.same_cpu_as: 'quantize/other' is not one of the job's dependencies"),
            std::string::npos);
  job["resources"]["same_cpu_as"] = json::array({"quantize/int8"});
  EXPECT_NE(JobFromJson(job).error().message.find("resources.same_cpu_as must be a string"), std::string::npos);
}

}  // namespace
}  // namespace qg::protocol
