// The messages of the coordinator protocol (all JSON objects, framed by
// framing.h). The conversation:
//
//   coordinator → peer   challenge {protocol, nonce}
//   peer → coordinator   hello {protocol, role: "worker"|"client", name, proof, resources?}
//   coordinator → peer   welcome {heartbeat_ms, lease_ms}   or   error {message}, then close
//
// then, for a worker:
//   coordinator → worker lease {lease_id, job_id, request (exp::JobRequest), expires_ms, lease_ms}
//                        cancel {lease_id}
//                        renewed {leases: [lease_id...]}   (answers a heartbeat)
//   worker → coordinator heartbeat {running: [lease_id...]}
//                        log {lease_id, line}
//                        result {lease_id, job_id, run (storage::RunRecord) | error {code, message}}
// and for a client (one request, one reply, on the same connection):
//   submit {name, spec, jobs: [job...], force}  → submitted {experiment_id, jobs, cached}
//   status {}                                   → status {experiments: [...], workers: [...]}
//   cancel {experiment}                         → cancelled {jobs}
//   results {experiment, documents: [name...]}  → results {runs: [run...], failed: [{key, error}]}
//                                                 (each completed job's run under the job's key, with its
//                                                 metrics and only the named documents; a tune reads them)
//   any                                         → error {message}
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/base/result.h"
#include "storage/records.h"

namespace qg::protocol {

// What a worker offers, or a job asks for.
struct Resources {
  double cpus = 1;
  int gpus = 0;
  int64_t memory_mb = 0;
  // A worker: the CPU it runs on (CpuDescription(), "" when it did not say).
  std::string cpu;
  // A job: the key of a dependency whose CPU it runs on when a worker of that
  // CPU is connected and fits it, e.g. an export on the CPU that quantized
  // its model (its u8 x s8 kernels and latencies are that CPU's). Not a
  // limit: with no such worker, any worker runs it.
  std::string same_cpu_as;

  nlohmann::json ToJson() const;
  // Missing fields keep their defaults; InvalidArgument for negative or
  // non-numeric numbers and for names that are not short strings.
  static Result<Resources> FromJson(const nlohmann::json& j);
  bool Fits(const Resources& need) const {
    return need.cpus <= cpus + 1e-9 && need.gpus <= gpus && need.memory_mb <= memory_mb;
  }
  Resources& operator-=(const Resources& r);
  Resources& operator+=(const Resources& r);
};

nlohmann::json ErrorMessage(const std::string& message);
// An Error as it travels in a result or reply: {code, message}.
nlohmann::json ErrorToJson(const Error& error);
Error ErrorFromJson(const nlohmann::json& j);

// Jobs travel from client to coordinator in submit messages.
nlohmann::json JobToJson(const storage::JobRecord& job);
Result<storage::JobRecord> JobFromJson(const nlohmann::json& j);
nlohmann::json SubmitMessage(const std::string& name, const nlohmann::json& spec,
                             const std::vector<storage::JobRecord>& jobs, bool force);

// ---- Typed messages: every message a peer sends is checked here, in one
// place, against its kind's schema before anything acts on it. A message
// that fails is InvalidArgument naming its type and field
// ("result.lease_id: must be a string"); the coordinator answers error and
// closes that one connection.

// Bounds on what a peer may send (names end up in logs and folder names).
inline constexpr size_t kMaxNameChars = 200;
inline constexpr size_t kMaxLogLineChars = 4096;
inline constexpr size_t kMaxJobsPerSubmit = 1'000'000;
inline constexpr size_t kMaxDocumentsPerResults = 16;

struct Hello {
  uint32_t protocol = 0;
  std::string role;  // "worker" or "client"
  std::string name;
  std::string proof;
  Resources resources;  // workers
};

struct Heartbeat {
  std::vector<std::string> running;  // lease ids
};
struct LogLine {
  std::string lease_id;
  std::string line;
};
struct ResultMessage {
  std::string lease_id;
  int64_t job_id = 0;
  std::optional<storage::RunRecord> run;  // exactly one of run and error
  std::optional<Error> error;
};
using WorkerMessage = std::variant<Heartbeat, LogLine, ResultMessage>;

struct SubmitRequest {
  std::string name;
  nlohmann::json spec;
  std::vector<storage::JobRecord> jobs;
  bool force = false;
};
struct StatusRequest {};
struct CancelRequest {
  std::string experiment;
};
struct ResultsRequest {
  std::string experiment;
  std::vector<std::string> documents;  // which documents of each run to send (metrics always go)
};
using ClientRequest = std::variant<SubmitRequest, StatusRequest, CancelRequest, ResultsRequest>;

Result<Hello> ParseHello(const nlohmann::json& message);
Result<WorkerMessage> ParseWorkerMessage(const nlohmann::json& message);
Result<ClientRequest> ParseClientRequest(const nlohmann::json& message);

}  // namespace qg::protocol
