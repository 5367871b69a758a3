#include "coordinator/slurm/sbatch_script.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace qg::slurm {

std::string ShellQuote(std::string_view word) {
  const bool safe = !word.empty() && word.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                            "0123456789_-./=:,+@%") == std::string_view::npos;
  if (safe) return std::string(word);
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string RenderSbatchScript(const ArrayScript& s) {
  std::string out = "#!/bin/bash\n# Written by quantgrid submit --backend slurm.\n";
  auto option = [&out](const std::string& text) { out += "#SBATCH " + text + "\n"; };
  option("--job-name=" + s.job_name);
  option(fmt::format("--array=0-{}", s.tasks - 1));
  option("--ntasks=1");
  option(fmt::format("--cpus-per-task={}", s.cpus));
  if (s.gpus > 0) option(fmt::format("--gres=gpu:{}", s.gpus));
  if (s.memory_mb > 0) option(fmt::format("--mem={}M", s.memory_mb));
  if (s.time_limit_min) option(fmt::format("--time={}", *s.time_limit_min));
  if (!s.partition.empty()) option("--partition=" + s.partition);
  if (!s.account.empty()) option("--account=" + s.account);
  if (!s.qos.empty()) option("--qos=" + s.qos);
  if (!s.after.empty()) option(fmt::format("--dependency=afterany:{}", fmt::join(s.after, ":")));
  if (!s.output.empty()) option("--output=" + s.output);
  for (const auto& extra : s.extra_args) option(extra);
  std::vector<std::string> words;
  for (const auto& w : s.command) words.push_back(ShellQuote(w));
  out += fmt::format("exec {}\n", fmt::join(words, " "));
  return out;
}

}  // namespace qg::slurm
