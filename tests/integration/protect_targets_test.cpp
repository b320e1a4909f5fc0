// A rule that matches everything (name: '.') with a 1Ki limit, for the
// targets beyond a single process: a process group that holds the agent and
// its parent, and cgroups that hold the agent or pid 1 (this test binary).
// What the test made dies; the agent, its ancestors, pid 1 and `protect`ed
// processes do not, and cgroup.kill is never written where it would reach
// them.
// SAFETY: such rules are only ever given to an agent inside the private PID
// namespace that ctest creates, where every process is one this test made.
#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "integration/harness.h"

namespace mgt {
namespace {

class ProtectTargetsTest : public IntegrationTest {
 protected:
  void SetUp() override {
    if (getpid() != 1) {
      GTEST_SKIP() << "needs to be pid 1 of a private PID namespace "
                      "(unshare --pid --fork --mount-proc); a rule matching every process "
                      "is not safe anywhere else";
    }
    IntegrationTest::SetUp();
  }

  std::string everything(const std::string& target, const std::string& extra = "") {
    return write_config(
        "interval: 100ms\n"
        "protect:\n"
        "  - name: '^mgt_sleeper$'\n"
        "rules:\n"
        "  - name: everything\n"
        "    match: { name: '.' }\n"
        "    limit: 1Ki\n" +
        extra + "    action: { signal: SIGKILL, target: " + target + " }\n");
  }
};

// The agent is started by a group leader (mgt_pgroup), with two hogs and a
// protected sleeper in the same group. Acting on the hogs' group must take
// the hogs only: never the agent, its parent (the leader), the sleeper or
// pid 1.
TEST_F(ProtectTargetsTest, ProcessGroupOfTheAgentLosesOnlyWhatMayBeKilled) {
  const int port = free_port();
  // mgt_pgroup starts the agent first and the other members after it; for:
  // keeps the first action from coming before they all exist (it reaches
  // the group once, and the group is then in backoff for 30 s).
  const std::string config = everything("process_group", "    for: 1s\n");
  const std::string marker = "--marker=" + token();
  Helper& group = spawn_helper(
      "mgt_pgroup",
      {"--stderr=" + path("agent.stderr"), "--", binary_path(), "--config.file=" + config,
       "--web.listen-address=127.0.0.1:" + std::to_string(port), "--log.level=debug", "--",
       helper_path("mgt_hog"), marker, "--mib=4", "--", helper_path("mgt_hog"), marker, "--mib=4",
       "--", helper_path("mgt_sleeper"), marker, "--mib=2"});
  ASSERT_EQ(group.children.size(), 4u);
  const Proc& agent = group.children[0];
  const Proc& sleeper = group.children[3];
  for (int hog : {1, 2}) {
    EXPECT_TRUE(group.children[hog].wait_dead(15s)) << "hog " << hog << " survived\n"
                                                    << read_file(path("agent.stderr"));
  }
  sleep_for(1s);  // ten more intervals
  EXPECT_TRUE(agent.alive()) << "the agent killed its own group\n"
                             << read_file(path("agent.stderr"));
  EXPECT_TRUE(group.proc.alive()) << "the agent's parent (its group leader) was killed";
  EXPECT_TRUE(sleeper.alive()) << "a protected member of the group was killed";
  EXPECT_EQ(getpid(), 1);

  const Scrape s(http_request(port, "GET", "/metrics").body);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "everything"}, {"signal", "SIGKILL"}}),
            2.0)
      << "only the two hogs may have been signalled";
  const std::string log = read_file(path("agent.stderr"));
  EXPECT_NE(log.find("target=process_group"), std::string::npos) << log;
  // The leader, the agent and the sleeper were enumerated and spared.
  EXPECT_NE(log.find("3 protected spared"), std::string::npos) << log;
  agent.signal(SIGTERM);
  EXPECT_TRUE(agent.wait_dead(10s));
}

// Moves pid 1 into `cg` for the scope of the object, and back after.
class Pid1In {
 public:
  explicit Pid1In(TestCgroup& cg) {
    std::ifstream in("/proc/self/cgroup");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("0::", 0) == 0) home_ = line.substr(3);
    }
    // TestCgroup makes its cgroup right under the v2 root.
    root_ = cg.dir().substr(0, cg.dir().rfind('/'));
    moved_ = cg.add(1);
  }
  ~Pid1In() {
    std::ofstream back(root_ + (home_ == "/" ? "" : home_) + "/cgroup.procs");
    back << 1 << std::flush;
  }
  bool moved() const { return moved_; }

 private:
  std::string home_ = "/";
  std::string root_;
  bool moved_ = false;
};

// Three cgroups, a hog in each: one also holds the agent, one holds pid 1,
// the last only its hog. All hogs die; cgroup.kill is written for the last
// one only, and the agent and pid 1 live.
TEST_F(ProtectTargetsTest, CgroupHoldingTheAgentOrPid1IsNeverCgroupKilled) {
  TestCgroup with_agent("mgt-protect-agent-" + token());
  TestCgroup with_init("mgt-protect-init-" + token());
  TestCgroup plain("mgt-protect-plain-" + token());
  for (auto* cg : {&with_agent, &with_init, &plain}) {
    if (!cg->ok()) GTEST_SKIP() << cg->error();
    if (!cg->v2()) GTEST_SKIP() << "cgroup.kill needs cgroup v2";
  }
  if (access((plain.dir() + "/cgroup.kill").c_str(), F_OK) != 0) {
    GTEST_SKIP() << "no cgroup.kill (Linux < 5.14)";
  }
  Helper& hog_a = hog(4);
  Helper& hog_i = hog(4);
  Helper& hog_p = hog(4);
  ASSERT_TRUE(with_agent.add(hog_a.pid()));
  ASSERT_TRUE(with_init.add(hog_i.pid()));
  ASSERT_TRUE(plain.add(hog_p.pid()));
  Pid1In init(with_init);
  ASSERT_TRUE(init.moved());
  // for: gives the agent time to be moved before anything is judged.
  Agent& agent = start_agent(everything("cgroup", "    for: 2s\n"));
  ASSERT_TRUE(with_agent.add(agent.pid()));

  for (Helper* h : {&hog_a, &hog_i, &hog_p}) {
    const auto info = h->proc.wait_reaped(15s);
    ASSERT_TRUE(info) << "a hog survived\n" << agent.log();
    EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  }
  sleep_for(1s);
  ASSERT_TRUE(agent.alive()) << "the agent was killed with its cgroup\n" << agent.log();
  EXPECT_EQ(getpid(), 1);
  EXPECT_EQ(agent.get("/healthz").status, 200);

  const std::string log = agent.log();
  std::size_t whole = 0;
  for (auto p = log.find("killed by cgroup.kill"); p != std::string::npos;
       p = log.find("killed by cgroup.kill", p + 1))
    ++whole;
  EXPECT_EQ(whole, 1u) << "cgroup.kill only for the cgroup with nobody protected\n" << log;
  const Scrape s = agent.scrape();
  EXPECT_EQ(s.value("memoryguard_kills_total", {{"rule", "everything"}, {"signal", "SIGKILL"}}),
            3.0)
      << log;
  const auto exit = agent.stop();
  ASSERT_TRUE(exit);
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit);
}

}  // namespace
}  // namespace mgt
