// The process table on a fixture /proc: what it reads again, and when.
#include "discover/process_table.h"

#include <gtest/gtest.h>

#include "fake_proc.h"
#include "util/clock.h"

namespace mg {
namespace {

using testutil::FakeProcess;
using testutil::FixtureTree;

// An exec sets comm and exe before the new command line: a scan in between
// reads the new name with an empty cmdline. The next scan must read the
// command line again, or a cmdline rule stays blind to the new program
// until the attributes' refresh, seconds later.
TEST(ProcessTable, AnEmptyCommandLineIsReadAgainAtTheNextScan) {
  FixtureTree proc{{"uptime", "1000.00 1500.00\n"}};
  FixtureTree cgroups{{"cgroup.controllers", "memory\n"}};
  ProcFs fs{proc.root()};
  CgroupFs cg{cgroups.root(), "/nonexistent"};
  ProcessTable table{fs, cg};
  ManualClock clock;
  AttributeNeeds needs;
  needs.cmdline = true;

  FakeProcess hog;
  hog.pid = 57;
  hog.comm = "mgt_hog";
  hog.cmdline = "";
  for (const auto& e : hog.entries()) proc.add(e);
  ScanErrors errors;
  table.scan(clock.now(), needs, std::chrono::seconds(10), errors);
  ASSERT_NE(table.find(57), nullptr);
  EXPECT_EQ(table.find(57)->attrs.cmdline, "");

  proc.write("57/cmdline", std::string("mgt_hog\0--marker=m1\0", 20));
  clock.advance(std::chrono::milliseconds(100));
  table.scan(clock.now(), needs, std::chrono::seconds(10), errors);
  EXPECT_EQ(table.find(57)->attrs.cmdline, "mgt_hog --marker=m1");

  // A command line once read is kept until its refresh: no read per scan.
  proc.write("57/cmdline", std::string("changed\0", 8));
  clock.advance(std::chrono::milliseconds(100));
  table.scan(clock.now(), needs, std::chrono::seconds(10), errors);
  EXPECT_EQ(table.find(57)->attrs.cmdline, "mgt_hog --marker=m1");
  EXPECT_EQ(errors.vanished + errors.permission + errors.parse + errors.io, 0u);
}

}  // namespace
}  // namespace mg
