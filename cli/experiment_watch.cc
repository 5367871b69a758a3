#include "cli/experiment_watch.h"

#include <thread>

#include "coordinator/protocol/client.h"
#include "core/base/logging.h"
#include "core/base/progress.h"

namespace qg::cli {

WatchPoll CoordinatorPoll(const protocol::Endpoint& coordinator, const std::string& token,
                          const std::string& experiment, const protocol::TlsContext& tls) {
  return [=]() -> Result<WatchSummary> {
    QG_ASSIGN_OR_RETURN(auto status, protocol::Request(coordinator, token, {{"type", "status"}}, tls));
    const nlohmann::json* mine = nullptr;
    for (const auto& e : status["experiments"]) {
      if (e["name"] == experiment) mine = &e;
    }
    if (mine == nullptr) {
      return Error::NotFound("coordinator {} has no experiment '{}'", coordinator.ToString(), experiment);
    }
    WatchSummary s{.completed = (*mine)["completed"], .running = (*mine)["running"], .pending = (*mine)["pending"],
                   .failed = (*mine)["failed"].get<int>() + (*mine)["cancelled"].get<int>(),
                   .unplaceable = mine->value("unplaceable", 0)};
    for (const auto& f : (*mine)["failures"]) {
      s.failures += (s.failures.empty() ? "" : "; ") + f["key"].get<std::string>() + ": " + f["error"].get<std::string>();
    }
    for (const auto& w : status["workers"]) {
      for (const auto& r : w["running"]) {
        s.work += fmt::format("; {} on {}", r["key"].get<std::string>(), w["name"].get<std::string>());
        if (!r["line"].get<std::string>().empty()) s.work += ": " + r["line"].get<std::string>();
      }
    }
    return s;
  };
}

Result<WatchSummary> WatchUntilDone(const WatchPoll& poll, const WatchOptions& o) {
  auto log = Log("run");
  const auto start = std::chrono::steady_clock::now();
  auto last_print = start - std::chrono::hours(1);
  std::string last_state;
  int first_completed = -1;
  int stuck_polls = 0;
  while (true) {
    QG_ASSIGN_OR_RETURN(WatchSummary s, poll());
    if (first_completed < 0) first_completed = s.completed;
    if (s.running == 0 && s.pending == 0) return s;
    stuck_polls = s.running == 0 && s.pending > 0 && s.unplaceable == s.pending ? stuck_polls + 1 : 0;
    if (o.fail_when_stuck && stuck_polls >= 8) {
      return Error::FailedPrecondition(
          "{} pending job(s) of '{}' ask for more than any worker here offers (see their resources, e.g. gpus)",
          s.pending, o.experiment);
    }
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const int fresh = s.completed - first_completed;
    const std::string eta = fresh > 0 ? ", ETA " + HumanDuration(elapsed / fresh * (s.running + s.pending)) : "";
    const std::string waiting =
        s.unplaceable > 0 ? fmt::format(" ({} wait for a worker with the resources they ask)", s.unplaceable) : "";
    // Printed when the state or a job's output changes (not for a ticking ETA), or every few seconds.
    const std::string state = fmt::format("{} {} {} {} {}", s.completed, s.running, s.pending, s.failed, s.work);
    if (state != last_state || now - last_print > o.quiet_at_most) {
      log->info("'{}': [{} done, {} running, {} pending{}, {} failed{}]{} elapsed {}", o.experiment, s.completed,
                s.running, s.pending, waiting, s.failed, eta, s.work, HumanDuration(elapsed));
      last_state = state;
      last_print = now;
    }
    std::this_thread::sleep_for(o.interval);
  }
}

}  // namespace qg::cli
