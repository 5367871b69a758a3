#include "tests/testing/onnx_fixtures.h"

#include <cstdlib>
#include <filesystem>

#include "core/base/build_info.h"
#include "tests/testing/cli_runner.h"

namespace qg::testing {

std::string DebianPython() {
  const char* python = std::getenv("QG_PYTHON");
  return python ? python : "/usr/bin/python3";
}

int RunFixtureScript(const std::string& script, const std::vector<std::string>& args, std::string* log) {
  const std::string dir = std::string(kBinaryDir) + "/test-fixtures";
  std::filesystem::create_directories(dir);
  std::vector<std::string> command{DebianPython(), SourceDir() + "/tests/fixtures/" + script};
  command.insert(command.end(), args.begin(), args.end());
  const CliResult r = RunCommand(command, dir);
  if (log) *log = r.out + r.err;
  return r.exit_code;
}

std::string OnnxFixture(const std::string& name, std::string* error) {
  const std::string dir = std::string(kBinaryDir) + "/test-fixtures/onnx";
  const std::string path = dir + "/" + name + ".onnx";
  if (std::filesystem::exists(path)) return path;
  std::string log;
  if (RunFixtureScript("make_onnx_models.py", {dir, "--only", name}, &log) != 0 || !std::filesystem::exists(path)) {
    if (error) *error = "make_onnx_models.py " + name + " failed: " + log;
    return "";
  }
  return path;
}

std::string FashionCnnFixture(std::string* error) {
  const std::string dir = std::string(kBinaryDir) + "/test-fixtures/fashion";
  const std::string path = dir + "/fashion_cnn.onnx";
  if (std::filesystem::exists(path)) return path;
  std::string log;
  if (RunFixtureScript("train_fashion_cnn.py", {dir}, &log) != 0 || !std::filesystem::exists(path)) {
    if (error) *error = "train_fashion_cnn.py failed: " + log;
    return "";
  }
  return path;
}

}  // namespace qg::testing
