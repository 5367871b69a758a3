// Every verb of the quantgrid CLI registers itself through one function of
// this shape: it adds its subcommand (with --help) to `app` and, when chosen,
// sets `action` to what must run. main() runs the action and turns an Error
// into one line and an exit code.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "core/base/result.h"
#include "core/export/onnx_import.h"

namespace qg::cli {

using Action = std::function<Status()>;

// Options every LibTorch verb takes.
struct RuntimeFlags {
  int threads = 0;  // 0 = one per hardware thread
};
void AddRuntimeFlags(CLI::App& command, RuntimeFlags& flags);

// What an ONNX --model-file does not say about its input (--input-size,
// --input-channels) and how it normalizes (--mean, --std).
void AddModelInputFlags(CLI::App& command, onnx_export::ImportOptions& import);

void AddTrainCommand(CLI::App& app, Action& action);
void AddEvalCommand(CLI::App& app, Action& action);
void AddCheckExportCommand(CLI::App& app, Action& action);
void AddBenchLatencyCommand(CLI::App& app, Action& action);
void AddQuantizeCommand(CLI::App& app, Action& action);
void AddRunCommand(CLI::App& app, Action& action);
void AddTableCommand(CLI::App& app, Action& action);
void AddExecJobCommand(CLI::App& app, Action& action);
void AddSlurmTaskCommand(CLI::App& app, Action& action);
void AddReportCommand(CLI::App& app, Action& action);
void AddCompareCommand(CLI::App& app, Action& action);
void AddReproduceCommand(CLI::App& app, Action& action);
void AddCoordinatorCommand(CLI::App& app, Action& action);
void AddWorkerCommand(CLI::App& app, Action& action);
// submit, status, cancel
void AddClientCommands(CLI::App& app, Action& action);
void AddTuneCommand(CLI::App& app, Action& action);

}  // namespace qg::cli
