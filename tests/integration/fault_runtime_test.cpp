// The ground moving under a running agent: /proc missing at start, or gone
// in the middle of a run (a bind mount of /proc that is unmounted, then its
// directory removed, then mounted again). The agent says so at start, keeps
// running meanwhile (counting scan errors, /healthz still 200 because the
// check loop is alive), and acts again once /proc is back.
//
// The test binary runs in its own mount namespace (unshare --mount-proc), so
// these mounts are private to it.
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "integration/harness.h"

namespace mgt {
namespace {

class FaultRuntimeTest : public IntegrationTest {
 protected:
  std::string config(const std::string& limit) const {
    return "interval: 100ms\n"
           "rules:\n"
           "  - name: guard\n"
           "    match: " +
           match_yaml() +
           "\n"
           "    limit: " +
           limit + "\n";
  }

  void TearDown() override {
    if (mounted_) umount2(proc_.c_str(), MNT_DETACH);
    IntegrationTest::TearDown();
  }

  std::string proc_;
  bool mounted_ = false;
};

TEST_F(FaultRuntimeTest, MissingProcfsOrCgroupfsAtStartIsAClearErrorExitTwo) {
  const std::string file = write_config(config("1Gi"));
  for (const std::string flag : {"--procfs", "--cgroupfs"}) {
    SCOPED_TRACE(flag);
    const RunResult r = run({binary_path(), "--config.file=" + file, flag + "=/nonexistent/proc",
                             "--dry-run", "--web.listen-address=127.0.0.1:0"},
                            dir(), 10s);
    ASSERT_TRUE(r.exit) << "it kept running without " << flag;
    EXPECT_EQ(r.exit_code(), 2) << r.err;
    EXPECT_NE(r.err.find(flag), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("/nonexistent/proc"), std::string::npos) << r.err;
  }
}

TEST_F(FaultRuntimeTest, ProcfsThatVanishesMidRunIsSurvivedAndGuardingResumes) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount";
  proc_ = path("proc");
  ASSERT_EQ(mkdir(proc_.c_str(), 0755), 0);
  ASSERT_EQ(mount("/proc", proc_.c_str(), nullptr, MS_BIND | MS_REC, nullptr), 0)
      << std::strerror(errno);
  mounted_ = true;
  Helper& watched = hog(5);
  Agent& agent = start_agent(write_config(config("20Mi")), {"--procfs=" + proc_});
  const auto processes = [](const Scrape& s) {
    return s.value("memoryguard_rule_processes", {{"rule", "guard"}}).value_or(-1);
  };
  ASSERT_EQ(
      processes(agent.wait_for_metrics([&](const Scrape& s) { return processes(s) == 1; }, 5s)),
      1.0);

  // Unmounted: the directory is there, and empty.
  ASSERT_EQ(umount2(proc_.c_str(), MNT_DETACH), 0) << std::strerror(errno);
  mounted_ = false;
  Scrape s = agent.wait_for_metrics([&](const Scrape& s) { return processes(s) == 0; }, 5s);
  EXPECT_EQ(processes(s), 0.0) << "processes are still reported from a /proc that is gone";
  EXPECT_TRUE(agent.alive());
  EXPECT_EQ(agent.get("/healthz").status, 200) << "the check loop is alive, so healthy";

  // Removed: listing it fails, every scan, and every scan counts it.
  ASSERT_EQ(rmdir(proc_.c_str()), 0) << std::strerror(errno);
  const auto io_errors = [](const Scrape& s) {
    return s.sum("memoryguard_scan_errors_total", {{"reason", "io"}});
  };
  const double errors_before = io_errors(agent.scrape());
  s = agent.wait_for_metrics([&](const Scrape& s) { return io_errors(s) >= errors_before + 5; },
                             5s);
  EXPECT_GE(io_errors(s), errors_before + 5)
      << "a /proc that cannot be listed is not counted as an io scan error";
  EXPECT_TRUE(agent.alive()) << agent.log();
  EXPECT_EQ(agent.get("/healthz").status, 200);
  EXPECT_TRUE(s.ok());

  // Back: guarding resumes.
  ASSERT_EQ(mkdir(proc_.c_str(), 0755), 0);
  ASSERT_EQ(mount("/proc", proc_.c_str(), nullptr, MS_BIND | MS_REC, nullptr), 0)
      << std::strerror(errno);
  mounted_ = true;
  Helper& h = hog(10, {"--grow-mib=10", "--every-ms=100", "--max-mib=40"});
  const auto info = h.proc.wait_reaped(10s);
  ASSERT_TRUE(info) << "guarding did not resume once /proc was back:\n" << agent.log();
  const std::string log = agent.log();
  const auto said = [&](const std::string& line) {
    std::size_t n = 0;
    for (auto at = log.find(line); at != std::string::npos; at = log.find(line, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(said("cannot list processes"), 1u) << "said once, not every scan:\n" << log;
  EXPECT_EQ(said("listing processes works again"), 1u) << log;
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  EXPECT_TRUE(watched.proc.alive());
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
