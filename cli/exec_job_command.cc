// quantgrid exec-job: runs one job from a request file and writes its result
// file. Schedulers (local runs, workers) start it as a child process; it is
// not meant for people, hence hidden from --help.
#include <fmt/format.h>
#include <sys/prctl.h>

#include <csignal>

#include <memory>

#include "cli/command.h"
#include "coordinator/protocol/messages.h"
#include "core/base/files.h"
#include "runner/job_runner.h"
#include "core/train/console_progress.h"

namespace qg::cli {
namespace {

struct ExecFlags {
  std::string job;
  std::string result;
};

Status RunExec(const ExecFlags& f) {
  // A job never outlives the scheduler that started it: if that process dies
  // (kill -9), so does this one, instead of writing into a work directory a
  // resumed run is about to reuse.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  auto run = [&]() -> Result<storage::RunRecord> {
    QG_ASSIGN_OR_RETURN(std::string text, ReadFile(f.job));
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded()) return Error::Corruption("job request '{}' is not valid JSON", f.job);
    QG_ASSIGN_OR_RETURN(auto request, exp::JobRequest::FromJson(j));
    train::ConsoleProgress progress;
    return runner::RunJob(request, &progress);
  }();
  if (!run) {
    const nlohmann::json error{{"error", protocol::ErrorToJson(run.error())}};
    QG_RETURN_IF_ERROR(WriteFileAtomic(f.result, error.dump()));
    return run.error();
  }
  return WriteFileAtomic(f.result, run->ToJson().dump());
}

}  // namespace

void AddExecJobCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<ExecFlags>();
  CLI::App* cmd = app.add_subcommand("exec-job", "Run one job from a request file (used by schedulers)");
  cmd->group("");  // hidden
  cmd->add_option("--job", f->job, "job request JSON")->required();
  cmd->add_option("--result", f->result, "where to write the result JSON")->required();
  cmd->callback([f, &action] { action = [f] { return RunExec(*f); }; });
}

}  // namespace qg::cli
