// A token bucket over wall-clock time, shared by any number of threads: the mirror's sync
// downloads (limits.download_rate) and the server core's file bodies (limits.serve_rate).
#ifndef FERRY_BASE_RATE_LIMITER_H_
#define FERRY_BASE_RATE_LIMITER_H_

#include <chrono>
#include <cstdint>
#include <mutex>

namespace ferry {

// `bytes_per_second` averaged over about one second of burst; 0 means unlimited.
// Thread safety: all methods may be called concurrently.
class RateLimiter {
 public:
  explicit RateLimiter(std::uint64_t bytes_per_second) : rate_(bytes_per_second) {}

  // Accounts for `n` bytes about to be sent or received and returns how long the caller must
  // wait first (zero when they fit). The debt stays in the bucket, so concurrent callers each
  // wait for their share. Never blocks.
  std::chrono::steady_clock::duration Charge(std::uint64_t n);
  // Charge, then sleep for the wait. Returns at once when unlimited.
  void Consume(std::uint64_t n);

  std::uint64_t rate() const { return rate_; }

 private:
  const std::uint64_t rate_;
  std::mutex mu_;
  double tokens_ = 0;  // guarded by mu_; may go negative (debt paid by waiting)
  std::chrono::steady_clock::time_point last_{};  // guarded by mu_
  bool started_ = false;                          // guarded by mu_
};

}  // namespace ferry

#endif  // FERRY_BASE_RATE_LIMITER_H_
