#include "export/rate_limiter.h"

#include <algorithm>

namespace mg {

RateLimiter::RateLimiter(std::chrono::nanoseconds interval, int burst)
    : interval_(interval), burst_(burst), tokens_(burst), last_(Clock::now()) {}

bool RateLimiter::allow(Clock::time_point now) {
  std::lock_guard lock(mu_);
  if (now > last_) {
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() /
                                             std::chrono::duration<double>(interval_).count());
    last_ = now;
  }
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

}  // namespace mg
