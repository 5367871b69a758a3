#include "tests/testing/cli_runner.h"

#include "core/base/build_info.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace qg::testing {

namespace bp = boost::process;

namespace {
std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

std::string QuantgridPath() {
  const char* dir = std::getenv("QG_BINARY_DIR");
  return std::string(dir ? dir : kBinaryDir) + "/cli/quantgrid";
}

std::string SourceDir() {
  const char* dir = std::getenv("QG_SOURCE_DIR");
  return dir ? dir : kSourceDir;
}

namespace {

CliResult Run(const std::string& program, const std::vector<std::string>& args, const std::string& cwd) {
  static int counter = 0;
  const std::string base = cwd + "/.qg_cli_" + std::to_string(counter++);
  CliResult r;
  const auto t0 = std::chrono::steady_clock::now();
  bp::child child(program, bp::args(args), bp::start_dir(cwd), bp::std_out > base + ".out",
                  bp::std_err > base + ".err");
  child.wait();
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.exit_code = child.exit_code();
  r.out = Slurp(base + ".out");
  r.err = Slurp(base + ".err");
  return r;
}

}  // namespace

CliResult RunQuantgrid(const std::vector<std::string>& args, const std::string& cwd) {
  return Run(QuantgridPath(), args, cwd);
}

CliResult RunCommand(const std::vector<std::string>& command, const std::string& cwd) {
  const std::string& program = command.front();
  const std::string resolved = program.find('/') != std::string::npos ? program : bp::search_path(program).string();
  return Run(resolved, {command.begin() + 1, command.end()}, cwd);
}

bp::child StartQuantgrid(const std::vector<std::string>& args, const std::string& cwd, const std::string& log) {
  return bp::child(QuantgridPath(), bp::args(args), bp::start_dir(cwd), (bp::std_out & bp::std_err) > log);
}

}  // namespace qg::testing
