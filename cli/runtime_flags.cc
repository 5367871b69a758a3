#include "cli/command.h"

namespace qg::cli {

void AddRuntimeFlags(CLI::App& command, RuntimeFlags& flags) {
  command.add_option("--threads", flags.threads, "intra-op threads (0 = one per hardware thread)")
      ->capture_default_str();
}

}  // namespace qg::cli
