#include "cli/experiment_watch.h"

#include <chrono>
#include <thread>

#include "coordinator/protocol/client.h"
#include "core/base/logging.h"
#include "core/base/progress.h"

namespace qg::cli {

Result<WatchSummary> WatchExperiment(const protocol::Endpoint& coordinator, const std::string& token,
                                     const std::string& experiment, bool fail_when_stuck) {
  auto log = Log("run");
  const auto start = std::chrono::steady_clock::now();
  auto last_print = start - std::chrono::hours(1);
  std::string last_line;
  int first_completed = -1;
  int stuck_polls = 0;
  while (true) {
    QG_ASSIGN_OR_RETURN(auto status, protocol::Request(coordinator, token, {{"type", "status"}}));
    const nlohmann::json* mine = nullptr;
    for (const auto& e : status["experiments"]) {
      if (e["name"] == experiment) mine = &e;
    }
    if (mine == nullptr) return Error::NotFound("coordinator {} has no experiment '{}'", coordinator.ToString(), experiment);
    const int completed = (*mine)["completed"], running = (*mine)["running"], pending = (*mine)["pending"];
    const int failed = (*mine)["failed"].get<int>() + (*mine)["cancelled"].get<int>();
    if (first_completed < 0) first_completed = completed;
    if (running == 0 && pending == 0) {
      WatchSummary summary{.completed = completed, .failed = failed};
      for (const auto& f : (*mine)["failures"]) {
        summary.failures += (summary.failures.empty() ? "" : "; ") + f["key"].get<std::string>() + ": " + f["error"].get<std::string>();
      }
      return summary;
    }
    const int unplaceable = mine->value("unplaceable", 0);
    stuck_polls = running == 0 && pending > 0 && unplaceable == pending ? stuck_polls + 1 : 0;
    if (fail_when_stuck && stuck_polls >= 8) {
      return Error::FailedPrecondition(
          "{} pending job(s) of '{}' ask for more than any worker here offers (see their resources, e.g. gpus)",
          pending, experiment);
    }
    std::string work;
    for (const auto& w : status["workers"]) {
      for (const auto& r : w["running"]) {
        work += fmt::format("; {} on {}", r["key"].get<std::string>(), w["name"].get<std::string>());
        if (!r["line"].get<std::string>().empty()) work += ": " + r["line"].get<std::string>();
      }
    }
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    const int fresh = completed - first_completed;
    const std::string eta = fresh > 0 ? ", ETA " + HumanDuration(elapsed / fresh * (running + pending)) : "";
    const std::string waiting =
        unplaceable > 0 ? fmt::format(" ({} wait for a worker with the resources they ask)", unplaceable) : "";
    // Printed when the state or a job's output changes (not for a ticking ETA), or every 10 s.
    const std::string state = fmt::format("{} {} {} {} {}", completed, running, pending, failed, work);
    if (state != last_line || now - last_print > std::chrono::seconds(10)) {
      log->info("[{} done, {} running, {} pending{}, {} failed{}]{} elapsed {}", completed, running, pending, waiting,
                failed, eta, work, HumanDuration(elapsed));
      last_line = state;
      last_print = now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

}  // namespace qg::cli
