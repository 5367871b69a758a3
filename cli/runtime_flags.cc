#include "cli/command.h"

namespace qg::cli {

void AddRuntimeFlags(CLI::App& command, RuntimeFlags& flags) {
  command.add_option("--threads", flags.threads, "intra-op threads (0 = one per hardware thread)")
      ->capture_default_str();
}

void AddModelInputFlags(CLI::App& command, onnx_export::ImportOptions& import) {
  command.add_option_function<int64_t>(
      "--input-size", [&import](const int64_t& v) { import.image_size = v; },
      "ONNX model files: the input's height and width when the file leaves them open");
  command.add_option_function<int64_t>(
      "--input-channels", [&import](const int64_t& v) { import.channels = v; },
      "ONNX model files: the input's channels when the file leaves them open");
  command.add_option("--mean", import.mean, "ONNX model files: per-channel mean the model was trained with (0..1)")
      ->delimiter(',');
  command.add_option("--std", import.std, "ONNX model files: per-channel std the model was trained with")
      ->delimiter(',');
}

}  // namespace qg::cli
