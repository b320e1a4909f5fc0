// What the conditions read of a cgroup, on fixture trees of the three
// layouts: which cgroup the memory controller accounts a process in, which
// one holds its pressure, the charge and inactive file cache in v1 and v2
// form, memory.pressure, and that one check reads each file once.
#include "measure/cgroup_signals.h"

#include <gtest/gtest.h>

#include "fixture_tree.h"
#include "measure/host_signals.h"

namespace mg {
namespace {

using testutil::FixtureTree;

constexpr const char* kPsi =
    "some avg10=31.20 avg60=10.00 avg300=2.00 total=1000\n"
    "full avg10=20.00 avg60=5.00 avg300=1.00 total=500\n";

std::vector<CgroupMembership> memberships(const std::string& v2, const std::string& mem) {
  std::vector<CgroupMembership> m{{9, "name=systemd", "/"}, {2, "cpu,cpuacct", "/"}};
  if (!mem.empty()) m.push_back({4, "memory", mem});
  if (!v2.empty()) m.push_back({0, "", v2});
  return m;
}

TEST(CgroupSignalsUnified, WorkingSetAndPressureOfOneCgroup) {
  FixtureTree t({
      {"cgroup.controllers", "cpu io memory pids\n"},
      {"pod/memory.max", "1073741824\n"},
      {"pod/app/memory.current", "524288000\n"},
      {"pod/app/memory.max", "max\n"},
      {"pod/app/memory.stat", "anon 100\nfile 200\ninactive_file 104857600\nactive_file 5\n"},
      {"pod/app/memory.pressure", kPsi},
      {"nomem/cgroup.procs", ""},  // memory controller not enabled here
  });
  CgroupFs fs(t.root());
  const auto m = memberships("/pod/app", "");
  const auto ref = fs.memory_cgroup(m);
  ASSERT_TRUE(ref);
  EXPECT_TRUE(ref->v2);
  EXPECT_EQ(ref->path, "/pod/app");
  EXPECT_EQ(fs.pressure_cgroup(m), (CgroupRef{true, "/pod/app"}));
  EXPECT_FALSE(fs.memory_cgroup(memberships("/nomem", "")));
  EXPECT_FALSE(fs.memory_cgroup(memberships("/", ""))) << "the root has no charge to read";

  CgroupSignals signals(fs);
  ScanErrors errors;
  const auto& mem = signals.memory(*ref, errors);
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->usage.usage, 524288000u);
  EXPECT_EQ(mem->usage.inactive_file, 104857600u);
  EXPECT_EQ(mem->usage.working_set(), 524288000u - 104857600u);
  EXPECT_EQ(mem->limit, 1073741824u) << "the least over the cgroup and its ancestors";
  const auto& psi = signals.pressure(*fs.pressure_cgroup(m), errors);
  ASSERT_TRUE(psi);
  EXPECT_DOUBLE_EQ(psi->some.avg10, 31.20);
  EXPECT_EQ(errors.io + errors.parse + errors.vanished + errors.permission, 0u);
}

TEST(CgroupSignalsHybrid, ChargeOnTheV1SidePressureOnTheV2Side) {
  // As on this project's CI machine: memory on v1, and memory.pressure in
  // every cgroup of the unified tree.
  FixtureTree t({
      {"unified/cgroup.controllers", ""},
      {"unified/app/memory.pressure", kPsi},
      {"memory/tasks", ""},
      {"memory/app/memory.usage_in_bytes", "314572800\n"},
      {"memory/app/memory.limit_in_bytes", "134217728\n"},
      {"memory/app/memory.stat",
       "cache 314572800\ninactive_file 1\ntotal_inactive_file 209715200\n"},
  });
  CgroupFs fs(t.root());
  ASSERT_EQ(fs.layout(), CgroupLayout::kHybrid);
  const auto m = memberships("/app", "/app");
  const auto mem_ref = fs.memory_cgroup(m);
  ASSERT_TRUE(mem_ref);
  EXPECT_FALSE(mem_ref->v2) << "the v2 side has no memory.current: the charge is on v1";
  EXPECT_EQ(fs.pressure_cgroup(m), (CgroupRef{true, "/app"}));
  CgroupSignals signals(fs);
  ScanErrors errors;
  const auto& mem = signals.memory(*mem_ref, errors);
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->usage.inactive_file, 209715200u) << "v1 counts total_inactive_file";
  EXPECT_EQ(mem->usage.working_set(), 104857600u);
  EXPECT_EQ(mem->limit, 134217728u);
  EXPECT_TRUE(signals.pressure(CgroupRef{true, "/app"}, errors));
}

TEST(CgroupSignalsLegacy, NoV2MeansNoCgroupPressure) {
  FixtureTree t({
      {"memory/tasks", ""},
      {"memory/app/memory.usage_in_bytes", "1000\n"},
      {"memory/app/memory.limit_in_bytes", "9223372036854771712\n"},
      {"memory/app/memory.stat", "total_inactive_file 400\n"},
  });
  CgroupFs fs(t.root());
  ASSERT_EQ(fs.layout(), CgroupLayout::kLegacy);
  const auto m = memberships("", "/app");
  EXPECT_FALSE(fs.has_v2());
  EXPECT_FALSE(fs.pressure_cgroup(m));
  CgroupSignals signals(fs);
  ScanErrors errors;
  const auto& mem = signals.memory(*fs.memory_cgroup(m), errors);
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->usage.working_set(), 600u);
  EXPECT_FALSE(mem->limit) << "the v1 sentinel is no limit";
}

TEST(CgroupSignals, EachFileOncePerCheckAndErrorsCounted) {
  FixtureTree t({
      {"cgroup.controllers", "memory\n"},
      {"a/memory.current", "100\n"},
      {"a/memory.stat", "inactive_file 10\n"},
      {"a/memory.pressure", kPsi},
      {"broken/memory.current", "lots\n"},
      {"broken/memory.stat", "inactive_file 10\n"},
  });
  CgroupFs fs(t.root());
  CgroupSignals signals(fs);
  ScanErrors errors;
  const CgroupRef a{true, "/a"};
  for (int rule = 0; rule < 5; ++rule) {
    ASSERT_TRUE(signals.memory(a, errors));
    ASSERT_TRUE(signals.pressure(a, errors));
  }
  EXPECT_EQ(signals.reads(), 2u) << "five rules, one read of each file";
  signals.new_check();
  t.write("a/memory.current", "200\n");
  EXPECT_EQ(signals.memory(a, errors)->usage.usage, 200u) << "a new check reads anew";
  EXPECT_EQ(signals.reads(), 3u);

  EXPECT_FALSE(signals.memory(CgroupRef{true, "/broken"}, errors));
  EXPECT_EQ(errors.parse, 1u);
  EXPECT_FALSE(signals.memory(CgroupRef{true, "/gone"}, errors));
  EXPECT_FALSE(signals.pressure(CgroupRef{true, "/gone"}, errors));
  EXPECT_EQ(errors.vanished, 2u);
}

TEST(HostSignals, MeminfoAndPressureOncePerCheck) {
  FixtureTree proc({
      {"meminfo", "MemTotal: 1000 kB\nMemAvailable: 250 kB\n"},
      {"pressure/memory", kPsi},
  });
  ProcFs fs(proc.root());
  HostSignals host(fs);
  ScanErrors errors;
  EXPECT_FALSE(host.last_meminfo()) << "nothing read before a rule asks";
  for (int rule = 0; rule < 3; ++rule) {
    ASSERT_TRUE(host.meminfo(errors));
    ASSERT_TRUE(host.pressure(errors));
  }
  EXPECT_EQ(host.reads(), 2u);
  EXPECT_EQ(*host.last_meminfo()->available, 250u * 1024);
  host.new_check();
  EXPECT_FALSE(host.last_meminfo()) << "a check that asks nothing exports nothing";
}

TEST(HostSignals, AKernelWithoutPsi) {
  FixtureTree proc({{"meminfo", "MemTotal: 1000 kB\n"}});
  ProcFs fs(proc.root());
  HostSignals host(fs);
  ScanErrors errors;
  EXPECT_FALSE(host.pressure(errors));
  EXPECT_EQ(errors.vanished, 1u);
  ASSERT_TRUE(host.meminfo(errors));
  EXPECT_FALSE(host.meminfo(errors)->available);
}

}  // namespace
}  // namespace mg
