// quantgrid slurm-task: what each task of a Slurm job array runs (the sbatch
// scripts of `submit --backend slurm` call it). Hidden from --help.
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "cli/command.h"
#include "worker/slurm_task.h"

namespace qg::cli {
namespace {

struct TaskFlags {
  std::string manifest;
  int64_t index = -1;
};

Status RunTask(const TaskFlags& f) {
  int64_t index = f.index;
  if (index < 0) {
    const char* env = std::getenv("SLURM_ARRAY_TASK_ID");
    if (env == nullptr) return Error::InvalidArgument("no --index and no SLURM_ARRAY_TASK_ID: not in a Slurm array");
    const std::string_view text(env);
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), index);
    if (ec != std::errc() || end != text.data() + text.size() || index < 0) {
      return Error::InvalidArgument("SLURM_ARRAY_TASK_ID '{}' is not an array task index", text);
    }
  }
  // No store here: the task leaves its outcome as a file for the client that
  // submitted it (SQLite on a filesystem shared by many hosts loses writes).
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  return worker::RunArrayTask({.manifest = f.manifest, .index = index, .host = host});
}

}  // namespace

void AddSlurmTaskCommand(CLI::App& app, Action& action) {
  auto f = std::make_shared<TaskFlags>();
  CLI::App* cmd = app.add_subcommand("slurm-task", "Run one task of a Slurm job array (used by sbatch scripts)");
  cmd->group("");  // hidden
  cmd->add_option("--manifest", f->manifest, "the array's manifest")->required();
  cmd->add_option("--index", f->index, "task index (default: $SLURM_ARRAY_TASK_ID)");
  cmd->callback([f, &action] { action = [f] { return RunTask(*f); }; });
}

}  // namespace qg::cli
