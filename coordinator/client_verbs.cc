#include "coordinator/client_verbs.h"

#include <set>

#include "core/base/log_text.h"

namespace qg::coord {

using nlohmann::json;

json ClientVerbs::ErrorReply(const Error& e) {
  json reply = protocol::ErrorMessage(e.message);
  reply["error"] = protocol::ErrorToJson(e);
  return reply;
}

json ClientVerbs::Handle(const protocol::ClientRequest& request) {
  return std::visit(
      [this](const auto& r) -> json {
        using T = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<T, protocol::SubmitRequest>) return Submit(r);
        if constexpr (std::is_same_v<T, protocol::StatusRequest>) return Status();
        if constexpr (std::is_same_v<T, protocol::CancelRequest>) return Cancel(r);
        if constexpr (std::is_same_v<T, protocol::ResultsRequest>) return Results(r);
      },
      request);
}

json ClientVerbs::Submit(const protocol::SubmitRequest& r) {
  auto summary = queue_.Submit(r.name, r.spec, r.jobs, r.force);
  if (!summary) return ErrorReply(summary.error());
  log_->info("experiment '{}' submitted: {} jobs, {} already done", EscapeForLog(r.name), summary->jobs,
             summary->cached);
  return {{"type", "submitted"}, {"experiment_id", summary->experiment_id}, {"jobs", summary->jobs},
          {"cached", summary->cached}};
}

json ClientVerbs::Status() const {
  return {{"type", "status"}, {"experiments", queue_.Summary(workers_.Totals())}, {"workers", workers_.StatusJson()}};
}

json ClientVerbs::Cancel(const protocol::CancelRequest& r) {
  auto revoked = queue_.Cancel(r.experiment);
  if (!revoked) return ErrorReply(revoked.error());
  for (const auto& lease : *revoked) workers_.Revoke(lease);
  log_->info("experiment '{}' cancelled ({} running job(s) revoked)", EscapeForLog(r.experiment), revoked->size());
  return {{"type", "cancelled"}, {"experiment", r.experiment}, {"revoked", revoked->size()}};
}

json ClientVerbs::Results(const protocol::ResultsRequest& r) {
  auto outcome = queue_.Outcomes(r.experiment);
  if (!outcome) return ErrorReply(outcome.error());
  const std::set<std::string> wanted(r.documents.begin(), r.documents.end());
  json runs = json::array(), failed = json::array();
  for (auto& run : outcome->runs) {
    std::erase_if(run.documents, [&](const auto& d) { return !wanted.count(d.first); });
    run.result = json::object();  // the job's whole report: large, and in the documents already
    runs.push_back(run.ToJson());
  }
  for (const auto& [key, error] : outcome->failed) failed.push_back({{"key", key}, {"error", error}});
  return {{"type", "results"}, {"runs", std::move(runs)}, {"failed", std::move(failed)}};
}

}  // namespace qg::coord
