#include "base/flags.h"

namespace ferry {

void Flags::Option(const std::string& name, const std::string& metavar, const std::string& help,
                   std::optional<std::string> def) {
  order_.push_back(name);
  specs_[name] = {metavar, help, std::move(def), false, false};
}

void Flags::Repeated(const std::string& name, const std::string& metavar, const std::string& help) {
  order_.push_back(name);
  specs_[name] = {metavar, help, std::nullopt, false, true};
}

void Flags::Bool(const std::string& name, const std::string& help) {
  order_.push_back(name);
  specs_[name] = {"", help, std::nullopt, true, false};
}

void Flags::Positional(const std::string& metavar, const std::string& help, bool optional) {
  positional_specs_.emplace_back(optional ? "[" + metavar + "]" : metavar, help);
  if (!optional) ++required_positionals_;
}

Status Flags::Parse(int argc, char** argv, int first) {
  std::vector<std::string> args;
  for (int i = first; i < argc; ++i) args.emplace_back(argv[i]);
  return Parse(args);
}

Status Flags::Parse(const std::vector<std::string>& args) {
  bool options_done = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (options_done || a.size() < 2 || a[0] != '-' || a == "-") {
      positional_.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      help_ = true;
      continue;
    }
    const bool short_form = a.rfind("--", 0) != 0;  // "-o": one-letter options only
    if (short_form && (a.size() != 2 || specs_.count(a.substr(1)) == 0)) {
      return Error(Errc::kInvalidArgument, command_ + ": unknown option " + a + " (see --help)");
    }
    std::string name = a.substr(short_form ? 1 : 2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    auto it = specs_.find(name);
    if (it == specs_.end()) {
      return Error(Errc::kInvalidArgument, command_ + ": unknown option --" + name + " (see --help)");
    }
    if (it->second.is_bool) {
      if (value) return Error(Errc::kInvalidArgument, "--" + name + " takes no value");
      values_[name] = {"true"};
      continue;
    }
    if (!value) {
      if (i + 1 >= args.size()) {
        return Error(Errc::kInvalidArgument, "--" + name + " needs a value (" + it->second.metavar + ")");
      }
      value = args[++i];
    }
    if (it->second.repeated) {
      values_[name].push_back(*value);
    } else {
      values_[name] = {*value};
    }
  }
  if (!help_ && positional_.size() < required_positionals_) {
    return Error(Errc::kInvalidArgument, command_ + ": missing " +
                                             positional_specs_[positional_.size()].first +
                                             " (see --help)");
  }
  if (!help_ && positional_.size() > positional_specs_.size()) {
    return Error(Errc::kInvalidArgument, command_ + ": unexpected argument \"" +
                                             positional_[positional_specs_.size()] + "\"");
  }
  return OkStatus();
}

std::string Flags::Usage() const {
  std::string out = "usage: " + command_;
  if (!order_.empty()) out += " [options]";
  for (const auto& [m, h] : positional_specs_) out += " " + m;
  out += "\n\n" + summary_ + "\n";
  if (!positional_specs_.empty()) {
    out += "\narguments:\n";
    for (const auto& [m, h] : positional_specs_) out += "  " + m + "\n      " + h + "\n";
  }
  out += "\noptions:\n";
  for (const auto& name : order_) {
    const Spec& s = specs_.at(name);
    out += std::string(name.size() == 1 ? "  -" : "  --") + name + (s.is_bool ? "" : " " + s.metavar) +
           "\n      " + s.help;
    if (s.def) out += " (default: " + *s.def + ")";
    if (s.repeated) out += " (repeatable)";
    out += "\n";
  }
  out += "  --help\n      show this help\n";
  return out;
}

std::optional<std::string> Flags::Get(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end() && !it->second.empty()) return it->second.back();
  auto spec = specs_.find(name);
  if (spec != specs_.end()) return spec->second.def;
  return std::nullopt;
}

Result<std::string> Flags::Require(const std::string& name) const {
  auto v = Get(name);
  if (!v) return Error(Errc::kInvalidArgument, command_ + ": --" + name + " is required");
  return *v;
}

std::vector<std::string> Flags::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

bool Flags::IsSet(const std::string& name) const { return values_.count(name) != 0; }

}  // namespace ferry
