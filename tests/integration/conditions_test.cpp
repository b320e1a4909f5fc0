// The conditions beside a limit on processes, on real cgroups with real page
// cache, real memory stalls and the host's real MemAvailable: a working set
// that page cache alone cannot fill, pressure that a thrashing cgroup does
// raise, and an earlyoom-style MemAvailable trigger set just above what the
// host has, so that the host is never really short. Every rule matches only
// processes of the test's own cgroup, or carrying its token.
#include <linux/magic.h>
#include <signal.h>
#include <sys/statfs.h>

#include <fstream>
#include <limits>

#include "integration/harness.h"
#include "integration/memory_cgroup.h"

namespace mgt {
namespace {

class ConditionsTest : public IntegrationTest {
 protected:
  void SetUp() override {
    IntegrationTest::SetUp();
    cgroup_ = &memory_cgroup(cgroup_name());
    if (!cgroup_->ok()) GTEST_SKIP() << "no memory cgroup to test in: " << cgroup_->error();
  }
  void TearDown() override {
    IntegrationTest::TearDown();
    for (const auto& f : files_) unlink(f.c_str());
  }

  std::string cgroup_name() const { return "mgt_" + token(); }
  std::string cgroup_match(const std::string& extra = "") const {
    return "{ cgroup: '/" + cgroup_name() + "$'" + extra + " }";
  }

  // A file of `mib` MiB that is in no page cache yet, on a filesystem that
  // has a page cache of files (not tmpfs, whose pages are anonymous memory).
  std::string uncached_file(long mib) {
    struct statfs fs {};
    std::string dir = this->dir();
    if (statfs(dir.c_str(), &fs) == 0 && fs.f_type == TMPFS_MAGIC) dir = "/var/tmp";
    const std::string file = dir + "/mgt-" + token() + ".bin";
    files_.push_back(file);
    const std::string error = write_uncached_file(file, mib);
    EXPECT_EQ(error, "");
    return file;
  }

  Helper& reader(const std::string& file, bool loop) {
    std::vector<std::string> args{"--file=" + file, "--await-cgroup=" + cgroup_name()};
    if (loop) args.push_back("--loop");
    Helper& h = spawn_helper("mgt_reader", args);
    EXPECT_TRUE(cgroup_->add(h.pid())) << "cannot move " << h.pid() << " into the cgroup";
    return h;
  }

  MemoryCgroup* cgroup_ = nullptr;
  std::vector<std::string> files_;
};

// The kubelet's working set: 300 MiB of file cache that was read once sits
// on the inactive list, which the kernel drops before it OOM-kills, so it
// does not count; 300 MiB of anonymous memory does.
TEST_F(ConditionsTest, WorkingSetCountsAnonymousMemoryNotPageCache) {
  const std::string file = uncached_file(300);
  Helper& cache = reader(file, false);
  ASSERT_TRUE(wait_until([&] { return cgroup_->inactive_file() >= 250 * kMiB; }, 60s))
      << "the reader's page cache was not charged to the test's cgroup (inactive_file "
      << cgroup_->inactive_file() / kMiB << " MiB)";

  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: ws\n"
                               "    match: " +
                               cgroup_match() +
                               "\n"
                               "    scope: cgroup\n"
                               "    measure: working_set\n"
                               "    limit: 100Mi\n"));
  const Scrape seen = agent.wait_for_metrics(
      [](const Scrape& s) {
        return s.value("memoryguard_cgroup_working_set_bytes", {{"rule", "ws"}}).has_value();
      },
      10s);
  const auto ws = seen.value("memoryguard_cgroup_working_set_bytes", {{"rule", "ws"}});
  ASSERT_TRUE(ws) << seen.text();
  EXPECT_LT(*ws, 100.0 * kMiB) << "page cache read once counted in the working set";
  EXPECT_GE(cgroup_->usage(), 250 * kMiB) << "the cgroup is charged for the cache";
  sleep_for(1500ms);  // fifteen checks
  EXPECT_TRUE(cache.proc.alive()) << "killed for page cache\n"
                                  << read_file(cgroup_->memory_dir() + "/memory.stat")
                                  << agent.log();

  Helper& anon = hog(1, {"--grow-mib=10", "--every-ms=50", "--max-mib=300"});
  ASSERT_TRUE(cgroup_->add(anon.pid()));
  const auto info = anon.proc.wait_reaped(30s);
  ASSERT_TRUE(info) << "300 MiB of anonymous memory did not trip a 100 MiB working set\n"
                    << agent.log();
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  EXPECT_TRUE(cache.proc.alive()) << "the victim is the largest process, not the cache's reader";
  const Scrape after = agent.scrape();
  EXPECT_EQ(after.value("memoryguard_kills_total", {{"rule", "ws"}, {"signal", "SIGKILL"}}), 1.0);
  EXPECT_GE(after
                .value("memoryguard_condition_fired_total",
                       {{"rule", "ws"}, {"condition", "working_set"}})
                .value_or(0),
            1.0);
  // The action's line comes once its outcome is known.
  EXPECT_TRUE(wait_until(
      [&] { return agent.log().find("trigger=\"working_set ") != std::string::npos; }, 10s))
      << agent.log();
  expect_promtool_accepts(after);
}

// A cgroup whose memory limit is far below the file its readers re-read
// thrashes: every pass evicts what the next needs, and its tasks stall on
// memory, which its v2 memory.pressure shows (on a hybrid host too, where
// the limit is on the v1 side). A rule at 10% takes the matched victim; a
// rule whose threshold the 300 s average cannot reach in the test's time
// takes nothing.
TEST_F(ConditionsTest, PressureOfAThrashingCgroupTakesItsVictim) {
  if (cgroup_->v2_dir().empty()) GTEST_SKIP() << "no cgroup v2 here, so no memory.pressure";
  ASSERT_TRUE(cgroup_->set_limit(32 * kMiB));
  const std::string file = uncached_file(256);
  Helper& victim = hog(2);
  ASSERT_TRUE(cgroup_->add(victim.pid()));
  std::vector<Helper*> readers;
  for (int i = 0; i < 3; ++i) readers.push_back(&reader(file, true));
  // A thrash this hard can fail the cgroup's reclaim and call the kernel's
  // own OOM killer, which took the victim before memoryguard could (under
  // TSan, 11 s in). The victim is memoryguard's to take: the kernel takes a
  // reader, and the two left go on thrashing.
  auto oom_score_adj = [](pid_t pid, int adj) {
    std::ofstream("/proc/" + std::to_string(pid) + "/oom_score_adj") << adj << "\n";
  };
  oom_score_adj(victim.pid(), -1000);
  for (Helper* r : readers) oom_score_adj(r->pid(), 1000);

  const std::string match = cgroup_match(", name: '^mgt_hog$'");
  Agent& agent =
      start_agent(write_config("interval: 200ms\n"
                               "rules:\n"
                               "  - name: stall\n"
                               "    match: " +
                               match +
                               "\n"
                               "    scope: cgroup\n"
                               "    pressure: {some: 10%, window: 10s}\n"
                               "  - name: never\n"
                               "    match: " +
                               match +
                               "\n"
                               "    scope: cgroup\n"
                               "    pressure: {some: 50%, window: 300s}\n"));
  const auto info = victim.proc.wait_reaped(120s);
  ASSERT_TRUE(info) << "the cgroup thrashed for 2 minutes and its victim lives; pressure now: "
                    << read_file(cgroup_->v2_dir() + "/memory.pressure") << agent.log();
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  // No rule matches a reader: memoryguard acted on none (the kernel may have).
  for (Helper* r : readers) {
    EXPECT_EQ(agent.log().find("msg=action rule=stall pid=" + std::to_string(r->pid()) + " "),
              std::string::npos)
        << agent.log();
  }

  const Scrape s = agent.scrape();
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "stall"}, {"signal", "SIGKILL"}}), 1.0);
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "never"}, {"signal", "SIGKILL"}}), 0.0);
  EXPECT_EQ(
      s.value("memoryguard_condition_fired_total", {{"rule", "never"}, {"condition", "pressure"}}),
      0.0);
  EXPECT_EQ(s.value("memoryguard_limit_exceeded_total", {{"rule", "never"}}), 0.0);
  EXPECT_GE(
      s.value("memoryguard_condition_fired_total", {{"rule", "stall"}, {"condition", "pressure"}})
          .value_or(0),
      1.0);
  // The action's line comes once its outcome is known.
  EXPECT_TRUE(wait_until(
      [&] {
        return agent.log().find("trigger=\"cgroup pressure some avg10 ") != std::string::npos;
      },
      10s))
      << agent.log();
  EXPECT_FALSE(s.find("memoryguard_cgroup_memory_pressure_ratio",
                      {{"rule", "never"}, {"kind", "some"}, {"window", "300s"}})
                   .empty())
      << s.text();
  expect_promtool_accepts(s);
}

std::uint64_t mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::uint64_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

// earlyoom's trigger, with the rule's victims: MemAvailable below a line the
// test draws 1 GiB above what the host has once its hogs are in, so the
// largest hog (3 GiB) is taken and, once it is gone, MemAvailable is back
// above the line and the smaller ones are spared. The rest of the machine
// may move MemAvailable too (a run beside compilers saw a 2 GiB kill free
// only 0.9 GiB of it): where the host itself went back under the line after
// the kill, taking the next largest was right, and only the first victim is
// judged.
TEST_F(ConditionsTest, AvailableTakesTheLargestProcessAndSparesTheRest) {
  Helper& big = hog(3072);
  Helper& mid = hog(128);
  Helper& small = hog(64);
  const std::uint64_t available = mem_available();
  ASSERT_GT(available, 0u);
  const std::uint64_t below = available + 1024 * kMiB;
  Agent& agent =
      start_agent(write_config("interval: 100ms\n"
                               "rules:\n"
                               "  - name: short\n"
                               "    match: " +
                               match_yaml() +
                               "\n"
                               "    available: {below: " +
                               std::to_string(below) + "}\n"));
  const auto info = big.proc.wait_reaped(20s);
  ASSERT_TRUE(info) << "MemAvailable was below the rule's line and nothing was killed\n"
                    << agent.log();
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  // The action's line comes once its outcome is known.
  EXPECT_TRUE(wait_until(
      [&] { return agent.log().find("trigger=\"MemAvailable ") != std::string::npos; }, 10s));
  EXPECT_EQ(agent.log().find("msg=action rule=short pid=" + std::to_string(big.pid())),
            agent.log().find("msg=action rule=short"))
      << "the first victim is the largest\n"
      << agent.log();

  // Fifteen checks with MemAvailable back above the line, if the host let it.
  std::uint64_t lowest = std::numeric_limits<std::uint64_t>::max();
  const auto until = Clock::now() + 1500ms;
  while (Clock::now() < until) {
    lowest = std::min(lowest, mem_available());
    sleep_for(20ms);
  }
  const Scrape s = agent.scrape();
  if (lowest >= below) {
    EXPECT_TRUE(mid.proc.alive()) << agent.log();
    EXPECT_TRUE(small.proc.alive()) << agent.log();
    EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "short"}, {"signal", "SIGKILL"}}), 1.0);
  } else {
    std::fprintf(stderr,
                 "note: the host's MemAvailable went back under the line (%llu MiB < %llu MiB) "
                 "after the kill, so the rule rightly went on; only the first victim is judged\n",
                 static_cast<unsigned long long>(lowest / kMiB),
                 static_cast<unsigned long long>(below / kMiB));
  }
  EXPECT_GT(s.value("memoryguard_host_memory_available_bytes").value_or(0), 0.0);
  EXPECT_GT(s.value("memoryguard_host_memory_total_bytes").value_or(0), 0.0);
  EXPECT_FALSE(s.value("memoryguard_rule_limit_bytes", {{"rule", "short"}}).has_value())
      << "a rule without a limit shows none";
  expect_promtool_accepts(s);
}

}  // namespace
}  // namespace mgt
