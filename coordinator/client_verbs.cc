#include "coordinator/client_verbs.h"

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

}  // namespace qg::coord
