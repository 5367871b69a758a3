#include "experiments/slurm_spec.h"

#include <fmt/format.h>

#include <charconv>
#include <regex>

#include "core/base/json_fields.h"
#include "core/base/log_text.h"

namespace qg::exp {

std::optional<int64_t> SlurmSection::TimeLimitFor(const std::string& kind) const {
  if (auto it = time_limit_min.find(kind); it != time_limit_min.end()) return it->second;
  if (auto it = time_limit_min.find("default"); it != time_limit_min.end()) return it->second;
  return std::nullopt;
}

namespace {

// A number inside a Slurm time, refused when it is absurdly long instead of
// overflowing (std::stoll threw out_of_range here).
Result<int64_t> TimePart(const std::string& text, const std::string& digits) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || end != digits.data() + digits.size() || v > 1'000'000) {
    return Error::InvalidArgument("time limit \"{}\": {} is too large", text, digits);
  }
  return v;
}

}  // namespace

Result<int64_t> ParseSlurmTime(const nlohmann::json& value) {
  if (value.is_number_integer()) {
    if (value.is_number_unsigned() && value.get<uint64_t>() > 1'000'000'000) {
      return Error::InvalidArgument("time limit {} is too large", value.dump());
    }
    const int64_t minutes = value.get<int64_t>();
    if (minutes <= 0) return Error::InvalidArgument("time limit must be positive, got {}", minutes);
    if (minutes > 1'000'000'000) return Error::InvalidArgument("time limit {} is too large", minutes);
    return minutes;
  }
  if (!value.is_string()) return Error::InvalidArgument("time limit must be minutes or a Slurm time string");
  const std::string text = value.get<std::string>();
  // The forms sbatch --time accepts (see sbatch(1)), as seconds per captured part.
  struct Form {
    std::regex pattern;
    std::vector<int64_t> seconds;
  };
  static const std::vector<Form> kForms{{std::regex(R"((\d+))"), {60}},
                                        {std::regex(R"((\d+):(\d+))"), {60, 1}},
                                        {std::regex(R"((\d+):(\d+):(\d+))"), {3600, 60, 1}},
                                        {std::regex(R"((\d+)-(\d+))"), {86400, 3600}},
                                        {std::regex(R"((\d+)-(\d+):(\d+))"), {86400, 3600, 60}},
                                        {std::regex(R"((\d+)-(\d+):(\d+):(\d+))"), {86400, 3600, 60, 1}}};
  std::smatch m;
  for (const auto& form : kForms) {
    if (!std::regex_match(text, m, form.pattern)) continue;
    int64_t seconds = 0;
    for (size_t i = 0; i < form.seconds.size(); ++i) {
      QG_ASSIGN_OR_RETURN(int64_t part, TimePart(text, m[i + 1].str()));
      seconds += part * form.seconds[i];
    }
    if (seconds <= 0) return Error::InvalidArgument("time limit \"{}\" must be positive", text);
    return (seconds + 59) / 60;
  }
  return Error::InvalidArgument("time limit \"{}\" is not a Slurm time (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, "
                                "D-HH:MM:SS)",
                                text);
}

namespace {

// Names that go into "#SBATCH --partition=..." lines: Slurm's own name
// characters only, so nothing can end the line or reach a shell.
Result<std::string> SlurmName(JsonFields& f, const std::string& key) {
  const bool present = f.Has(key);
  QG_ASSIGN_OR_RETURN(std::string value, f.String(key));
  if (present && value.empty()) return Error::InvalidArgument("{}: must not be empty", f.Field(key));
  static const std::regex kName(R"([A-Za-z0-9_.,:+@-]{1,200})");
  if (present && !std::regex_match(value, kName)) {
    return Error::InvalidArgument("{}: \"{}\" is not a Slurm name (letters, digits and _.,:+@- only)", f.Field(key),
                                  EscapeForLog(value));
  }
  return value;
}

// An sbatch option: "--name" or "--name=value", one line, no shell syntax.
Status CheckSbatchOption(const std::string& arg, const std::string& field) {
  // Values keep what Slurm's own syntax uses (node lists a[1-3], constraints
  // a&b|c, gres gpu:2) and lose whitespace, quotes, $, `, ; and \.
  static const std::regex kOption(R"(--[A-Za-z][A-Za-z0-9-]*(=[A-Za-z0-9_.,:+@/=%&|!*\[\]-]*)?)");
  if (arg.size() > 1000 || !std::regex_match(arg, kOption)) {
    return Error::InvalidArgument("{}: \"{}\" must be one sbatch option (--name or --name=value, without spaces, "
                                  "newlines or shell characters)",
                                  field, EscapeForLog(arg));
  }
  return OkStatus();
}

}  // namespace

Result<SlurmSection> ParseSlurmSection(const nlohmann::json& spec) {
  SlurmSection s;
  if (!spec.is_object() || !spec.contains("slurm")) return s;
  JsonFields f(spec["slurm"], "slurm");
  QG_RETURN_IF_ERROR(f.CheckObject());
  QG_RETURN_IF_ERROR(f.AllowOnly({"partition", "account", "qos", "time_limits", "extra_args"}));
  QG_ASSIGN_OR_RETURN(s.partition, SlurmName(f, "partition"));
  QG_ASSIGN_OR_RETURN(s.account, SlurmName(f, "account"));
  QG_ASSIGN_OR_RETURN(s.qos, SlurmName(f, "qos"));
  QG_ASSIGN_OR_RETURN(auto limits, f.Object("time_limits"));
  for (const auto& [kind, value] : limits.items()) {
    auto minutes = ParseSlurmTime(value);
    if (!minutes) return minutes.error().WithContext("slurm.time_limits." + EscapeForLog(kind));
    s.time_limit_min[kind] = *minutes;
  }
  QG_ASSIGN_OR_RETURN(s.extra_args, f.Strings("extra_args"));
  for (size_t i = 0; i < s.extra_args.size(); ++i) {
    QG_RETURN_IF_ERROR(CheckSbatchOption(s.extra_args[i], fmt::format("slurm.extra_args[{}]", i)));
  }
  return s;
}

}  // namespace qg::exp
