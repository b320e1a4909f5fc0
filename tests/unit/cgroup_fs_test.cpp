#include "procfs/cgroup_fs.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <string>
#include <thread>

#include "fixture_tree.h"

namespace mg {
namespace {

using testutil::FixtureTree;

constexpr std::uint64_t kMiB = 1024 * 1024;
const char* kV1Unlimited = "9223372036854771712\n";  // LONG_MAX rounded to a 4 KiB page

std::vector<CgroupMembership> hybrid_memberships(const std::string& v2, const std::string& mem) {
  return {{9, "name=systemd", "/"}, {4, "memory", mem}, {2, "cpu,cpuacct", "/"}, {0, "", v2}};
}

TEST(CgroupFsLayout, DetectsEachLayout) {
  FixtureTree unified({{"cgroup.controllers", "cpu io memory pids\n"}});
  FixtureTree hybrid({{"unified/cgroup.controllers", ""}, {"memory/tasks", ""}, {"cpu/tasks", ""}});
  FixtureTree hybrid_no_memory({{"unified/cgroup.controllers", "memory\n"}});
  FixtureTree legacy({{"memory/tasks", ""}, {"pids/tasks", ""}});
  FixtureTree legacy_no_memory({{"cpu,cpuacct/tasks", ""}});
  FixtureTree none({{"something-else/file", ""}});

  EXPECT_EQ(CgroupFs(unified.root()).layout(), CgroupLayout::kUnified);
  EXPECT_EQ(CgroupFs(hybrid.root()).layout(), CgroupLayout::kHybrid);
  EXPECT_EQ(CgroupFs(hybrid_no_memory.root()).layout(), CgroupLayout::kHybrid);
  EXPECT_EQ(CgroupFs(legacy.root()).layout(), CgroupLayout::kLegacy);
  EXPECT_EQ(CgroupFs(legacy_no_memory.root()).layout(), CgroupLayout::kLegacy);
  EXPECT_EQ(CgroupFs(none.root()).layout(), CgroupLayout::kNone);
  EXPECT_EQ(CgroupFs(none.path("missing")).layout(), CgroupLayout::kNone);
  EXPECT_STREQ(to_string(CgroupLayout::kHybrid), "hybrid");
}

TEST(CgroupFsUnified, PrimaryDirAndLimits) {
  FixtureTree t({
      {"cgroup.controllers", "cpu io memory pids\n"},
      {"kubepods/memory.max", "max\n"},
      {"kubepods/pod1/memory.max", "1073741824\n"},
      {"kubepods/pod1/app/memory.max", "max\n"},
      {"kubepods/pod1/app/cgroup.procs", "12\n34\n"},
      {"kubepods/pod1/app/cgroup.kill", ""},
      {"kubepods/pod1/tight/memory.max", "268435456\n"},
      {"free/memory.max", "max\n"},
  });
  CgroupFs fs(t.root());
  ASSERT_EQ(fs.layout(), CgroupLayout::kUnified);

  auto ref = fs.primary({{0, "", "/kubepods/pod1/app"}});
  ASSERT_TRUE(ref.has_value());
  EXPECT_TRUE(ref->v2);
  EXPECT_EQ(ref->path, "/kubepods/pod1/app");
  EXPECT_EQ(fs.dir_of(*ref), t.root() + "/kubepods/pod1/app");
  EXPECT_EQ(fs.dir_of({true, "/"}), t.root());

  // "max" here, 1 GiB on the parent: the parent's limit applies.
  EXPECT_EQ(fs.memory_limit(*ref), 1024 * kMiB);
  EXPECT_EQ(fs.memory_limit({{0, "", "/kubepods/pod1/app"}}), 1024 * kMiB);
  // Tighter than the parent: its own.
  EXPECT_EQ(fs.memory_limit(CgroupRef{true, "/kubepods/pod1/tight"}), 256 * kMiB);
  // "max" all the way up: unlimited.
  EXPECT_EQ(fs.memory_limit(CgroupRef{true, "/free"}), std::nullopt);
  EXPECT_EQ(fs.memory_limit(CgroupRef{true, "/"}), std::nullopt);

  auto procs = fs.procs(*ref);
  ASSERT_TRUE(procs.ok());
  EXPECT_EQ(*procs, (std::vector<pid_t>{12, 34}));
  EXPECT_EQ(fs.procs(CgroupRef{true, "/gone"}).error(), ReadError::kVanished);
  EXPECT_TRUE(fs.can_kill(*ref));
  EXPECT_FALSE(fs.can_kill(CgroupRef{true, "/kubepods/pod1/tight"}));  // old kernel: no file
}

TEST(CgroupFsUnified, RootProcessAndUnusableMemberships) {
  FixtureTree t({{"cgroup.controllers", "memory\n"}});
  CgroupFs fs(t.root());
  auto root = fs.primary({{0, "", "/"}});
  ASSERT_TRUE(root.has_value());
  EXPECT_EQ(*root, (CgroupRef{true, "/"}));
  // Only v1 lines on a v2-only filesystem: nothing here to use.
  EXPECT_EQ(fs.primary({{4, "memory", "/a"}}), std::nullopt);
  EXPECT_EQ(fs.primary({}), std::nullopt);
  // Outside our cgroup namespace: not below this mount.
  EXPECT_EQ(fs.primary({{0, "", "/../other"}}), std::nullopt);
  EXPECT_EQ(fs.dir_of(CgroupRef{true, "/../other"}), "");
}

TEST(CgroupFsUnified, NeverKillsTheRoot) {
  // In a cgroup namespace "/" is our own container, and it has cgroup.kill.
  FixtureTree t({{"cgroup.controllers", "memory\n"}, {"cgroup.kill", ""}});
  CgroupFs fs(t.root());
  EXPECT_FALSE(fs.can_kill(CgroupRef{true, "/"}));
  auto r = fs.kill(CgroupRef{true, "/"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), ReadError::kPermission);
  std::ifstream in(t.path("cgroup.kill"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "");
}

TEST(CgroupFsUnified, KillWritesOne) {
  // On a plain file the write lands as "1", which is what the kernel reads.
  FixtureTree t({{"cgroup.controllers", "memory\n"}, {"app/cgroup.kill", ""}});
  CgroupFs fs(t.root());
  ASSERT_TRUE(fs.kill(CgroupRef{true, "/app"}).ok());
  std::ifstream in(t.path("app/cgroup.kill"));
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "1");
  EXPECT_EQ(fs.kill(CgroupRef{true, "/gone"}).error(), ReadError::kVanished);
  EXPECT_FALSE(fs.kill(CgroupRef{false, "/app"}).ok());  // v1 has no cgroup.kill
}

// Hybrid as systemd sets it up: v2 at unified/ with no controllers, memory
// limits on the v1 side.
TEST(CgroupFsHybrid, PrefersNonRootV2ElseV1Memory) {
  FixtureTree t({
      {"unified/cgroup.controllers", ""},
      {"unified/system.slice/app.service/cgroup.procs", "7\n"},
      {"memory/tasks", ""},
      {"memory/memory.limit_in_bytes", kV1Unlimited},
      {"memory/process_api/memory.limit_in_bytes", "536870912\n"},
      {"memory/process_api/x1/memory.limit_in_bytes", kV1Unlimited},
      {"memory/system.slice/memory.limit_in_bytes", kV1Unlimited},
      {"memory/system.slice/app.service/memory.limit_in_bytes", "104857600\n"},
  });
  CgroupFs fs(t.root());
  ASSERT_EQ(fs.layout(), CgroupLayout::kHybrid);

  // In a v2 cgroup: grouped by v2, limited by v1 memory (no memory.max on v2).
  const auto in_service =
      hybrid_memberships("/system.slice/app.service", "/system.slice/app.service");
  auto ref = fs.primary(in_service);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(*ref, (CgroupRef{true, "/system.slice/app.service"}));
  EXPECT_EQ(fs.dir_of(*ref), t.root() + "/unified/system.slice/app.service");
  EXPECT_EQ(fs.memory_limit(in_service), 100 * kMiB);
  EXPECT_EQ(fs.memory_limit(*ref), std::nullopt);  // the v2 side has no limit files

  // v2 at the root (this machine's case): the v1 memory cgroup is more telling.
  const auto in_v1 = hybrid_memberships("/", "/process_api/x1");
  ref = fs.primary(in_v1);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(*ref, (CgroupRef{false, "/process_api/x1"}));
  EXPECT_EQ(fs.dir_of(*ref), t.root() + "/memory/process_api/x1");
  EXPECT_EQ(fs.memory_limit(*ref), 512 * kMiB);  // unlimited itself, parent 512 MiB
  EXPECT_EQ(fs.memory_limit(in_v1), 512 * kMiB);
  EXPECT_FALSE(fs.can_kill(*ref));

  // Root in both: v2's root.
  ref = fs.primary(hybrid_memberships("/", "/"));
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(*ref, (CgroupRef{true, "/"}));
  EXPECT_EQ(fs.memory_limit(hybrid_memberships("/", "/")), std::nullopt);
}

TEST(CgroupFsHybrid, MemoryControllerOnV2) {
  // A hybrid host whose memory controller was moved to the v2 side.
  FixtureTree t({{"unified/cgroup.controllers", "memory\n"},
                 {"unified/app/memory.max", "2147483648\n"},
                 {"cpu/tasks", ""}});
  CgroupFs fs(t.root());
  ASSERT_EQ(fs.layout(), CgroupLayout::kHybrid);
  EXPECT_EQ(fs.memory_limit({{2, "cpu", "/"}, {0, "", "/app"}}), 2048 * kMiB);
}

TEST(CgroupFsLegacy, V1MemoryOnly) {
  FixtureTree t({
      {"memory/tasks", ""},
      {"memory/memory.limit_in_bytes", kV1Unlimited},
      {"memory/docker/memory.limit_in_bytes", "9223372036854775807\n"},  // raw LONG_MAX
      {"memory/docker/abc/memory.limit_in_bytes", "67108864\n"},
      {"memory/docker/abc/cgroup.procs", "100\n"},
      {"memory/docker/def/memory.limit_in_bytes", kV1Unlimited},
      {"memory/docker/bad/memory.limit_in_bytes", "lots\n"},
      {"cpu,cpuacct/tasks", ""},
  });
  CgroupFs fs(t.root());
  ASSERT_EQ(fs.layout(), CgroupLayout::kLegacy);
  const std::vector<CgroupMembership> m = {
      {11, "cpu,cpuacct", "/docker/abc"}, {7, "memory", "/docker/abc"}, {1, "name=systemd", "/"}};
  auto ref = fs.primary(m);
  ASSERT_TRUE(ref.has_value());
  EXPECT_EQ(*ref, (CgroupRef{false, "/docker/abc"}));
  EXPECT_EQ(fs.dir_of(*ref), t.root() + "/memory/docker/abc");
  EXPECT_EQ(fs.memory_limit(m), 64 * kMiB);
  EXPECT_EQ(fs.memory_limit(CgroupRef{false, "/docker/def"}), std::nullopt);
  EXPECT_EQ(fs.memory_limit(CgroupRef{false, "/docker/bad"}), std::nullopt);
  // A v2 line (a v1 host still prints "0::/") cannot be used without v2.
  EXPECT_EQ(fs.primary({{0, "", "/x"}}), std::nullopt);
  auto procs = fs.procs(*ref);
  ASSERT_TRUE(procs.ok());
  EXPECT_EQ(*procs, std::vector<pid_t>{100});
  EXPECT_FALSE(fs.can_kill(*ref));
  // Co-mounted memory controller ("memory,cpuset") still counts.
  EXPECT_EQ(fs.primary({{3, "cpuset,memory", "/docker/abc"}}), (CgroupRef{false, "/docker/abc"}));
}

TEST(CgroupFsProcs, MalformedIsParseError) {
  FixtureTree t({{"cgroup.controllers", ""}, {"a/cgroup.procs", "12\nxyz\n"}});
  CgroupFs fs(t.root());
  EXPECT_EQ(fs.procs(CgroupRef{true, "/a"}).error(), ReadError::kParse);
}

// ---- The real cgroupfs: cgroup.kill on a cgroup this test creates. ----

TEST(CgroupFsReal, KillTakesTheWholeCgroup) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create a cgroup";
  CgroupFs fs("/sys/fs/cgroup");
  if (fs.layout() != CgroupLayout::kUnified && fs.layout() != CgroupLayout::kHybrid) {
    GTEST_SKIP() << "no cgroup v2 here (" << to_string(fs.layout()) << ")";
  }
  const CgroupRef ref{true, "/mg-unit-" + std::to_string(::getpid())};
  const std::string dir = fs.dir_of(ref);
  if (::mkdir(dir.c_str(), 0755) != 0) GTEST_SKIP() << "mkdir " << dir << ": " << errno;
  struct Rmdir {
    std::string dir;
    ~Rmdir() {
      // The cgroup empties only once the killed child is reaped.
      for (int i = 0; i < 100 && ::rmdir(dir.c_str()) != 0 && errno == EBUSY; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    }
  } cleanup{dir};
  if (!fs.can_kill(ref)) GTEST_SKIP() << "no cgroup.kill (kernel < 5.14)";

  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (;;) ::pause();
  }
  // Whatever fails below, the child (ours) does not outlive the test; it
  // goes before the rmdir above.
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      if (pid > 0) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
      }
    }
  } reaper{child};
  {
    std::ofstream procs(dir + "/cgroup.procs");
    procs << child << std::flush;
    ASSERT_TRUE(procs.good()) << "could not move the child into " << dir;
  }
  auto members = fs.procs(ref);
  ASSERT_TRUE(members.ok());
  EXPECT_EQ(*members, std::vector<pid_t>{child});

  // The child's own view of its cgroups leads back to this cgroup.
  ProcFs proc;
  auto cgroups = proc.read_cgroups(child);
  ASSERT_TRUE(cgroups.ok());
  EXPECT_EQ(fs.primary(*cgroups), ref);

  auto killed = fs.kill(ref);
  ASSERT_TRUE(killed.ok()) << "cgroup.kill: " << to_string(killed.error());
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  reaper.pid = 0;
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

TEST(CgroupFsReal, OwnProcessHasAPrimaryCgroup) {
  CgroupFs fs("/sys/fs/cgroup");
  if (fs.layout() == CgroupLayout::kNone) GTEST_SKIP() << "no cgroupfs mounted";
  ProcFs proc;
  auto cgroups = proc.read_cgroups(::getpid());
  ASSERT_TRUE(cgroups.ok());
  auto ref = fs.primary(*cgroups);
  ASSERT_TRUE(ref.has_value());
  // Without a cgroup namespace, a container may have its own cgroup mounted
  // as the root while /proc shows the host path; root + path then misses.
  struct stat st;
  if (::stat(fs.dir_of(*ref).c_str(), &st) != 0) {
    GTEST_SKIP() << fs.dir_of(*ref) << " missing: cgroupfs not mounted at the hierarchy root";
  }
  EXPECT_TRUE(S_ISDIR(st.st_mode));
}

TEST(CgroupFsMountRoot, AContainerWithoutCgroupNamespaceSeesHostPaths) {
  // Docker/Kubernetes on cgroup v1: /proc/PID/cgroup says
  // /kubepods/pod1/ctr, but the container's memory mount starts there.
  FixtureTree cg({{"memory/memory.limit_in_bytes", "268435456\n"},
                  {"memory/cgroup.procs", "7\n"},
                  {"memory/worker/memory.limit_in_bytes", "9223372036854771712\n"}});
  FixtureTree info({{"mountinfo", "31 23 0:28 / " + cg.root() + " rw - tmpfs tmpfs rw\n" +
                                      "35 31 0:32 /kubepods/pod1/ctr " + cg.root() +
                                      "/memory rw,relatime - cgroup cgroup rw,memory\n"}});
  CgroupFs fs(cg.root(), info.root() + "/mountinfo");
  EXPECT_EQ(CgroupFs::mount_root_of(info.root() + "/mountinfo", cg.root() + "/memory"),
            "/kubepods/pod1/ctr");
  std::vector<CgroupMembership> m{{4, "memory", "/kubepods/pod1/ctr/worker"}};
  ASSERT_TRUE(fs.memory_limit(m).has_value());
  EXPECT_EQ(*fs.memory_limit(m), 268435456u);
  EXPECT_EQ(fs.dir_of({false, "/kubepods/pod1/ctr"}), cg.root() + "/memory");
  EXPECT_EQ(fs.dir_of({false, "/kubepods/pod1/ctr/worker"}), cg.root() + "/memory/worker");
}

TEST(CgroupFsMountRoot, MissingMountinfoMeansPathsAreAsGiven) {
  EXPECT_EQ(CgroupFs::mount_root_of("/nonexistent/mountinfo", "/sys/fs/cgroup/memory"), "/");
}

}  // namespace
}  // namespace mg
