// quantgrid: one executable, one subcommand per verb.
#include <fmt/format.h>

#include <cstdio>
#include <exception>
#include <string>

#include "cli/command.h"
#include "core/base/build_info.h"
#include "core/base/logging.h"
#include "core/base/memory_policy.h"

int main(int argc, char** argv) {
  qg::KeepFreedMemoryInProcess();
  CLI::App app{"quantgrid: quantization studies as reproducible, distributed experiments"};
  app.set_version_flag("--version", std::string("quantgrid ") + qg::kQuantgridVersion + " (" + qg::kGitCommit + ")");
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error, off")->capture_default_str();

  qg::cli::Action action;
  qg::cli::AddTrainCommand(app, action);
  qg::cli::AddEvalCommand(app, action);
  qg::cli::AddCheckExportCommand(app, action);
  qg::cli::AddBenchLatencyCommand(app, action);
  qg::cli::AddQuantizeCommand(app, action);
  qg::cli::AddRunCommand(app, action);
  qg::cli::AddTuneCommand(app, action);
  qg::cli::AddTableCommand(app, action);
  qg::cli::AddReportCommand(app, action);
  qg::cli::AddCompareCommand(app, action);
  qg::cli::AddReproduceCommand(app, action);
  qg::cli::AddCoordinatorCommand(app, action);
  qg::cli::AddWorkerCommand(app, action);
  qg::cli::AddClientCommands(app, action);
  qg::cli::AddExecJobCommand(app, action);
  qg::cli::AddSlurmTaskCommand(app, action);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  qg::InitLogging(log_level);
  qg::Status status = qg::Error::InvalidArgument("no verb given");
  try {
    if (action) status = action();
  } catch (const std::exception& e) {
    // A library's exception that no verb turned into an Error (LibTorch's
    // carry a backtrace after the first line): one line, not std::terminate.
    std::string what = e.what();
    if (auto nl = what.find('\n'); nl != std::string::npos) what.resize(nl);
    status = qg::Error::Internal("uncaught exception: {}", what);
  }
  if (!status) {
    fmt::print(stderr, "quantgrid: {}\n", status.error().ToString());
    return qg::ExitCodeFor(status.error().code);
  }
  return 0;
}
