#include "coordinator/protocol/messages.h"

#include <algorithm>

#include "coordinator/protocol/framing.h"
#include "core/base/config_hash.h"
#include "core/base/json_fields.h"
#include "core/base/log_text.h"

namespace qg::protocol {

using nlohmann::json;

json Resources::ToJson() const {
  json j = {{"cpus", cpus}, {"gpus", gpus}, {"memory_mb", memory_mb}};
  if (!cpu.empty()) j["cpu"] = cpu;
  if (!same_cpu_as.empty()) j["same_cpu_as"] = same_cpu_as;
  return j;
}

Result<Resources> Resources::FromJson(const json& j) {
  Resources r;
  if (j.is_null()) return r;
  if (!j.is_object()) return Error::InvalidArgument("resources must be an object, got {}", EscapeForLog(j.dump()));
  // Upper bounds: a job asking for a million GPUs is a mistake or an attack,
  // and numbers this size would overflow the bookkeeping.
  const std::pair<const char*, double> kFields[] = {{"cpus", 4096}, {"gpus", 1024}, {"memory_mb", 1 << 30}};
  for (const auto& [field, max] : kFields) {
    if (j.contains(field) && (!j[field].is_number() || !(j[field].get<double>() >= 0) || j[field].get<double>() > max)) {
      return Error::InvalidArgument("resources.{} must be a number in [0, {}], got {}", field, max,
                                    EscapeForLog(j[field].dump()));
    }
  }
  // Names end up in logs: strings, and bounded (a job key may be 1000 characters).
  const std::pair<const char*, size_t> kNames[] = {{"cpu", kMaxNameChars}, {"same_cpu_as", 1000}};
  for (const auto& [field, max] : kNames) {
    if (j.contains(field) && (!j[field].is_string() || j[field].get_ref<const std::string&>().size() > max)) {
      return Error::InvalidArgument("resources.{} must be a string of at most {} characters, got {}", field, max,
                                    EscapeForLog(j[field].dump(), 80));
    }
  }
  r.cpu = j.value("cpu", "");
  r.same_cpu_as = j.value("same_cpu_as", "");
  r.cpus = j.value("cpus", r.cpus);
  r.gpus = static_cast<int>(j.value("gpus", 0.0));
  r.memory_mb = static_cast<int64_t>(j.value("memory_mb", 0.0));
  return r;
}

Resources& Resources::operator-=(const Resources& r) {
  cpus -= r.cpus;
  gpus -= r.gpus;
  memory_mb -= r.memory_mb;
  return *this;
}

Resources& Resources::operator+=(const Resources& r) {
  cpus += r.cpus;
  gpus += r.gpus;
  memory_mb += r.memory_mb;
  return *this;
}

json ErrorMessage(const std::string& message) { return {{"type", "error"}, {"message", message}}; }

json ErrorToJson(const Error& error) {
  return {{"code", std::string(CodeName(error.code))}, {"message", error.message}};
}

Error ErrorFromJson(const json& j) {
  if (!j.is_object()) return Error::Internal("malformed error {}", EscapeForLog(j.dump()));
  const auto code = j.find("code");
  const auto message = j.find("message");
  return Error{CodeFromName(code != j.end() && code->is_string() ? code->get<std::string>() : "internal"),
               message != j.end() && message->is_string() ? message->get<std::string>() : "unknown error"};
}

json JobToJson(const storage::JobRecord& job) {
  return {{"key", job.key},
          {"kind", job.kind},
          {"config", job.config},
          {"config_hash", job.config_hash},
          {"deps", job.deps},
          {"resources", job.resources},
          {"max_attempts", job.max_attempts}};
}

json SubmitMessage(const std::string& name, const json& spec, const std::vector<storage::JobRecord>& jobs,
                   bool force) {
  json list = json::array();
  for (const auto& j : jobs) list.push_back(JobToJson(j));
  return {{"type", "submit"}, {"name", name}, {"spec", spec}, {"jobs", std::move(list)}, {"force", force}};
}

Result<storage::JobRecord> JobFromJson(const json& j) {
  JsonFields f(j, "job");
  QG_RETURN_IF_ERROR(f.CheckObject());
  QG_RETURN_IF_ERROR(f.AllowOnly({"key", "kind", "config", "config_hash", "deps", "resources", "max_attempts"}));
  storage::JobRecord job;
  QG_ASSIGN_OR_RETURN(job.key, f.RequiredString("key"));
  if (job.key.empty() || job.key.size() > 1000) return Error::InvalidArgument("job.key: must be 1 to 1000 characters");
  auto fields = [&]() -> Status {
    QG_ASSIGN_OR_RETURN(job.kind, f.RequiredString("kind"));
    QG_ASSIGN_OR_RETURN(job.config, f.Object("config"));
    QG_ASSIGN_OR_RETURN(job.config_hash, f.RequiredString("config_hash"));
    // The job's identity is its config: a client cannot name another job's
    // result (poisoning the cache) or a folder outside the artifact root.
    if (job.config_hash != ConfigHash(job.config)) {
      return Error::InvalidArgument("config_hash is not the hash of its config");
    }
    QG_ASSIGN_OR_RETURN(job.deps, f.Strings("deps"));
    QG_ASSIGN_OR_RETURN(job.resources, f.Object("resources"));
    QG_ASSIGN_OR_RETURN(int64_t attempts, f.Integer("max_attempts", 3, 1, 100));
    job.max_attempts = static_cast<int>(attempts);
    QG_ASSIGN_OR_RETURN(Resources need, Resources::FromJson(job.resources));
    if (!need.same_cpu_as.empty() && std::find(job.deps.begin(), job.deps.end(), need.same_cpu_as) == job.deps.end()) {
      return Error::InvalidArgument("resources.same_cpu_as: '{}' is not one of the job's dependencies",
                                    EscapeForLog(need.same_cpu_as));
    }
    return OkStatus();
  };
  if (auto ok = fields(); !ok) return ok.error().WithContext("job '" + EscapeForLog(job.key) + "'");
  return job;
}

namespace {

Result<std::string> BoundedString(JsonFields& f, const std::string& key, size_t max, bool required = true) {
  QG_ASSIGN_OR_RETURN(std::string v, required ? f.RequiredString(key) : f.String(key));
  if (v.size() > max) return Error::InvalidArgument("{}: longer than {} characters", f.Field(key), max);
  return v;
}

Result<ResultMessage> ParseResult(JsonFields& f) {
  ResultMessage r;
  QG_ASSIGN_OR_RETURN(r.lease_id, BoundedString(f, "lease_id", kMaxNameChars));
  QG_ASSIGN_OR_RETURN(r.job_id, f.Integer("job_id", 0, 0, INT64_MAX));
  const auto run = f.Raw("run");
  const auto error = f.Raw("error");
  if ((run != nullptr) == (error != nullptr)) return Error::InvalidArgument("result: needs exactly one of run and error");
  if (run) {
    if (!run->is_object()) return Error::InvalidArgument("result.run: must be an object");
    auto record = storage::RunRecord::FromJson(*run);
    if (!record) return Error::InvalidArgument("result.run: {}", record.error().message);
    r.run = std::move(*record);
  } else {
    JsonFields e(*error, "result.error");
    QG_RETURN_IF_ERROR(e.CheckObject());
    QG_RETURN_IF_ERROR(e.AllowOnly({"code", "message"}));
    QG_ASSIGN_OR_RETURN(std::string code, e.String("code", "internal"));
    QG_ASSIGN_OR_RETURN(std::string message, e.String("message", "unknown error"));
    r.error = Error{CodeFromName(code), message};
  }
  return r;
}

Result<WorkerMessage> ParseWorker(JsonFields& f, const std::string& type) {
  if (type == "heartbeat") {
    QG_RETURN_IF_ERROR(f.AllowOnly({"type", "running"}));
    QG_ASSIGN_OR_RETURN(auto running, f.Strings("running"));
    return Heartbeat{std::move(running)};
  }
  if (type == "log") {
    QG_RETURN_IF_ERROR(f.AllowOnly({"type", "lease_id", "line"}));
    LogLine l;
    QG_ASSIGN_OR_RETURN(l.lease_id, BoundedString(f, "lease_id", kMaxNameChars));
    QG_ASSIGN_OR_RETURN(l.line, f.RequiredString("line"));
    if (l.line.size() > kMaxLogLineChars) l.line.resize(kMaxLogLineChars);
    return l;
  }
  if (type == "result") {
    QG_RETURN_IF_ERROR(f.AllowOnly({"type", "lease_id", "job_id", "run", "error"}));
    QG_ASSIGN_OR_RETURN(auto r, ParseResult(f));
    return r;
  }
  return Error::InvalidArgument("unknown message type '{}' from a worker", EscapeForLog(type));
}

Result<ClientRequest> ParseClient(JsonFields& f, const std::string& type, const json& m) {
  if (type == "status") {
    QG_RETURN_IF_ERROR(f.AllowOnly({"type"}));
    return StatusRequest{};
  }
  if (type == "cancel") {
    QG_RETURN_IF_ERROR(f.AllowOnly({"type", "experiment"}));
    QG_ASSIGN_OR_RETURN(auto experiment, BoundedString(f, "experiment", kMaxNameChars));
    return CancelRequest{std::move(experiment)};
  }
  if (type == "results") {
    QG_RETURN_IF_ERROR(f.AllowOnly({"type", "experiment", "documents"}));
    ResultsRequest r;
    QG_ASSIGN_OR_RETURN(r.experiment, BoundedString(f, "experiment", kMaxNameChars));
    QG_ASSIGN_OR_RETURN(r.documents, f.Strings("documents"));
    if (r.documents.size() > kMaxDocumentsPerResults) {
      return Error::InvalidArgument("results.documents: more than {}", kMaxDocumentsPerResults);
    }
    for (const auto& d : r.documents) {
      if (d.size() > kMaxNameChars) return Error::InvalidArgument("results.documents: a name over {} characters", kMaxNameChars);
    }
    return r;
  }
  if (type == "submit") {
    QG_RETURN_IF_ERROR(f.AllowOnly({"type", "name", "spec", "jobs", "force"}));
    SubmitRequest r;
    QG_ASSIGN_OR_RETURN(r.name, BoundedString(f, "name", kMaxNameChars));
    if (r.name.empty()) return Error::InvalidArgument("submit.name: must not be empty");
    QG_ASSIGN_OR_RETURN(r.spec, f.Object("spec"));
    QG_ASSIGN_OR_RETURN(r.force, f.Flag("force", false));
    const auto& jobs = m.contains("jobs") ? m["jobs"] : json();
    if (!jobs.is_array()) return Error::InvalidArgument("submit.jobs: must be a list of jobs");
    if (jobs.size() > kMaxJobsPerSubmit) return Error::InvalidArgument("submit.jobs: more than {}", kMaxJobsPerSubmit);
    f.Raw("jobs");
    for (const auto& j : jobs) {
      QG_ASSIGN_OR_RETURN(auto job, JobFromJson(j));
      r.jobs.push_back(std::move(job));
    }
    return r;
  }
  return Error::InvalidArgument("unknown request '{}'", EscapeForLog(type));
}

}  // namespace

Result<Hello> ParseHello(const json& m) {
  const std::string type = TypeOf(m);
  if (type != "hello") return Error::InvalidArgument("expected a hello, got '{}'", EscapeForLog(type));
  JsonFields f(m, "hello");
  QG_RETURN_IF_ERROR(f.AllowOnly({"type", "protocol", "role", "name", "proof", "resources"}));
  Hello h;
  const auto protocol = f.Raw("protocol");
  if (!protocol || !protocol->is_number_unsigned() || protocol->get<uint64_t>() != kProtocolVersion) {
    return Error::FailedPrecondition("protocol version {} is not {}",
                                     protocol ? EscapeForLog(protocol->dump(), 40) : "(none)", kProtocolVersion);
  }
  h.protocol = kProtocolVersion;
  QG_ASSIGN_OR_RETURN(h.role, f.String("role"));
  if (h.role != "worker" && h.role != "client") return Error::InvalidArgument("role must be 'worker' or 'client'");
  QG_ASSIGN_OR_RETURN(h.name, f.String("name"));
  if (h.name.empty() || h.name.size() > kMaxNameChars) {
    return Error::InvalidArgument("a peer needs a name of 1 to {} characters", kMaxNameChars);
  }
  QG_ASSIGN_OR_RETURN(h.proof, BoundedString(f, "proof", 128, /*required=*/false));
  QG_ASSIGN_OR_RETURN(json resources, f.Object("resources"));
  QG_ASSIGN_OR_RETURN(h.resources, Resources::FromJson(resources));
  return h;
}

Result<WorkerMessage> ParseWorkerMessage(const json& m) {
  const std::string type = TypeOf(m);
  JsonFields f(m, EscapeForLog(type, 40));
  return ParseWorker(f, type);
}

Result<ClientRequest> ParseClientRequest(const json& m) {
  const std::string type = TypeOf(m);
  JsonFields f(m, EscapeForLog(type, 40));
  return ParseClient(f, type, m);
}

}  // namespace qg::protocol
