// Helpers for the mirror's unit tests: an in-memory upstream serving a tuf::Repository's files
// (with per-path overrides for attacks), counting requests.
#ifndef FERRY_TESTS_MIRROR_MIRROR_TEST_UTIL_H_
#define FERRY_TESTS_MIRROR_MIRROR_TEST_UTIL_H_

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "mirror/upstream.h"

namespace ferry::mirror::testing {

class MemoryUpstream final : public Upstream {
 public:
  void SetFiles(std::map<std::string, std::string> files) {
    std::lock_guard lock(mu_);
    files_ = std::move(files);
  }
  // Replaces what `path` ("metadata/timestamp.json", "targets/...") serves; "" means 404.
  void Override(const std::string& path, std::string bytes) {
    std::lock_guard lock(mu_);
    overrides_[path] = std::move(bytes);
  }
  void ClearOverrides() {
    std::lock_guard lock(mu_);
    overrides_.clear();
  }
  std::vector<std::string> Requests() {
    std::lock_guard lock(mu_);
    return requests_;
  }
  void ClearRequests() {
    std::lock_guard lock(mu_);
    requests_.clear();
  }
  std::size_t CountPrefix(const std::string& prefix) {
    std::lock_guard lock(mu_);
    std::size_t n = 0;
    for (const auto& r : requests_) n += r.rfind(prefix, 0) == 0 ? 1 : 0;
    return n;
  }

  Result<UpstreamResponse> Get(std::string_view rel_path, std::uint64_t max_length,
                               const ChunkSink& sink) override {
    std::string body;
    {
      std::lock_guard lock(mu_);
      const std::string rel(rel_path);
      requests_.push_back(rel);
      if (auto o = overrides_.find(rel); o != overrides_.end()) {
        if (o->second.empty()) return UpstreamResponse{404, 0};
        body = o->second;
      } else if (auto f = files_.find(rel); f != files_.end()) {
        body = f->second;
      } else {
        return UpstreamResponse{404, 0};
      }
    }
    if (body.size() > max_length) {
      FERRY_TRY(sink(AsBytes(std::string_view(body).substr(0, max_length))));
      return Error(Errc::kTooLarge, std::string(rel_path) + " is longer than " +
                                        std::to_string(max_length) + " bytes");
    }
    FERRY_TRY(sink(AsBytes(body)));
    return UpstreamResponse{200, body.size()};
  }
  std::string Describe() const override { return "memory"; }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> files_, overrides_;
  std::vector<std::string> requests_;
};

}  // namespace ferry::mirror::testing

#endif  // FERRY_TESTS_MIRROR_MIRROR_TEST_UTIL_H_
