// libferry: the client library behind the `ferry` command.
//
//   auto client = Client::Open(state_dir);           // after Client::Init(...) once
//   FERRY_TRY((*client)->Refresh());                  // TUF refresh + signed mirror list
//   FERRY_ASSIGN_OR_RETURN(auto t, (*client)->Find("git@5.2.1"));
//   FERRY_TRY((*client)->Download(t, "git.hpi", progress));
//   FERRY_ASSIGN_OR_RETURN(auto u, (*client)->Update("git", ""));   // patch when offered
//
// Every byte handed to the caller was verified against the signed metadata: downloads go to a
// partial file, hashed while streaming and bounded by the signed length, and are renamed into
// place only when every listed hash matches. Requests (metadata and targets) go to the
// configured mirrors, then the mirrors of the signed mirrors.json (same region first, then by
// measured latency; the list a previous run verified orders the metadata requests of the next
// refresh), then the origin; any failure moves the same request to the next source and the
// failing mirror is reported to the origin.
//
// State directory: client.conf (origin, mirrors, region), metadata/ (trusted TUF metadata),
// partial/ (resumable downloads), installed.json (what Download/Update installed, for updates),
// latency.json, mirrors.json.
//
// Thread safety: a Client is used by one thread at a time.
#ifndef FERRY_CLIENT_CLIENT_H_
#define FERRY_CLIENT_CLIENT_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "client/updater.h"
#include "tuf/target_search.h"

namespace ferry::client {

struct ClientOptions {
  // Called for each failed source attempt (default: a line on stderr).
  std::function<void(const Source&, const Error&)> on_source_failure;
  // Send failures of mirrors to the origin's report endpoint.
  bool report_bad_mirrors = true;
};

struct InstalledFile {
  std::string package;
  std::string version;
  std::string path;  // absolute
  std::string sha256;
};

struct UpdateResult {
  tuf::TargetInfo target;
  bool up_to_date = false;   // nothing to do
  bool used_patch = false;   // a signed patch from the installed version was applied
  std::string from_version;  // installed version before, if known
  std::uint64_t bytes_fetched = 0;
};

class Client {
 public:
  // The default state directory: $FERRY_HOME, else $XDG_STATE_HOME/ferry, else
  // ~/.local/state/ferry.
  static std::string DefaultStateDir();

  struct InitOptions {
    std::vector<std::string> mirrors;  // preferred over the signed list, in this order
    std::string region;                // the signed list's mirrors of this region come first
    bool force = false;                // replace an existing configuration and metadata
  };
  // Pins trust: writes client.conf and metadata/root.json. kAlreadyExists unless `force`.
  // kBadMetadata if root_json is not root metadata; kInvalidArgument for a region that is not
  // 1-32 characters of a-z 0-9 -.
  static Status Init(const std::string& state_dir, const std::string& origin_url,
                     const std::string& root_json, const InitOptions& options);

  // kNotFound (with the command to run) if the state directory is not initialised.
  static Result<std::unique_ptr<Client>> Open(const std::string& state_dir,
                                              ClientOptions options = {});
  ~Client();

  // The TUF refresh, then the signed mirror list (if the repository has one) orders the sources.
  // Errors: every verification failure of the trusted set (kRollback, kExpired,
  // kThresholdNotMet, kBadMetadata, kHashMismatch, kLengthMismatch, ...), kAllSourcesFailed
  // (each source and its cause listed) or the one source's error, kIoError writing metadata/.
  // A failure leaves the metadata already verified in place; nothing unverified is kept.
  Status Refresh();

  // "NAME", "NAME@VERSION" (packages: custom.ferry.package/version; latest version by natural
  // order) or a target path. Refreshes first if needed. kNotFound / kTargetNotFound, or the
  // errors of Refresh and of loading a delegated role.
  Result<tuf::TargetInfo> Find(const std::string& spec);
  // Every version of a package (releases in targets, files of role plugins.NAME), oldest first;
  // empty if there is none. Errors: those of Refresh and of loading plugins.NAME.
  Result<std::vector<tuf::TargetInfo>> Versions(const std::string& package);

  // Downloads and verifies `target` to `dest` (not fetched again if already there and
  // matching), and records it as installed. `progress` is called on this thread with bytes so
  // far and the total. Errors: kHashMismatch / kLengthMismatch / kTooLarge / kTimeout / kIoError
  // from the one source, or kAllSourcesFailed listing each; nothing is written at `dest` then
  // (a resumable partial file may stay in the state directory).
  Status Download(const tuf::TargetInfo& target, const std::string& dest,
                  const ProgressFn& progress = nullptr);

  // Brings the installed file of `package` (or `dest`) to the latest version: with the signed
  // patch from the installed version when the repository offers one (applied with bounded memory,
  // the result verified against the target's own hashes before it replaces anything), else a
  // full download. kNotFound if nothing is installed and `dest` is empty; otherwise the errors
  // of Find and Download (a patch that fails to apply or to verify falls back to the full file).
  Result<UpdateResult> Update(const std::string& package, const std::string& dest = "",
                              const ProgressFn& progress = nullptr);

  // What Download/Update last installed for `package` (installed.json), if anything.
  std::optional<InstalledFile> Installed(const std::string& package) const;
  // The updater underneath: its sources() are the current order (mirrors, then the origin),
  // SetSources replaces them, last_target_source() names who served the last download.
  Updater& updater() { return *updater_; }
  const std::string& state_dir() const { return state_; }
  const std::string& origin() const { return origin_; }
  // Body bytes received from all sources since Open.
  std::uint64_t bytes_fetched() const;

  struct Impl;

 private:
  Client() = default;
  Status RecordInstalled(const tuf::TargetInfo& target, const std::string& dest);
  // Orders the sources by a mirrors.json document (configured mirrors first, then the listed
  // ones by region and measured latency, the origin last); ignored if it does not parse.
  void OrderSourcesBy(const std::string& mirror_list);

  std::string state_, origin_;
  std::unique_ptr<Impl> impl_;
  std::unique_ptr<Updater> updater_;
  bool refreshed_ = false;
};

// Natural order of version strings ("1.10" > "1.9"; "2.0-rc1" < "2.0-rc2").
bool VersionLess(const std::string& a, const std::string& b);
// custom.ferry.<key> of a target, or "".
std::string CustomField(const tuf::TargetFile& file, const char* key);
// The target path of the signed patch from `base_sha256` to `target_sha256`.
std::string PatchTargetPath(const std::string& target_sha256, const std::string& base_sha256);

}  // namespace ferry::client

#endif  // FERRY_CLIENT_CLIENT_H_
