// Which births, exits and execs move a process's pool mark: those of its
// parent, siblings, children and program, and no other (they only count as
// the host's churn).
#include "measure/sharing_pools.h"

#include <gtest/gtest.h>

#include "fake_proc.h"

namespace mg {
namespace {

using namespace std::chrono_literals;
using testutil::FakeProcess;
using testutil::FixtureTree;

// The generations a forked worker's walk depends on.
bool same_pool(const PoolMark& a, const PoolMark& b) {
  return a.ppid == b.ppid && a.siblings == b.siblings && a.children == b.children &&
         a.forks == b.forks && a.program == b.program;
}

class SharingPoolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    add(10, 1, "master");   // a prefork server...
    add(11, 10, "master");  // ...its two workers...
    add(12, 10, "master");
    add(20, 1, "cron");  // ...and an unrelated daemon
    scan();
  }
  void add(int pid, int ppid, const std::string& comm) {
    FakeProcess f;
    f.pid = pid;
    f.ppid = ppid;
    f.comm = comm;
    f.start_time = 5000 + static_cast<std::uint64_t>(pid);
    for (const auto& e : f.entries()) proc.add(e);
  }
  void scan() {
    clock.advance(1s);
    table.scan(clock.now(), AttributeNeeds{}, 10s, errors);
    pools.observe(table, clock.now());
  }
  PoolMark mark(pid_t pid) const { return pools.mark(*table.find(pid)); }

  FixtureTree proc{{"uptime", "1000.00 1500.00\n"}};
  FixtureTree cgroups{{"cgroup.controllers", "memory\n"}};
  ProcFs fs{proc.root()};
  CgroupFs cg{cgroups.root(), "/nonexistent"};
  ProcessTable table{fs, cg};
  ManualClock clock;
  ScanErrors errors;
  SharingPools pools;
};

TEST_F(SharingPoolsTest, TheFirstScanFindsNoBirths) {
  EXPECT_EQ(mark(11).host_churn, 0u);
  EXPECT_EQ(mark(11).population, 4u);
}

TEST_F(SharingPoolsTest, ANewWorkerMovesItsSiblingsAndItsParent) {
  const PoolMark worker = mark(11), master = mark(10), daemon = mark(20);
  add(13, 10, "master");
  scan();
  EXPECT_FALSE(same_pool(mark(11), worker));
  EXPECT_FALSE(same_pool(mark(10), master)) << "the master has a new child";
  EXPECT_NE(mark(10).children, master.children);
  EXPECT_NE(mark(10).forks, master.forks);
  EXPECT_EQ(mark(11).forks, worker.forks) << "the worker forked nothing";
  EXPECT_TRUE(same_pool(mark(20), daemon)) << "the daemon shares nothing with the pool";
  EXPECT_EQ(mark(20).host_churn, daemon.host_churn + 1);
  EXPECT_EQ(mark(20).population, 5u);
}

TEST_F(SharingPoolsTest, AnExitMovesThePoolAndTheParentsExitItsChildren) {
  const PoolMark worker = mark(12);
  proc.remove("11");
  scan();
  EXPECT_FALSE(same_pool(mark(12), worker)) << "a sibling exited";
  const PoolMark after = mark(12);
  proc.remove("10");
  scan();
  EXPECT_FALSE(same_pool(mark(12), after)) << "its parent exited";
}

TEST_F(SharingPoolsTest, AnExecMovesBothPrograms) {
  const PoolMark worker = mark(11), daemon = mark(20);
  add(12, 10, "cron");  // worker 12 exec'd into a program called cron
  scan();
  EXPECT_FALSE(same_pool(mark(11), worker));
  EXPECT_FALSE(same_pool(mark(20), daemon)) << "its new program's pool gained a member";
}

TEST_F(SharingPoolsTest, MovedMappingsMoveTheFamilyAndFilePagesTheProgram) {
  const PoolMark worker = mark(11), master = mark(10), daemon = mark(20);
  pools.mappings_moved(*table.find(12), false, clock.now());  // its heap grew
  EXPECT_NE(mark(11).siblings, worker.siblings);
  EXPECT_NE(mark(10).children, master.children);
  EXPECT_EQ(mark(11).program, worker.program) << "no file page moved";
  pools.mappings_moved(*table.find(12), true, clock.now());  // it mapped a file
  EXPECT_NE(mark(11).program, worker.program);
  EXPECT_TRUE(same_pool(mark(20), daemon));
}

TEST_F(SharingPoolsTest, OldGenerationsAreForgottenAndAForgottenOneReadsAsMoved) {
  pools.set_memory(30s);
  pools.mappings_moved(*table.find(20), true, clock.now());
  const PoolMark daemon = mark(20);
  ASSERT_NE(daemon.program, 0u);
  clock.advance(31s);
  scan();
  EXPECT_EQ(mark(20).program, 0u);
  EXPECT_FALSE(same_pool(mark(20), daemon));
}

}  // namespace
}  // namespace mg
