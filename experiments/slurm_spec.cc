#include "experiments/slurm_spec.h"

#include <regex>

#include "experiments/spec_fields.h"

namespace qg::exp {

std::optional<int64_t> SlurmSection::TimeLimitFor(const std::string& kind) const {
  if (auto it = time_limit_min.find(kind); it != time_limit_min.end()) return it->second;
  if (auto it = time_limit_min.find("default"); it != time_limit_min.end()) return it->second;
  return std::nullopt;
}

Result<int64_t> ParseSlurmTime(const nlohmann::json& value) {
  if (value.is_number_integer()) {
    const int64_t minutes = value.get<int64_t>();
    if (minutes <= 0) return Error::InvalidArgument("time limit must be positive, got {}", minutes);
    return minutes;
  }
  if (!value.is_string()) return Error::InvalidArgument("time limit must be minutes or a Slurm time string");
  const std::string text = value.get<std::string>();
  // The forms sbatch --time accepts (see sbatch(1)).
  static const std::regex kMin(R"((\d+))"), kMinSec(R"((\d+):(\d+))"), kHms(R"((\d+):(\d+):(\d+))"),
      kDayH(R"((\d+)-(\d+))"), kDayHm(R"((\d+)-(\d+):(\d+))"), kDayHms(R"((\d+)-(\d+):(\d+):(\d+))");
  std::smatch m;
  auto n = [&m](int i) { return std::stoll(m[i].str()); };
  int64_t seconds = 0;
  if (std::regex_match(text, m, kMin)) {
    seconds = n(1) * 60;
  } else if (std::regex_match(text, m, kMinSec)) {
    seconds = n(1) * 60 + n(2);
  } else if (std::regex_match(text, m, kHms)) {
    seconds = n(1) * 3600 + n(2) * 60 + n(3);
  } else if (std::regex_match(text, m, kDayH)) {
    seconds = n(1) * 86400 + n(2) * 3600;
  } else if (std::regex_match(text, m, kDayHm)) {
    seconds = n(1) * 86400 + n(2) * 3600 + n(3) * 60;
  } else if (std::regex_match(text, m, kDayHms)) {
    seconds = n(1) * 86400 + n(2) * 3600 + n(3) * 60 + n(4);
  } else {
    return Error::InvalidArgument("time limit \"{}\" is not a Slurm time (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, "
                                  "D-HH:MM:SS)",
                                  text);
  }
  if (seconds <= 0) return Error::InvalidArgument("time limit \"{}\" must be positive", text);
  return (seconds + 59) / 60;
}

namespace {

Result<std::string> OptionalString(const nlohmann::json& section, const std::string& key) {
  QG_ASSIGN_OR_RETURN(std::string value, GetString(section, "slurm", key, /*required=*/false));
  if (section.contains(key) && value.empty()) return Error::InvalidArgument("slurm.{}: must not be empty", key);
  return value;
}

}  // namespace

Result<SlurmSection> ParseSlurmSection(const nlohmann::json& spec) {
  SlurmSection s;
  if (!spec.is_object() || !spec.contains("slurm")) return s;
  const auto& section = spec["slurm"];
  if (!section.is_object()) return Error::InvalidArgument("slurm: must be an object");
  QG_RETURN_IF_ERROR(RejectUnknownKeys(section, "slurm", {"partition", "account", "qos", "time_limits", "extra_args"}));
  QG_ASSIGN_OR_RETURN(s.partition, OptionalString(section, "partition"));
  QG_ASSIGN_OR_RETURN(s.account, OptionalString(section, "account"));
  QG_ASSIGN_OR_RETURN(s.qos, OptionalString(section, "qos"));
  if (section.contains("time_limits")) {
    const auto& limits = section["time_limits"];
    if (!limits.is_object()) return Error::InvalidArgument("slurm.time_limits: must be an object of job kind -> time");
    for (const auto& [kind, value] : limits.items()) {
      auto minutes = ParseSlurmTime(value);
      if (!minutes) return minutes.error().WithContext("slurm.time_limits." + kind);
      s.time_limit_min[kind] = *minutes;
    }
  }
  if (section.contains("extra_args")) {
    const auto& extra = section["extra_args"];
    if (!extra.is_array()) return Error::InvalidArgument("slurm.extra_args: must be a list of sbatch options");
    for (size_t i = 0; i < extra.size(); ++i) {
      if (!extra[i].is_string() || extra[i].get<std::string>().rfind("--", 0) != 0) {
        return Error::InvalidArgument("slurm.extra_args[{}]: must be an sbatch option starting with \"--\"", i);
      }
      s.extra_args.push_back(extra[i]);
    }
  }
  return s;
}

}  // namespace qg::exp
