#include "worker/job_process.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <boost/process.hpp>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/base/files.h"

namespace qg::worker {

namespace bp = boost::process;
namespace fs = std::filesystem;

std::string SelfExecutable() {
  std::error_code ec;
  return fs::read_symlink("/proc/self/exe", ec).string();
}

Result<storage::RunRecord> RunInChildProcess(const exp::JobRequest& request, const ChildOptions& options) {
  const fs::path dir = request.work_dir.empty() ? fs::temp_directory_path() : fs::path(request.work_dir);
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string request_path = (dir / "job_request.json").string();
  const std::string result_path = (dir / "job_result.json").string();
  fs::remove(result_path, ec);
  QG_RETURN_IF_ERROR(WriteFileAtomic(request_path, request.ToJson().dump()));
  const std::string exe = options.executable.empty() ? SelfExecutable() : options.executable;

  int status = 0;
  try {
    std::vector<std::string> args{"exec-job", "--job", request_path, "--result", result_path};
    if (!options.on_line && options.log_path.empty()) {
      bp::child child(exe, bp::args(args));
      if (options.on_started) options.on_started(child.id());
      child.wait();
      status = child.native_exit_code();
    } else {
      bp::ipstream output;
      bp::child child(exe, bp::args(args), (bp::std_out & bp::std_err) > output);
      if (options.on_started) options.on_started(child.id());
      std::ofstream log;
      if (!options.log_path.empty()) log.open(options.log_path, std::ios::app);
      std::string line;
      while (std::getline(output, line)) {
        if (log.is_open()) log << line << '\n' << std::flush;
        if (options.on_line) options.on_line(line);
      }
      child.wait();
      status = child.native_exit_code();
    }
  } catch (const std::exception& e) {
    return Error::Internal("job '{}': cannot start '{}': {}", request.key, exe, e.what());
  }
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    return Error::Internal("job '{}' crashed: killed by signal {} ({})", request.key, sig, strsignal(sig));
  }
  auto text = ReadFile(result_path);
  if (!text) {
    return Error::Internal("job '{}' exited with status {} without writing its result", request.key,
                           WEXITSTATUS(status));
  }
  const auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Error::Corruption("job '{}' wrote a damaged result '{}'", request.key, result_path);
  if (j.contains("error")) {
    return Error{CodeFromName(j["error"].value("code", "internal")), j["error"].value("message", "unknown error")};
  }
  return storage::RunRecord::FromJson(j);
}

}  // namespace qg::worker
