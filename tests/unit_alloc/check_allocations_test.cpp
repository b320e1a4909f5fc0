// "Nothing is allocated per process per check in the steady state": a check
// over many real processes makes no more heap allocations than one over a
// few. Counted with a replaced global operator new, against the real /proc of
// a private PID namespace, with real sleeping children matched by a rule.
// The replaced operator new and delete below pair malloc with free, which GCC
// cannot see through when it inlines them into this file.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <vector>

#include "config/config_loader.h"
#include "engine/check_loop.h"

namespace {
std::atomic<bool> counting{false};
std::atomic<std::uint64_t> allocations{0};
}  // namespace

void* operator new(std::size_t n) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  return operator new(n);
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(n ? n : 1);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept {
  return operator new(n, t);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace mg {
namespace {

class NoSignals : public SignalSender {
 public:
  SendOutcome send(const ProcessIdentity&, int) override { return SendOutcome::kSent; }
  std::optional<Duration> wait_exit(const ProcessIdentity&, Duration) override {
    return std::chrono::milliseconds(1);
  }
};

// `n` children that rename themselves and sleep; killed and reaped on exit.
class Sleepers {
 public:
  explicit Sleepers(int n) {
    for (int i = 0; i < n; ++i) {
      const pid_t pid = fork();
      if (pid == 0) {
        prctl(PR_SET_NAME, "mgallockid", 0, 0, 0);
        for (;;) pause();
      }
      if (pid > 0) pids_.push_back(pid);
    }
    // Each has renamed itself before the first check.
    usleep(200 * 1000);
  }
  ~Sleepers() {
    for (pid_t pid : pids_) kill(pid, SIGKILL);
    for (pid_t pid : pids_) waitpid(pid, nullptr, 0);
  }
  std::size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

struct Count {
  double per_check = 0;
  std::size_t watched = 0;
};

// Allocations per check of a loop past its warm-up: young processes, first
// attribute refreshes and growing containers are behind it, and the window
// spans more than one attribute refresh period.
Count allocations_per_check(int processes, const char* measure) {
  Sleepers sleepers(processes);
  std::string yaml = std::string(R"(
interval: 1s
stats_frequency: 5s
dry_run: true
rules:
  - name: kids
    match: { name: '^mgallockid$', cmdline: 'unit_alloc' }
    limit: 1Gi
    measure: )") + measure +
                     "\n";
  auto loaded = load_config_string(yaml, "alloc.yaml");
  EXPECT_TRUE(loaded.config);
  Metrics metrics;
  NoSignals sender;
  ManualClock clock;
  CheckLoop loop({"alloc.yaml", "/proc", "/sys/fs/cgroup", false, false}, metrics, sender, clock);
  EXPECT_TRUE(loop.start_with(std::move(*loaded.config), loaded.content_hash).empty());
  for (int i = 0; i < 25; ++i) {
    loop.check_now();
    clock.advance(std::chrono::seconds(1));
  }
  constexpr int kChecks = 30;
  allocations = 0;
  counting = true;
  for (int i = 0; i < kChecks; ++i) {
    loop.check_now();
    clock.advance(std::chrono::seconds(1));
  }
  counting = false;
  const std::string text = metrics.render();
  const std::string key = "memoryguard_rule_processes{rule=\"kids\"} ";
  const auto at = text.find(key);
  Count c;
  c.per_check = static_cast<double>(allocations.load()) / kChecks;
  c.watched = at == std::string::npos ? 0 : std::stoul(text.substr(at + key.size()));
  return c;
}

class CheckAllocationsTest : public ::testing::TestWithParam<const char*> {};

TEST_P(CheckAllocationsTest, DoNotGrowWithTheNumberOfProcesses) {
  const Count few = allocations_per_check(20, GetParam());
  const Count many = allocations_per_check(400, GetParam());
  ASSERT_EQ(few.watched, 20u);
  ASSERT_EQ(many.watched, 400u);
  std::printf("allocations per check: %.1f with %zu processes, %.1f with %zu\n", few.per_check,
              few.watched, many.per_check, many.watched);
  // Vectors that the judge builds afresh each check grow by doubling, so a
  // few more allocations for 20x the processes are expected (log n); one per
  // process would be 380 more.
  EXPECT_LT(many.per_check - few.per_check, 20.0);
}

INSTANTIATE_TEST_SUITE_P(Measures, CheckAllocationsTest, ::testing::Values("rss", "pss"));

}  // namespace
}  // namespace mg

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (getpid() != 1) {
    std::fprintf(stderr,
                 "unit_alloc_tests must run as pid 1 of its own PID namespace "
                 "(unshare --pid --fork --mount-proc)\n");
    return 1;
  }
  return RUN_ALL_TESTS();
}
