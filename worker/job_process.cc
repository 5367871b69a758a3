#include "worker/job_process.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <boost/process.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "coordinator/protocol/connection.h"
#include "coordinator/protocol/messages.h"
#include "core/base/files.h"

namespace qg::worker {

namespace bp = boost::process;
namespace fs = std::filesystem;

std::string SelfExecutable() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).string();
}

namespace {

// What a finished child left: its signal, or its result file.
Result<storage::RunRecord> CollectResult(const exp::JobRequest& request, int status, const std::string& result_path,
                                         const std::string& who) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return Error::Internal("job '{}'{} crashed: killed by signal {} ({})", request.key, who, sig, strsignal(sig));
  }
  auto text = ReadFile(result_path);
  if (!text) {
    return Error::Internal("job '{}'{} exited with status {} without writing its result", request.key, who,
                           WEXITSTATUS(status));
  }
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Error::Corruption("job '{}' wrote a damaged result '{}'", request.key, result_path);
  if (j.contains("error")) return protocol::ErrorFromJson(j["error"]);
  return storage::RunRecord::FromJson(j);
}

}  // namespace

Result<storage::RunRecord> RunInChildProcess(const exp::JobRequest& request, const ChildOptions& options) {
  const fs::path dir = request.work_dir.empty() ? fs::temp_directory_path() : fs::path(request.work_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string request_path = (dir / "job_request.json").string();
  const std::string result_path = (dir / "job_result.json").string();
  QG_RETURN_IF_ERROR(WriteFileAtomic(request_path, request.ToJson().dump()));
  const std::string exe = options.executable.empty() ? SelfExecutable() : options.executable;
  // Data-parallel jobs run as `processes` ranks that meet on a free loopback
  // port; rank 0's output is streamed and its result is the job's.
  const int ranks = std::max(1, request.config.value("processes", 1));
  auto result_of = [&](int rank) { return rank == 0 ? result_path : fmt::format("{}.rank{}", result_path, rank); };
  for (int r = 0; r < ranks; ++r) fs::remove(result_of(r), ec);

  std::vector<int> status(ranks, 0);
  try {
    const std::string port = ranks > 1 ? std::to_string(protocol::FreeLoopbackPort()) : "";
    std::vector<bp::child> children;
    bp::ipstream output;
    for (int r = 0; r < ranks; ++r) {
      std::vector<std::string> args{"exec-job", "--job", request_path, "--result", result_of(r)};
      auto env = boost::this_process::environment();
      if (ranks > 1) {
        env["QG_RANK"] = std::to_string(r);
        env["QG_WORLD_SIZE"] = std::to_string(ranks);
        env["QG_MASTER_ADDR"] = "127.0.0.1";
        env["QG_MASTER_PORT"] = port;
      }
      if (r > 0) {  // other ranks: their own log, or nowhere
        const std::string log = options.log_path.empty() ? "/dev/null" : fmt::format("{}.rank{}", options.log_path, r);
        children.emplace_back(exe, bp::args(args), env, (bp::std_out & bp::std_err) > log);
      } else if (!options.on_line && options.log_path.empty()) {
        children.emplace_back(exe, bp::args(args), env);
      } else {
        children.emplace_back(exe, bp::args(args), env, (bp::std_out & bp::std_err) > output);
      }
      if (options.on_started) options.on_started(children.back().id());
    }
    if (options.on_line || !options.log_path.empty()) {
      std::ofstream log;
      if (!options.log_path.empty()) log.open(options.log_path, std::ios::app);
      std::string line;
      while (std::getline(output, line)) {
        if (log.is_open()) log << line << '\n' << std::flush;
        if (options.on_line) options.on_line(line);
      }
    }
    for (int r = 0; r < ranks; ++r) {
      children[r].wait();
      status[r] = children[r].native_exit_code();
    }
  } catch (const std::exception& e) {
    return Error::Internal("job '{}': cannot start '{}': {}", request.key, exe, e.what());
  }
  for (int r = 1; r < ranks; ++r) {
    auto other = CollectResult(request, status[r], result_of(r), fmt::format(" (rank {} of {})", r, ranks));
    if (!other) return other.error();
  }
  return CollectResult(request, status[0], result_path, ranks > 1 ? fmt::format(" (rank 0 of {})", ranks) : "");
}

}  // namespace qg::worker
