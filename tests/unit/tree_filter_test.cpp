// The tree `run` and `--pid` narrow every rule to, on a fixture /proc.
#include "match/tree_filter.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "fake_proc.h"

namespace mg {
namespace {

using testutil::FakeProcess;
using testutil::FixtureTree;

class TreeFilterTest : public ::testing::Test {
 protected:
  void add(int pid, int ppid, std::uint64_t start_time) {
    FakeProcess p;
    p.pid = pid;
    p.ppid = ppid;
    p.start_time = start_time;
    for (const auto& e : p.entries()) proc.add(e);
  }
  void reparent(int pid, int ppid, std::uint64_t start_time) {
    proc.remove(std::to_string(pid));
    add(pid, ppid, start_time);
  }
  std::vector<pid_t> members(TreeFilter& filter) {
    ScanErrors errors;
    table.scan(clock.now(), {}, std::chrono::seconds(10), errors);
    filter.refresh(table);
    std::vector<pid_t> all;
    for (const auto& [pid, p] : table.processes()) all.push_back(pid);
    filter.apply(all);
    std::sort(all.begin(), all.end());
    return all;
  }

  FixtureTree proc{{"uptime", "1000.00 1500.00\n"}};
  FixtureTree cgroups{{"cgroup.controllers", "memory\n"}};
  ProcFs fs{proc.root()};
  CgroupFs cg{cgroups.root(), "/nonexistent"};
  ProcessTable table{fs, cg};
  ManualClock clock;
};

TEST_F(TreeFilterTest, TheRootAndItsDescendantsAndNoOneElse) {
  add(1, 0, 100);
  add(10, 1, 1000);  // the root
  add(11, 10, 1100);
  add(12, 11, 1200);
  add(20, 1, 1000);  // a stranger, and its child
  add(21, 20, 1300);
  TreeFilter filter({{10, 1000}, true, true});
  EXPECT_EQ(members(filter), (std::vector<pid_t>{10, 11, 12}));
}

TEST_F(TreeFilterTest, WithoutTheRootOrWithoutDescendants) {
  add(10, 1, 1000);
  add(11, 10, 1100);
  TreeFilter below({{10, 1000}, false, true});
  EXPECT_EQ(members(below), (std::vector<pid_t>{11}));
  TreeFilter alone({{10, 1000}, true, false});
  EXPECT_EQ(members(alone), (std::vector<pid_t>{10}));
}

TEST_F(TreeFilterTest, AReusedRootPidIsNotTheRoot) {
  add(10, 1, 2000);  // pid 10 again, started after the root we were given
  add(11, 10, 2100);
  TreeFilter filter({{10, 1000}, true, true});
  EXPECT_TRUE(members(filter).empty());
}

TEST_F(TreeFilterTest, AParentThatStartedAfterItsChildIsAReusedPid) {
  add(10, 1, 1000);
  add(11, 10, 1100);
  // 30's stale ppid names 11, a process that started after 30 did: 11 is
  // not the parent 30 had, but a later owner of that pid.
  add(30, 11, 900);
  TreeFilter filter({{10, 1000}, true, true});
  EXPECT_EQ(members(filter), (std::vector<pid_t>{10, 11}));
}

TEST_F(TreeFilterTest, AnOrphanStaysInTheTreeWhileItLives) {
  add(10, 1, 1000);
  add(11, 10, 1100);
  add(12, 11, 1200);
  TreeFilter filter({{10, 1000}, true, true});
  ASSERT_EQ(members(filter), (std::vector<pid_t>{10, 11, 12}));
  // 11 exits; its child goes to pid 1, outside the tree, and forks again.
  proc.remove("11");
  reparent(12, 1, 1200);
  add(13, 12, 1300);
  EXPECT_EQ(members(filter), (std::vector<pid_t>{10, 12, 13}));
  // A new process on 12's pid is not 12, but 13 is still 13.
  reparent(12, 1, 5000);
  EXPECT_EQ(members(filter), (std::vector<pid_t>{10, 13}));
}

}  // namespace
}  // namespace mg
