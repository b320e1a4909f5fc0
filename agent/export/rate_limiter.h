#pragma once
// rate_limit of --web.config.file, as exporter-toolkit applies it: a token
// bucket of `burst` requests that refills one every `interval`, starting
// full. A request that finds it empty gets 429.
#include <chrono>
#include <mutex>

namespace mg {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  RateLimiter(std::chrono::nanoseconds interval, int burst);
  // Takes a token if there is one.
  bool allow(Clock::time_point now = Clock::now());

 private:
  std::mutex mu_;
  std::chrono::nanoseconds interval_;
  double burst_;
  double tokens_;
  Clock::time_point last_;
};

}  // namespace mg
