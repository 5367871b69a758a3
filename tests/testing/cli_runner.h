// Running the quantgrid executable from tests: end-to-end tests go through the
// same command line users type. Output is captured through files (no pipe can
// fill up and stall the child).
#pragma once

#include <boost/process.hpp>

#include <string>
#include <vector>

namespace qg::testing {

struct CliResult {
  int exit_code = -1;
  std::string out;
  std::string err;
  double seconds = 0;
};

// $QG_BINARY_DIR/cli/quantgrid (ctest sets QG_BINARY_DIR).
std::string QuantgridPath();
std::string SourceDir();

// Runs quantgrid with `args` in `cwd` and waits for it.
CliResult RunQuantgrid(const std::vector<std::string>& args, const std::string& cwd);

// Runs another program (`command[0]`: a path, or a name found on PATH) the same way.
CliResult RunCommand(const std::vector<std::string>& command, const std::string& cwd);

// Starts quantgrid without waiting; output goes to `log`.
boost::process::child StartQuantgrid(const std::vector<std::string>& args, const std::string& cwd,
                                     const std::string& log);

}  // namespace qg::testing
