#include "base/rate_limiter.h"

#include <algorithm>
#include <thread>

namespace ferry {

std::chrono::steady_clock::duration RateLimiter::Charge(std::uint64_t n) {
  if (rate_ == 0 || n == 0) return {};
  std::lock_guard lock(mu_);
  const auto now = std::chrono::steady_clock::now();
  if (!started_) {
    started_ = true;
    last_ = now;
    tokens_ = static_cast<double>(rate_);  // one second of burst to start with
  }
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  tokens_ = std::min(static_cast<double>(rate_), tokens_ + elapsed * static_cast<double>(rate_));
  tokens_ -= static_cast<double>(n);
  if (tokens_ >= 0) return {};
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(-tokens_ / static_cast<double>(rate_)));
}

void RateLimiter::Consume(std::uint64_t n) {
  const auto wait = Charge(n);
  if (wait.count() > 0) std::this_thread::sleep_for(wait);
}

}  // namespace ferry
