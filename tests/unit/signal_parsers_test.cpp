// The kernel's memory signals as text: PSI lines (with and without `full`),
// /proc/meminfo (with and without MemAvailable) and memory.stat in its v1
// and v2 forms.
#include <gtest/gtest.h>

#include "procfs/cgroup_memory.h"
#include "procfs/meminfo.h"
#include "procfs/pressure.h"

namespace mg {
namespace {

TEST(PressureParse, SomeAndFull) {
  auto p = parse_pressure(
      "some avg10=12.34 avg60=5.00 avg300=1.01 total=123456\n"
      "full avg10=2.50 avg60=0.50 avg300=0.10 total=7890\n");
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->some.avg10, 12.34);
  EXPECT_DOUBLE_EQ(p->some.average(60), 5.00);
  EXPECT_DOUBLE_EQ(p->some.average(300), 1.01);
  EXPECT_EQ(p->some.total_us, 123456u);
  ASSERT_TRUE(p->full);
  EXPECT_DOUBLE_EQ(p->full->average(10), 2.50);
  EXPECT_EQ(p->full->total_us, 7890u);
}

TEST(PressureParse, WithoutAFullLine) {
  // Kernels before 5.13 may write only `some` for a resource.
  auto p = parse_pressure("some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->full);
  EXPECT_DOUBLE_EQ(p->some.avg10, 0.0);
}

TEST(PressureParse, UnknownFieldsAndLinesAreIgnored) {
  auto p = parse_pressure(
      "some avg10=1.00 avg60=2.00 avg300=3.00 total=4 avg1200=9.00\n"
      "partial avg10=7.00\n"
      "full avg10=0.10 avg60=0.20 avg300=0.30 total=5");  // no final newline
  ASSERT_TRUE(p);
  EXPECT_DOUBLE_EQ(p->some.avg300, 3.00);
  ASSERT_TRUE(p->full);
  EXPECT_DOUBLE_EQ(p->full->avg300, 0.30);
}

TEST(PressureParse, RefusesWhatIsNotPsi) {
  EXPECT_FALSE(parse_pressure(""));
  EXPECT_FALSE(parse_pressure("full avg10=1.00 avg60=1.00 avg300=1.00 total=1\n"));  // no some
  EXPECT_FALSE(parse_pressure("some avg10=1.00 avg60=1.00 total=1\n"));              // no avg300
  EXPECT_FALSE(parse_pressure("some avg10=x avg60=1.00 avg300=1.00 total=1\n"));
  EXPECT_FALSE(parse_pressure("some avg10=-1.00 avg60=1.00 avg300=1.00 total=1\n"));
  EXPECT_FALSE(parse_pressure("some avg10=nan avg60=1.00 avg300=1.00 total=1\n"));
  EXPECT_FALSE(parse_pressure("some avg10 avg60=1.00 avg300=1.00 total=1\n"));
  EXPECT_FALSE(parse_pressure("some avg10=1.00 avg60=1.00 avg300=1.00 total=-5\n"));
}

TEST(MemInfoParse, TotalAndAvailableInBytes) {
  auto m = parse_meminfo(
      "MemTotal:       24683748 kB\n"
      "MemFree:        22464540 kB\n"
      "MemAvailable:   24003328 kB\n"
      "Buffers:          123456 kB\n"
      "HugePages_Total:       0\n");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->total, 24683748ull * 1024);
  ASSERT_TRUE(m->available);
  EXPECT_EQ(*m->available, 24003328ull * 1024);
}

TEST(MemInfoParse, KernelsBefore314HaveNoMemAvailable) {
  auto m = parse_meminfo("MemTotal: 1000 kB\nMemFree: 500 kB\n");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->available);
}

TEST(MemInfoParse, RefusesAMissingOrBadTotal) {
  EXPECT_FALSE(parse_meminfo(""));
  EXPECT_FALSE(parse_meminfo("MemAvailable: 10 kB\n"));
  EXPECT_FALSE(parse_meminfo("MemTotal: lots kB\n"));
  EXPECT_FALSE(parse_meminfo("MemTotal: 100 MB\n"));
  EXPECT_FALSE(parse_meminfo("MemTotal: 0 kB\n"));
  EXPECT_FALSE(parse_meminfo("MemTotal: 99999999999999999999 kB\n"));
  // A bad MemAvailable is unknown, not a reason to refuse MemTotal.
  auto m = parse_meminfo("MemTotal: 100 kB\nMemAvailable: ?? kB\n");
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->available);
}

TEST(MemoryStat, FindsTheKeyAndNotItsPrefixedTwins) {
  const std::string v1 =
      "cache 314572800\nrss 0\ninactive_file 1000\nactive_file 2000\n"
      "total_cache 314572800\ntotal_inactive_file 3000\ntotal_active_file 4000\n";
  EXPECT_EQ(memory_stat_value(v1, "inactive_file"), 1000u);
  EXPECT_EQ(memory_stat_value(v1, "total_inactive_file"), 3000u);
  EXPECT_EQ(memory_stat_value(v1, "active_file"), 2000u);
  const std::string v2 = "anon 1234\nfile 5678\ninactive_file 4096\nactive_file 8192\n";
  EXPECT_EQ(memory_stat_value(v2, "inactive_file"), 4096u);
  EXPECT_FALSE(memory_stat_value(v2, "total_inactive_file"));
  EXPECT_FALSE(memory_stat_value("inactive_file x\n", "inactive_file"));
  EXPECT_FALSE(memory_stat_value("inactive_files 3\n", "inactive_file"));
}

TEST(CgroupMemory, WorkingSetNeverGoesBelowZero) {
  EXPECT_EQ((CgroupMemory{1000, 300}).working_set(), 700u);
  // inactive_file can briefly exceed usage while the counters settle.
  EXPECT_EQ((CgroupMemory{300, 1000}).working_set(), 0u);
}

}  // namespace
}  // namespace mg
