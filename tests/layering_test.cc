// The layering of the source tree, as a test (Chromium's checkdeps, Bazel's
// visibility): every `#include "..."` of every source file must point at its
// own folder or at a layer below it. Lowest first:
//
//   core/base
//   core/{data,models,metrics,train,quant,export,pipeline}   (may include each other)
//   storage
//   experiments
//   runner | coordinator | worker   (siblings: none includes another, except that
//                                    worker may include coordinator/protocol)
//   cluster
//   cli | bench | tests
//
// Test files beside the code (*_test.cc, and fakes: fake_*.h) obey the same
// rule and may also use the shared helpers in tests/testing/. A failure names the file, the line and
// both layers.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <tuple>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "core/base/build_info.h"

namespace qg {
namespace {

namespace fs = std::filesystem;

// The unit a path belongs to: "core/base", "core/quant", "coordinator", ...
std::string UnitOf(const std::string& path) {
  const auto slash = path.find('/');
  const std::string top = path.substr(0, slash);
  if (top == "core" && slash != std::string::npos) {
    const auto next = path.find('/', slash + 1);
    return next == std::string::npos ? top : path.substr(0, next);
  }
  return top;
}

// Rank of a unit; nothing for files outside the layered tree.
std::optional<int> LayerOf(const std::string& unit) {
  if (unit == "core/base") return 0;
  if (unit.rfind("core/", 0) == 0) return 1;
  if (unit == "storage") return 2;
  if (unit == "experiments") return 3;
  if (unit == "runner" || unit == "coordinator" || unit == "worker") return 4;
  if (unit == "cluster") return 5;
  if (unit == "cli" || unit == "bench" || unit == "tests") return 6;
  return std::nullopt;
}

// Tests, and the fakes that live beside what they fake (fake_clock.h).
bool IsTestFile(const std::string& path) {
  const std::string name = fs::path(path).filename().string();
  return path.find("_test.cc") != std::string::npos || path.rfind("tests/", 0) == 0 || name.rfind("fake_", 0) == 0;
}

// Why `from` may not include `to`, or nothing when it may.
std::optional<std::string> Violation(const std::string& from, const std::string& to) {
  const std::string a = UnitOf(from), b = UnitOf(to);
  if (a == b) return std::nullopt;
  if (IsTestFile(from) && to.rfind("tests/testing/", 0) == 0) return std::nullopt;
  if (a == "worker" && to.rfind("coordinator/protocol/", 0) == 0) return std::nullopt;
  const auto la = LayerOf(a), lb = LayerOf(b);
  if (!la || !lb) return std::nullopt;  // generated or third-party
  if (*la == 1 && *lb == 1) return std::nullopt;  // core's libraries
  if (*lb < *la) return std::nullopt;
  return a + " (layer " + std::to_string(*la) + ") includes " + b + " (layer " + std::to_string(*lb) + ")";
}

std::vector<std::string> CheckTree(const fs::path& root) {
  std::vector<std::string> problems;
  const std::regex include(R"(^\s*#\s*include\s*\"([^\"]+)\")");
  for (const char* top : {"core", "storage", "experiments", "runner", "coordinator", "worker", "cluster", "cli",
                          "bench", "tests"}) {
    if (!fs::exists(root / top)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(root / top)) {
      const auto ext = entry.path().extension();
      if (!entry.is_regular_file() || (ext != ".h" && ext != ".cc")) continue;
      const std::string rel = fs::relative(entry.path(), root).generic_string();
      std::ifstream in(entry.path());
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        if (auto why = Violation(rel, m[1].str())) {
          problems.push_back(rel + ":" + std::to_string(n) + ": " + *why + ": \"" + m[1].str() + "\"");
        }
      }
    }
  }
  return problems;
}

// The same rule on CMake link lines: a target may link targets of its own
// folder and of the layers below (test targets also qg_testing).
std::vector<std::string> CheckLinks(const fs::path& root) {
  const std::regex declare(R"((?:qg_cc_library|qg_cc_test|add_library|add_executable)\(\s*(?:NAME\s+)?(qg_\w+|quantgrid))");
  const std::regex deps(R"(DEPS([^)]*?)(?:LABELS|TIMEOUT|PLAIN|\)))");
  const std::regex links(R"(target_link_libraries\(\s*(\w+)([^)]*)\))");
  const std::regex word(R"(qg_\w+)");
  const std::regex first_source(R"((?:SRCS|STATIC|OBJECT)\s+([\w./]+))");
  std::map<std::string, std::string> unit_of;                       // target -> folder of its sources
  std::vector<std::tuple<std::string, std::string, std::string>> edges;  // file, target, dep
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const std::string rel = fs::relative(entry.path(), root).generic_string();
    if (entry.path().filename() != "CMakeLists.txt" || rel.rfind("build", 0) == 0 || rel.find('/') == std::string::npos) {
      continue;
    }
    std::ifstream in(entry.path());
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string unit = UnitOf(rel);
    // Each declaration up to the next one: its DEPS.
    std::vector<std::pair<size_t, std::string>> decls;
    const std::string dir = fs::path(rel).parent_path().generic_string();
    for (std::sregex_iterator it(text.begin(), text.end(), declare), end; it != end; ++it) {
      decls.emplace_back(it->position(), (*it)[1].str());
      // A target whose sources sit in a sub-folder (qg_protocol) belongs to it.
      std::smatch src;
      const std::string rest = text.substr(it->position());
      std::string folder = dir;
      if (std::regex_search(rest, src, first_source) && src[1].str().find('/') != std::string::npos) {
        folder += "/" + fs::path(src[1].str()).parent_path().generic_string();
      }
      unit_of[(*it)[1].str()] = folder;
    }
    for (size_t i = 0; i < decls.size(); ++i) {
      const size_t stop = i + 1 < decls.size() ? decls[i + 1].first : text.size();
      const std::string body = text.substr(decls[i].first, stop - decls[i].first);
      std::smatch m;
      if (!std::regex_search(body, m, deps)) continue;
      const std::string list = m[1].str();
      for (std::sregex_iterator w(list.begin(), list.end(), word), end; w != end; ++w) {
        edges.emplace_back(rel, decls[i].second, w->str());
      }
    }
    for (std::sregex_iterator it(text.begin(), text.end(), links), end; it != end; ++it) {
      const std::string list = (*it)[2].str();
      for (std::sregex_iterator w(list.begin(), list.end(), word), end2; w != end2; ++w) {
        edges.emplace_back(rel, (*it)[1].str(), w->str());
      }
    }
  }
  std::vector<std::string> problems;
  for (const auto& [file, target, dep] : edges) {
    if (!unit_of.count(target) || !unit_of.count(dep)) continue;  // qg_warnings, qg_torch_pch, ...
    const bool test = target.size() > 6 && target.substr(target.size() - 6) == "_tests";
    const std::string from = unit_of[target] + (test ? "/x_test.cc" : "/x.cc");
    const std::string to = unit_of[dep] + "/x.h";
    if (auto why = Violation(from, to)) problems.push_back(file + ": " + target + " links " + dep + ": " + *why);
  }
  return problems;
}

TEST(Layering, TheRuleKnowsTheLayers) {
  EXPECT_FALSE(Violation("core/quant/convert.cc", "core/base/result.h"));
  EXPECT_FALSE(Violation("core/quant/convert.cc", "core/models/graph.h"));
  EXPECT_TRUE(Violation("core/pipeline/job_runner.h", "storage/records.h"));
  EXPECT_TRUE(Violation("core/pipeline/job_runner.cc", "worker/probe_jobs.h"));
  EXPECT_TRUE(Violation("storage/records.h", "experiments/spec.h"));
  EXPECT_FALSE(Violation("experiments/grid.h", "storage/records.h"));
  EXPECT_TRUE(Violation("coordinator/local_cluster.h", "worker/worker_client.h"));
  EXPECT_TRUE(Violation("coordinator/slurm/slurm_task.cc", "worker/job_process.h"));
  EXPECT_FALSE(Violation("worker/worker_client.cc", "coordinator/protocol/client.h"));
  EXPECT_TRUE(Violation("worker/job_executor.cc", "coordinator/job_queue.h"));
  EXPECT_TRUE(Violation("runner/job_runner.cc", "worker/probe_jobs.h"));
  EXPECT_FALSE(Violation("cluster/local_cluster.cc", "worker/worker_client.h"));
  EXPECT_FALSE(Violation("cli/main.cc", "cluster/local_cluster.h"));
  EXPECT_FALSE(Violation("core/train/trainer_test.cc", "tests/testing/temp_dir.h"));
  EXPECT_TRUE(Violation("core/train/trainer.cc", "tests/testing/temp_dir.h"));
  EXPECT_TRUE(Violation("core/train/distributed_test.cc", "coordinator/protocol/connection.h"));
}

// QG_LAYERING_ROOT checks another checkout (e.g. an older commit's tree).
TEST(Layering, NoFolderIncludesOneAboveIt) {
  const char* root = std::getenv("QG_LAYERING_ROOT");
  const auto problems = CheckTree(root != nullptr ? root : kSourceDir);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_TRUE(problems.empty()) << problems.size() << " include(s) run up the layers:\n" << all;
}

TEST(Layering, CMakeLinkLinesAgree) {
  const char* root = std::getenv("QG_LAYERING_ROOT");
  const auto problems = CheckLinks(root != nullptr ? root : kSourceDir);
  std::string all;
  for (const auto& p : problems) all += p + "\n";
  EXPECT_TRUE(problems.empty()) << problems.size() << " link(s) run up the layers:\n" << all;
}

}  // namespace
}  // namespace qg
