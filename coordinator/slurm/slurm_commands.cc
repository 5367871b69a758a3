#include "coordinator/slurm/slurm_commands.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <boost/asio/io_context.hpp>
#include <boost/process.hpp>

#include <future>
#include <set>
#include <sstream>

#include "core/base/files.h"

namespace qg::slurm {
namespace {

namespace bp = boost::process;

struct ToolOutput {
  int exit_code = -1;
  std::string out;
  std::string err;

  // The tool's own complaint, on one line.
  std::string Complaint() const {
    std::string text = err.empty() ? out : err;
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    for (char& c : text) c = c == '\n' ? ' ' : c;
    return text.empty() ? fmt::format("exit code {}", exit_code) : text;
  }
};

class SystemSlurmCommands final : public SlurmCommands {
 public:
  explicit SystemSlurmCommands(boost::filesystem::path sbatch) : sbatch_(std::move(sbatch)) {}

  Result<int64_t> SubmitHeld(const std::string& script_path) override {
    QG_ASSIGN_OR_RETURN(auto r, Run(sbatch_, {"--parsable", "--hold", script_path}));
    if (r.exit_code != 0) return Error::Unavailable("sbatch {}: {}", script_path, r.Complaint());
    // --parsable prints "<id>" or "<id>;<cluster>".
    const auto id = TaskId::Parse(r.out.substr(0, r.out.find_first_of(";\n")));
    if (!id || id->index >= 0) return Error::Internal("sbatch {} printed no job id: '{}'", script_path, r.out);
    return id->array_job_id;
  }

  Status Release(const std::vector<int64_t>& array_ids) override {
    if (array_ids.empty()) return OkStatus();
    const std::string ids = fmt::format("{}", fmt::join(array_ids, ","));
    QG_ASSIGN_OR_RETURN(auto r, Run(Tool("scontrol"), {"release", ids}));
    if (r.exit_code != 0) return Error::Unavailable("scontrol release {}: {}", ids, r.Complaint());
    return OkStatus();
  }

  Result<TaskStates> Live() override {
    QG_ASSIGN_OR_RETURN(auto r, Run(Tool("squeue"), {"-h", "-r", "-t", "all", "--me", "-o", "%i|%T|%r"}));
    if (r.exit_code != 0) return Error::Unavailable("squeue: {}", r.Complaint());
    return ParseSqueue(r.out);
  }

  Result<TaskStates> Finished(const std::vector<TaskId>& tasks) override {
    if (tasks.empty()) return TaskStates{};
    QG_RETURN_IF_ERROR(LoadConfig());
    TaskStates found;
    if (accounting_) {
      std::set<int64_t> arrays;
      for (const auto& t : tasks) arrays.insert(t.array_job_id);
      QG_ASSIGN_OR_RETURN(auto r, Run(Tool("sacct"), {"-n", "-P", "-X", "-o", "JobID,State", "-j",
                                                      fmt::format("{}", fmt::join(arrays, ","))}));
      if (r.exit_code != 0) return Error::Unavailable("sacct: {}", r.Complaint());
      found = ParseSacct(r.out);
    } else if (!jobcomp_log_.empty()) {
      auto text = ReadFile(jobcomp_log_);
      if (text) found = ParseJobCompLog(*text);  // no file yet: nothing has finished
    }
    TaskStates wanted;
    for (const auto& t : tasks) {
      if (auto it = found.find(t); it != found.end()) wanted.insert(*it);
    }
    return wanted;
  }

  Status Cancel(const std::vector<TaskId>& tasks) override {
    if (tasks.empty()) return OkStatus();
    std::vector<std::string> ids;
    for (const auto& t : tasks) ids.push_back(t.ToString());
    QG_ASSIGN_OR_RETURN(auto r, Run(Tool("scancel"), ids));
    if (r.exit_code != 0) return Error::Unavailable("scancel {}: {}", fmt::join(ids, " "), r.Complaint());
    return OkStatus();
  }

 private:
  // Where finished tasks can be looked up: `scontrol show config` once.
  Status LoadConfig() {
    if (config_loaded_) return OkStatus();
    QG_ASSIGN_OR_RETURN(auto r, Run(Tool("scontrol"), {"show", "config"}));
    if (r.exit_code != 0) return Error::Unavailable("scontrol show config: {}", r.Complaint());
    std::map<std::string, std::string> config;
    std::istringstream in(r.out);
    std::string line;
    while (std::getline(in, line)) {
      const auto eq = line.find(" = ");
      if (eq == std::string::npos) continue;
      std::string key = line.substr(0, eq);
      while (!key.empty() && key.back() == ' ') key.pop_back();
      config[key] = line.substr(eq + 3);
    }
    const std::string& storage = config["AccountingStorageType"];
    accounting_ = !storage.empty() && storage != "accounting_storage/none";
    if (config["JobCompType"] == "jobcomp/filetxt") jobcomp_log_ = config["JobCompLoc"];
    config_loaded_ = true;
    return OkStatus();
  }

  boost::filesystem::path Tool(const std::string& name) const {
    auto beside = sbatch_.parent_path() / name;  // the same Slurm installation as sbatch
    return boost::filesystem::exists(beside) ? beside : bp::search_path(name);
  }

  static Result<ToolOutput> Run(const boost::filesystem::path& tool, const std::vector<std::string>& args) {
    if (tool.empty()) return Error::Unavailable("a Slurm tool is not on PATH (is slurm-client installed?)");
    boost::asio::io_context io;
    std::future<std::string> out, err;
    std::error_code ec;
    bp::child child(tool, bp::args(args), bp::std_in.close(), bp::std_out > out, bp::std_err > err, io, ec);
    if (ec) return Error::Unavailable("cannot run {}: {}", tool.string(), ec.message());
    io.run();
    child.wait();
    return ToolOutput{child.exit_code(), out.get(), err.get()};
  }

  boost::filesystem::path sbatch_;
  bool config_loaded_ = false;
  bool accounting_ = false;
  std::string jobcomp_log_;
};

}  // namespace

Result<std::unique_ptr<SlurmCommands>> SystemSlurm() {
  auto sbatch = bp::search_path("sbatch");
  if (sbatch.empty()) return Error::Unavailable("sbatch is not on PATH: is Slurm (slurm-client) installed?");
  return std::unique_ptr<SlurmCommands>(new SystemSlurmCommands(sbatch));
}

}  // namespace qg::slurm
