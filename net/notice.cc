#include "net/notice.h"

#include <chrono>

namespace ferry::net {

Status PostNotice(HttpClient& http, const std::string& url, const std::string& timestamp_json) {
  FetchRequest req;
  req.url = url;
  req.method = "POST";
  req.headers.Set("Content-Type", "application/json");
  req.body = timestamp_json;
  req.max_length = 4096;  // the answer is a word or two
  req.follow_redirects = false;
  req.timeouts.connect = req.timeouts.first_byte = req.timeouts.total_base =
      std::chrono::seconds(5);
  FERRY_ASSIGN_OR_RETURN(FetchResult r, http.Fetch(req, nullptr));
  if (r.status / 100 != 2) {
    return Error(Errc::kIoError, "notice to " + url + ": HTTP " + std::to_string(r.status));
  }
  return OkStatus();
}

}  // namespace ferry::net
