// Command-line parsing for Ferry's programs: `--name VALUE`, `--name=VALUE`, boolean `--name`,
// repeated options, positional arguments, `--` to end options, and generated `--help` text.
//
//   Flags f("ferry-origin init", "Create a new origin: keys, catalog, repository v1.");
//   f.Option("data", "DIR", "data directory", "/var/lib/ferry-origin");
//   f.Bool("force", "overwrite");
//   auto args = f.Parse(argc, argv);  // kInvalidArgument on unknown options, missing values
//   if (f.help()) { puts(f.Usage().c_str()); return 0; }
#ifndef FERRY_BASE_FLAGS_H_
#define FERRY_BASE_FLAGS_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"

namespace ferry {

class Flags {
 public:
  Flags(std::string command, std::string summary) : command_(std::move(command)), summary_(std::move(summary)) {}

  void Option(const std::string& name, const std::string& metavar, const std::string& help,
              std::optional<std::string> def = std::nullopt);
  void Repeated(const std::string& name, const std::string& metavar, const std::string& help);
  void Bool(const std::string& name, const std::string& help);
  void Positional(const std::string& metavar, const std::string& help, bool optional = false);

  // Parses argv[first..argc). kInvalidArgument naming the problem; --help/-h sets help().
  Status Parse(int argc, char** argv, int first = 1);
  Status Parse(const std::vector<std::string>& args);

  bool help() const { return help_; }
  std::string Usage() const;

  // Value of an option (its default if not given; nullopt if neither).
  std::optional<std::string> Get(const std::string& name) const;
  // kInvalidArgument "--name is required" if absent.
  Result<std::string> Require(const std::string& name) const;
  std::vector<std::string> GetAll(const std::string& name) const;
  bool IsSet(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  struct Spec {
    std::string metavar, help;
    std::optional<std::string> def;
    bool is_bool = false, repeated = false;
  };
  std::string command_, summary_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::vector<std::pair<std::string, std::string>> positional_specs_;
  std::size_t required_positionals_ = 0;
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
  bool help_ = false;
};

}  // namespace ferry

#endif  // FERRY_BASE_FLAGS_H_
