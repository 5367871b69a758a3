#include "coordinator/slurm/slurm_state.h"

#include <fmt/format.h>

#include <charconv>
#include <set>
#include <sstream>

namespace qg::slurm {
namespace {

std::optional<int64_t> ToInt(std::string_view s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty() || v < 0) return std::nullopt;
  return v;
}

// Each line cut at '|': id, state, optional reason.
TaskStates ParsePipeLines(std::string_view output) {
  TaskStates states;
  std::istringstream in{std::string(output)};
  std::string line;
  while (std::getline(in, line)) {
    const auto bar = line.find('|');
    if (bar == std::string::npos) continue;
    const auto id = TaskId::Parse(std::string_view(line).substr(0, bar));
    if (!id) continue;
    std::string rest = line.substr(bar + 1);
    const auto bar2 = rest.find('|');
    TaskState s;
    s.state = rest.substr(0, bar2);
    if (bar2 != std::string::npos) s.reason = rest.substr(bar2 + 1);
    // sacct says "CANCELLED by 0": keep the state word, the rest is the reason.
    if (const auto space = s.state.find(' '); space != std::string::npos) {
      if (s.reason.empty()) s.reason = s.state.substr(space + 1);
      s.state.resize(space);
    }
    if (s.state.empty()) continue;
    states[*id] = std::move(s);
  }
  return states;
}

}  // namespace

std::string TaskId::ToString() const {
  return index < 0 ? std::to_string(array_job_id) : fmt::format("{}_{}", array_job_id, index);
}

std::optional<TaskId> TaskId::Parse(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  const auto underscore = text.find('_');
  if (underscore == std::string_view::npos) {
    auto id = ToInt(text);
    if (!id) return std::nullopt;
    return TaskId{*id, -1};
  }
  auto id = ToInt(text.substr(0, underscore));
  auto index = ToInt(text.substr(underscore + 1));
  if (!id || !index) return std::nullopt;
  return TaskId{*id, *index};
}

TaskStates ParseSqueue(std::string_view output) { return ParsePipeLines(output); }
TaskStates ParseSacct(std::string_view output) { return ParsePipeLines(output); }

TaskStates ParseJobCompLog(std::string_view text) {
  TaskStates states;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::map<std::string, std::string> fields;
    std::istringstream words(line);
    std::string word;
    while (words >> word) {
      const auto eq = word.find('=');
      if (eq != std::string::npos) fields.emplace(word.substr(0, eq), word.substr(eq + 1));
    }
    auto job = ToInt(fields["JobId"]);
    if (!job || fields["JobState"].empty()) continue;
    // An array task has its own JobId; it is known by ArrayJobId_ArrayTaskId.
    TaskId id{*job, -1};
    auto array = ToInt(fields["ArrayJobId"]);
    auto index = ToInt(fields["ArrayTaskId"]);
    if (array && index && *array > 0) id = TaskId{*array, *index};
    states[id] = TaskState{fields["JobState"], "ExitCode=" + fields["ExitCode"]};  // the last line wins (requeues)
  }
  return states;
}

Phase PhaseOf(std::string_view state) {
  static const std::set<std::string_view> kWaiting{"PENDING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
                                                   "RESV_DEL_HOLD", "SUSPENDED", "STOPPED"};
  static const std::set<std::string_view> kActive{"RUNNING", "COMPLETING", "CONFIGURING", "SIGNALING",
                                                  "STAGE_OUT", "RESIZING", "UPDATE_DB", "POWER_UP_NODE"};
  static const std::set<std::string_view> kFailed{"FAILED", "TIMEOUT", "OUT_OF_MEMORY", "NODE_FAIL", "BOOT_FAIL",
                                                  "DEADLINE", "PREEMPTED", "SPECIAL_EXIT", "REVOKED"};
  if (kWaiting.count(state)) return Phase::kWaiting;
  if (kActive.count(state)) return Phase::kActive;
  if (state == "COMPLETED") return Phase::kSucceeded;
  if (state == "CANCELLED") return Phase::kCancelled;
  if (kFailed.count(state)) return Phase::kFailed;
  return Phase::kUnknown;
}

bool IsFinal(Phase phase) {
  return phase == Phase::kSucceeded || phase == Phase::kFailed || phase == Phase::kCancelled;
}

}  // namespace qg::slurm
