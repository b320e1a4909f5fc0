#include "procfs/proc_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <string>

#include "fixture_tree.h"

namespace mg {
namespace {

using testutil::FixtureTree;
using namespace std::string_literals;

constexpr std::uint64_t kMiB = 1024 * 1024;

// A stat line shaped like the kernel's (from a real /proc/PID/stat), with
// the fields the reader takes filled in.
std::string stat_line(pid_t pid, const std::string& comm, char state = 'S', pid_t ppid = 1,
                      pid_t pgrp = 7, unsigned flags = 4194304, std::uint64_t start = 53211) {
  return std::to_string(pid) + " (" + comm + ") " + state + " " + std::to_string(ppid) + " " +
         std::to_string(pgrp) + " 3118 0 -1 " + std::to_string(flags) +
         " 99 0 0 0 0 0 0 0 20 0 1 0 " + std::to_string(start) +
         " 3133440 385 18446744073709551615 94230048821248 94230048841129 140732252851072 0 0 0 "
         "0 0 0 0 0 0 17 0 0 0 0 0 0 94230048857136 94230048858752 94230584745984 "
         "140732252859020 140732252859040 140732252859040 140732252860395 0\n";
}

const char* kRollupOld =
    "00400000-7fff8f5ff000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:                1664 kB\n"
    "Pss:                 448 kB\n"
    "Shared_Clean:       1476 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:        76 kB\n"
    "Private_Dirty:       112 kB\n"
    "Referenced:         1664 kB\n"
    "Anonymous:           112 kB\n"
    "Swap:                  0 kB\n"
    "SwapPss:               0 kB\n"
    "Locked:                0 kB\n";

// 5.x+ kernels split Pss; the split lines must not be added into Pss.
const char* kRollupNew =
    "558f5b456000-7fffbc876000 ---p 00000000 00:00 0                          [rollup]\n"
    "Rss:                1664 kB\n"
    "Pss:                 448 kB\n"
    "Pss_Dirty:           112 kB\n"
    "Pss_Anon:            112 kB\n"
    "Pss_File:            336 kB\n"
    "Pss_Shmem:             0 kB\n"
    "Shared_Clean:       1476 kB\n"
    "Shared_Dirty:          0 kB\n"
    "Private_Clean:        76 kB\n"
    "Private_Dirty:       112 kB\n"
    "Referenced:         1664 kB\n"
    "Anonymous:           112 kB\n"
    "SwapPss:               0 kB\n";

std::string smaps_mapping(const std::string& header, int rss, int pss, int pclean, int pdirty) {
  return header + "\nSize:               " + std::to_string(rss * 2) +
         " kB\nKernelPageSize:        4 kB\nMMUPageSize:           4 kB\nRss:                " +
         std::to_string(rss) + " kB\nPss:                 " + std::to_string(pss) +
         " kB\nShared_Clean:          0 kB\nShared_Dirty:          0 kB\nPrivate_Clean:       " +
         std::to_string(pclean) + " kB\nPrivate_Dirty:       " + std::to_string(pdirty) +
         " kB\nReferenced:            8 kB\nAnonymous:             0 kB\nSwap:                  "
         "0 kB\nSwapPss:               0 kB\nLocked:                0 kB\nTHPeligible:           "
         "0\nVmFlags: rd mr mw me \n";
}

TEST(ProcFsStat, ParsesFieldsAfterPlainComm) {
  FixtureTree t({{"42/stat", stat_line(42, "bash", 'R', 17, 40, 4194560, 987654321)}});
  ProcFs fs(t.root());
  auto st = fs.read_stat(42);
  ASSERT_TRUE(st.ok()) << to_string(st.error());
  EXPECT_EQ(st->pid, 42);
  EXPECT_EQ(st->comm, "bash");
  EXPECT_EQ(st->state, 'R');
  EXPECT_EQ(st->ppid, 17);
  EXPECT_EQ(st->pgrp, 40);
  EXPECT_EQ(st->flags, 4194560u);
  EXPECT_EQ(st->start_time, 987654321u);
  EXPECT_FALSE(st->is_kernel_thread());
}

TEST(ProcFsStat, CommWithParenthesesAndSpacesCannotShiftFields) {
  FixtureTree t({
      {"1/stat", stat_line(1, "a) (b c", 'S', 5, 6, 0, 111)},
      {"2/stat", stat_line(2, "web worker 3", 'D', 8, 9, 0, 222)},
      {"3/stat", stat_line(3, ") 1 2 3 (", 'S', 10, 11, 0, 333)},
      {"4/stat", stat_line(4, "new\nline", 'S', 12, 13, 0, 444)},
      {"5/stat", stat_line(5, "", 'S', 14, 15, 0, 555)},
  });
  ProcFs fs(t.root());
  struct Want {
    pid_t pid;
    const char* comm;
    pid_t ppid;
    std::uint64_t start;
  };
  for (const Want& w :
       {Want{1, "a) (b c", 5, 111}, Want{2, "web worker 3", 8, 222}, Want{3, ") 1 2 3 (", 10, 333},
        Want{4, "new\nline", 12, 444}, Want{5, "", 14, 555}}) {
    auto st = fs.read_stat(w.pid);
    ASSERT_TRUE(st.ok()) << w.pid;
    EXPECT_EQ(st->comm, w.comm);
    EXPECT_EQ(st->ppid, w.ppid);
    EXPECT_EQ(st->start_time, w.start);
  }
}

TEST(ProcFsStat, KernelThreadFlag) {
  FixtureTree t({{"2/stat", stat_line(2, "kthreadd", 'S', 0, 0, 2129984, 32)}});
  ProcFs fs(t.root());
  auto st = fs.read_stat(2);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(st->is_kernel_thread());
}

TEST(ProcFsStat, MalformedIsParseError) {
  FixtureTree t({
      {"1/stat", "1 (x S 1 2 3\n"},                          // no ')'
      {"2/stat", "2 (x) S 1 2 3 4 5\n"},                     // too short for starttime
      {"3/stat", "3 (x) S one 2 3 4 5 6 7 8 9 10 11 12\n"},  // ppid not a number
      {"4/stat", ""},
  });
  ProcFs fs(t.root());
  for (pid_t pid : {1, 2, 3, 4}) {
    auto st = fs.read_stat(pid);
    ASSERT_FALSE(st.ok()) << pid;
    EXPECT_EQ(st.error(), ReadError::kParse) << pid;
  }
}

TEST(ProcFsIds, ReadsRealAndEffectiveUid) {
  FixtureTree t({{"9/status",
                  "Name:\tsu\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t9\nPid:\t9\nPPid:\t1\n"
                  "TracerPid:\t0\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n"},
                 {"10/status", "Name:\tx\nGid:\t1\t1\t1\t1\n"}});
  ProcFs fs(t.root());
  auto ids = fs.read_ids(9);
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->real_uid, 1000u);
  EXPECT_EQ(ids->effective_uid, 0u);
  auto missing = fs.read_ids(10);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error(), ReadError::kParse);
}

TEST(ProcFsCmdline, NulsBecomeSpacesTrailingDropped) {
  FixtureTree t({
      {"1/cmdline", "python3\0-m\0app:wsgi\0--workers=4\0"s},
      {"2/cmdline", ""},                                  // kernel thread or zombie
      {"3/cmdline", "nginx: worker process\0\0\0\0\0"s},  // setproctitle padding
      {"4/cmdline", "no-trailing-nul"},
  });
  ProcFs fs(t.root());
  EXPECT_EQ(*fs.read_cmdline(1), "python3 -m app:wsgi --workers=4");
  auto empty = fs.read_cmdline(2);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
  EXPECT_EQ(*fs.read_cmdline(3), "nginx: worker process");
  EXPECT_EQ(*fs.read_cmdline(4), "no-trailing-nul");
}

TEST(ProcFsCmdline, CappedAt64KiB) {
  FixtureTree t({{"1/cmdline", std::string(1 << 20, 'x')}});
  ProcFs fs(t.root());
  auto c = fs.read_cmdline(1);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->size(), 64u * 1024);
}

TEST(ProcFsExe, ReadsLinkKeepsDeletedAndEmptyForNoExe) {
  FixtureTree t({
      FixtureTree::symlink("1/exe", "/usr/bin/python3.11"),
      FixtureTree::symlink("2/exe", "/opt/app/server (deleted)"),
      {"3/stat", stat_line(3, "kworker/0:1", 'I', 2, 0, 0x208040, 40)},  // no exe link
  });
  ProcFs fs(t.root());
  EXPECT_EQ(*fs.read_exe(1), "/usr/bin/python3.11");
  EXPECT_EQ(*fs.read_exe(2), "/opt/app/server (deleted)");
  auto none = fs.read_exe(3);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, "");
}

TEST(ProcFsCgroups, ParsesV1AndV2Lines) {
  FixtureTree t({{"5/cgroup",
                  "12:memory:/kubepods/burstable/pod1/abc\n"
                  "4:cpu,cpuacct:/kubepods/burstable/pod1/abc\n"
                  "1:name=systemd:/system.slice/app.service\n"
                  "0::/system.slice/app.service\n"},
                 {"6/cgroup", "0::/a:b\n"},
                 {"7/cgroup", "garbage\n"}});
  ProcFs fs(t.root());
  auto cg = fs.read_cgroups(5);
  ASSERT_TRUE(cg.ok());
  ASSERT_EQ(cg->size(), 4u);
  EXPECT_EQ((*cg)[0].hierarchy_id, 12);
  EXPECT_EQ((*cg)[0].controllers, "memory");
  EXPECT_EQ((*cg)[0].path, "/kubepods/burstable/pod1/abc");
  EXPECT_EQ((*cg)[1].controllers, "cpu,cpuacct");
  EXPECT_EQ((*cg)[2].controllers, "name=systemd");
  EXPECT_EQ((*cg)[3].hierarchy_id, 0);
  EXPECT_EQ((*cg)[3].controllers, "");
  EXPECT_EQ((*cg)[3].path, "/system.slice/app.service");
  EXPECT_EQ(fs.read_cgroups(6)->at(0).path, "/a:b");
  ASSERT_FALSE(fs.read_cgroups(7).ok());
  EXPECT_EQ(fs.read_cgroups(7).error(), ReadError::kParse);
}

TEST(ProcFsRss, StatmResidentTimesPageSize) {
  FixtureTree t({{"8/statm", "765 429 401 5 0 123 0\n"}, {"9/statm", "765\n"}});
  ProcFs fs(t.root());
  auto rss = fs.read_rss(8);
  ASSERT_TRUE(rss.ok());
  EXPECT_EQ(*rss, 429u * static_cast<std::uint64_t>(fs.page_size()));
  EXPECT_EQ(fs.read_rss(9).error(), ReadError::kParse);
}

TEST(ProcFsMemory, RollupWithoutPssSplit) {
  FixtureTree t({{"3/smaps_rollup", kRollupOld}});
  ProcFs fs(t.root());
  auto m = fs.read_memory(3);
  ASSERT_TRUE(m.ok()) << to_string(m.error());
  EXPECT_EQ(m->rss, 1664u * 1024);
  EXPECT_EQ(m->pss, 448u * 1024);
  EXPECT_EQ(m->uss, (76u + 112u) * 1024);
  EXPECT_TRUE(fs.has_smaps_rollup());
}

TEST(ProcFsMemory, RollupWithPssSplitUsesOnlyPss) {
  FixtureTree t({{"3/smaps_rollup", kRollupNew}});
  ProcFs fs(t.root());
  auto m = fs.read_memory(3);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->pss, 448u * 1024);
  EXPECT_EQ(m->uss, 188u * 1024);
  EXPECT_EQ(m->private_clean, 76u * 1024);
  EXPECT_EQ(m->shared_anon, 0u) << "Anonymous 112 kB, all of it in Pss_Anon";
  EXPECT_EQ(m->pss_file, 336u * 1024) << "Pss_File + Pss_Shmem";
}

TEST(ProcFsMemory, SharedAnonymousIsAnonymousLessItsPss) {
  // A forked worker: 4 MiB of anonymous pages, half of them shared with its
  // parent (1 MiB of PSS for those).
  FixtureTree t({{"3/smaps_rollup",
                  "Rss: 5000 kB\nPss: 3100 kB\nPss_Anon: 3072 kB\nPrivate_Clean: 0 kB\n"
                  "Private_Dirty: 2048 kB\nAnonymous: 4096 kB\n"},
                 {"4/smaps_rollup", kRollupOld}});
  ProcFs fs(t.root());
  EXPECT_EQ(fs.read_memory(3)->shared_anon, 1024u * 1024);
  EXPECT_FALSE(fs.read_memory(4)->shared_anon) << "no Pss_Anon before Linux 5.9: unknown";
  EXPECT_FALSE(fs.read_memory(4)->pss_file);
}

TEST(ProcFsMemory, RollupWithoutPssIsParseError) {
  FixtureTree t({{"3/smaps_rollup", "Rss: 10 kB\n"}, {"4/smaps_rollup", "Rss: x kB\nPss: 1 kB\n"}});
  ProcFs fs(t.root());
  EXPECT_EQ(fs.read_memory(3).error(), ReadError::kParse);
  EXPECT_EQ(fs.read_memory(4).error(), ReadError::kParse);
}

TEST(ProcFsMemory, OldKernelSumsSmapsAndRemembers) {
  std::string smaps =
      smaps_mapping("00400000-00452000 r-xp 00000000 08:02 173521      /usr/bin/dbus-daemon", 100,
                    50, 10, 0) +
      smaps_mapping("00651000-00652000 rw-p 00051000 08:02 173521      /usr/bin/dbus-daemon", 4, 4,
                    0, 4) +
      smaps_mapping("7f2cb8d11000-7f2cb8d32000 rw-p 00000000 00:00 0    [heap]", 2000, 1500, 0,
                    1500);
  // A big smaps (many mappings) is streamed; make it cross the read chunk.
  std::string many;
  for (int i = 0; i < 400; ++i) {
    many += smaps_mapping("7f0000000000-7f0000001000 r--p 00000000 08:02 1 /lib/x.so", 1, 1, 0, 1);
  }
  ASSERT_GT(many.size(), 64u * 1024);
  FixtureTree t({{"10/smaps", smaps}, {"10/stat", stat_line(10, "dbus")}, {"11/smaps", many}});
  ProcFs fs(t.root());
  auto m = fs.read_memory(10);
  ASSERT_TRUE(m.ok()) << to_string(m.error());
  EXPECT_EQ(m->rss, 2104u * 1024);
  EXPECT_EQ(m->pss, 1554u * 1024);
  EXPECT_EQ(m->uss, 1514u * 1024);
  EXPECT_FALSE(fs.has_smaps_rollup());

  auto big = fs.read_memory(11);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big->pss, 400u * 1024);

  // Decided once: a rollup appearing later is not probed for.
  t.write("10/smaps_rollup", kRollupNew);
  EXPECT_EQ(fs.read_memory(10)->pss, 1554u * 1024);
}

TEST(ProcFsMemory, MissingRollupOfVanishedProcessIsVanishedNotOldKernel) {
  FixtureTree t({{"3/smaps_rollup", kRollupNew}});
  ProcFs fs(t.root());
  auto gone = fs.read_memory(99);  // no /proc/99 at all
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.error(), ReadError::kVanished);
  // Still probing: the next process with a rollup is read from it.
  EXPECT_EQ(fs.read_memory(3)->pss, 448u * 1024);
  EXPECT_TRUE(fs.has_smaps_rollup());
  // Once the rollup is known to exist, its absence means the process went.
  t.remove("3/smaps_rollup");
  EXPECT_EQ(fs.read_memory(3).error(), ReadError::kVanished);
}

TEST(ProcFsVanished, EveryReaderSaysVanished) {
  FixtureTree t({{"1/stat", stat_line(1, "init")}});
  ProcFs fs(t.root());
  const pid_t gone = 4242;
  EXPECT_EQ(fs.read_stat(gone).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_ids(gone).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_cmdline(gone).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_exe(gone).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_cgroups(gone).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_rss(gone).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_memory(gone).error(), ReadError::kVanished);
}

TEST(ProcFsListPids, OnlyNumericEntriesAndReusesVector) {
  FixtureTree t({{"1/stat", "x"},
                 {"42/stat", "x"},
                 {"self/"},
                 {"sys/"},
                 {"uptime", "1 2\n"},
                 {"12ab/"},
                 {"007x"}});
  ProcFs fs(t.root());
  std::vector<pid_t> pids = {999, 998};
  ASSERT_TRUE(fs.list_pids(pids).ok());
  std::sort(pids.begin(), pids.end());
  EXPECT_EQ(pids, (std::vector<pid_t>{1, 42}));
  ProcFs missing(t.path("nope"));
  EXPECT_FALSE(missing.list_pids(pids).ok());
  EXPECT_TRUE(pids.empty());
}

TEST(ProcFsUptime, FirstField) {
  FixtureTree t({{"uptime", "350735.47 234388.90\n"}});
  auto up = ProcFs(t.root()).read_uptime();
  ASSERT_TRUE(up.ok());
  EXPECT_DOUBLE_EQ(*up, 350735.47);
  FixtureTree bad({{"uptime", "soon\n"}});
  EXPECT_EQ(ProcFs(bad.root()).read_uptime().error(), ReadError::kParse);
}

TEST(ProcFsPidFile, TrimsAndValidates) {
  FixtureTree t({{"ok", "1234\n"},
                 {"spaces", "  77 \t\n"},
                 {"empty", ""},
                 {"word", "abc\n"},
                 {"zero", "0\n"},
                 {"negative", "-5\n"},
                 {"two", "12 34\n"},
                 {"huge", "99999999999999999999\n"},
                 {"long", std::string(10000, '1')}});
  ProcFs fs("/nonexistent");  // a pid file is not under the procfs root
  EXPECT_EQ(*fs.read_pid_file(t.path("ok")), 1234);
  EXPECT_EQ(*fs.read_pid_file(t.path("spaces")), 77);
  for (const char* name : {"empty", "word", "zero", "negative", "two", "huge", "long"}) {
    auto r = fs.read_pid_file(t.path(name));
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_EQ(r.error(), ReadError::kParse) << name;
  }
  EXPECT_EQ(fs.read_pid_file(t.path("missing")).error(), ReadError::kVanished);
}

// Root ignores file modes, so the unreadable case runs in a child that has
// given up root (or, when not root, simply on a mode-000 file).
TEST(ProcFsPermission, UnreadableFileIsPermission) {
  FixtureTree t({{"5/stat", stat_line(5, "secret")}, {"5/smaps_rollup", kRollupNew}});
  ASSERT_EQ(::chmod(t.root().c_str(), 0755), 0);
  ASSERT_EQ(::chmod(t.path("5").c_str(), 0755), 0);
  ASSERT_EQ(::chmod(t.path("5/stat").c_str(), 0), 0);
  ASSERT_EQ(::chmod(t.path("5/smaps_rollup").c_str(), 0), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::geteuid() == 0 && ::setresuid(65534, 65534, 65534) != 0) ::_exit(10);
    ProcFs fs(t.root());
    auto st = fs.read_stat(5);
    auto mem = fs.read_memory(5);
    const bool ok = !st.ok() && st.error() == ReadError::kPermission && !mem.ok() &&
                    mem.error() == ReadError::kPermission;
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

// ---- The real /proc of this machine. ----

TEST(ProcFsReal, SelfStatAndIds) {
  ProcFs fs;
  auto st = fs.read_stat(::getpid());
  ASSERT_TRUE(st.ok()) << to_string(st.error());
  EXPECT_EQ(st->pid, ::getpid());
  EXPECT_EQ(st->ppid, ::getppid());
  EXPECT_GT(st->start_time, 0u);
  EXPECT_FALSE(st->is_kernel_thread());
  std::string comm;
  std::getline(std::ifstream("/proc/self/comm"), comm);
  EXPECT_EQ(st->comm, comm);
  auto ids = fs.read_ids(::getpid());
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(ids->real_uid, ::getuid());
  EXPECT_EQ(ids->effective_uid, ::geteuid());
  auto exe = fs.read_exe(::getpid());
  ASSERT_TRUE(exe.ok());
  char self[4096];
  const ssize_t n = ::readlink("/proc/self/exe", self, sizeof self);
  ASSERT_GT(n, 0);
  EXPECT_EQ(*exe, std::string(self, static_cast<std::size_t>(n)));
  auto up = fs.read_uptime();
  ASSERT_TRUE(up.ok());
  EXPECT_GT(*up * static_cast<double>(fs.clock_ticks_per_second()),
            static_cast<double>(st->start_time) - 1);
  std::vector<pid_t> pids;
  ASSERT_TRUE(fs.list_pids(pids).ok());
  EXPECT_NE(std::find(pids.begin(), pids.end(), ::getpid()), pids.end());
}

TEST(ProcFsReal, KernelThreadHasNoExeAndEmptyCmdline) {
  ProcFs fs;
  auto st = fs.read_stat(2);
  if (!st.ok() || !st->is_kernel_thread()) GTEST_SKIP() << "pid 2 is not kthreadd here";
  auto exe = fs.read_exe(2);
  ASSERT_TRUE(exe.ok());
  EXPECT_EQ(*exe, "");
  auto cmd = fs.read_cmdline(2);
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(*cmd, "");
}

// A child that touched 64 MiB of its own: PSS, USS and RSS all grow by it.
// Measured as a difference, because what a forked child inherits depends on
// the test binary (sanitizer shadow memory is hundreds of MiB).
TEST(ProcFsReal, ChildThatTouched64MiB) {
  int ready[2], go[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(go), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    ::close(go[1]);
    void* p =
        ::mmap(nullptr, 64 * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) ::_exit(1);
    char c;
    if (::write(ready[1], "b", 1) != 1 || ::read(go[0], &c, 1) != 1) ::_exit(1);
    // The kernel fills the pages (a raw read of /dev/zero): a sanitizer's
    // interceptors would otherwise touch shadow memory for every byte.
    const int zero = ::open("/dev/zero", O_RDONLY);
    for (std::size_t done = 0; done < 64 * kMiB;) {
      const long n = ::syscall(SYS_read, zero, static_cast<char*>(p) + done, 64 * kMiB - done);
      if (n <= 0) ::_exit(1);
      done += static_cast<std::size_t>(n);
    }
    if (::write(ready[1], "r", 1) != 1) ::_exit(1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  ::close(go[0]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ProcFs fs;
  auto before = fs.read_memory(child);
  auto rss_before = fs.read_rss(child);
  ASSERT_EQ(::write(go[1], "g", 1), 1);
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);
  ::close(go[1]);

  auto m = fs.read_memory(child);
  auto rss = fs.read_rss(child);
  auto st = fs.read_stat(child);
  auto cmd = fs.read_cmdline(child);
  ::kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);

  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(rss_before.ok());
  ASSERT_TRUE(m.ok()) << to_string(m.error());
  ASSERT_TRUE(rss.ok());
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->ppid, ::getpid());
  ASSERT_TRUE(cmd.ok());
  EXPECT_FALSE(cmd->empty());
  auto grew = [](std::uint64_t after, std::uint64_t before) {
    return after >= before + 63 * kMiB && after <= before + 66 * kMiB;
  };
  EXPECT_PRED2(grew, m->pss, before->pss);
  EXPECT_PRED2(grew, m->uss, before->uss);
  EXPECT_PRED2(grew, m->rss, before->rss);
  EXPECT_PRED2(grew, *rss, *rss_before);
  EXPECT_LE(m->uss, m->pss);
  EXPECT_GE(m->rss, m->pss);

  // Reaped: gone for every reader.
  EXPECT_EQ(fs.read_stat(child).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_memory(child).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_cmdline(child).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_exe(child).error(), ReadError::kVanished);
  EXPECT_EQ(fs.read_rss(child).error(), ReadError::kVanished);
}

// The fallback parser on this kernel's real smaps format: summing every
// mapping must agree with the kernel's own rollup.
TEST(ProcFsReal, SmapsSumMatchesRollup) {
  auto slurp = [](const char* path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  // A paused child: its mappings do not move between the two reads, as ours
  // would (reading allocates). It says when it is about to pause, and the
  // reads are kept only when the rollup is the same before and after smaps:
  // right after fork the child is still faulting pages in, more so under ASan.
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(ready[0]);
    (void)!::write(ready[1], "r", 1);
    for (;;) ::pause();
  }
  ::close(ready[1]);
  char byte = 0;
  ASSERT_EQ(::read(ready[0], &byte, 1), 1);
  ::close(ready[0]);
  const std::string dir = "/proc/" + std::to_string(child);
  std::string smaps, rollup;
  for (int i = 0; i < 200; ++i) {
    const std::string before = slurp((dir + "/smaps_rollup").c_str());
    smaps = slurp((dir + "/smaps").c_str());
    rollup = slurp((dir + "/smaps_rollup").c_str());
    if (!smaps.empty() && before == rollup) break;
    ::usleep(10'000);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  if (rollup.empty()) GTEST_SKIP() << "no smaps_rollup on this kernel";
  FixtureTree old_kernel({{"1/smaps", smaps}});
  FixtureTree new_kernel({{"1/smaps_rollup", rollup}});
  auto summed = ProcFs(old_kernel.root()).read_memory(1);
  auto rolled = ProcFs(new_kernel.root()).read_memory(1);
  ASSERT_TRUE(summed.ok());
  ASSERT_TRUE(rolled.ok());
  EXPECT_GT(rolled->pss, 0u);
  // Read a moment apart; rounding per mapping and the reads themselves move
  // the figures a little.
  auto near = [](std::uint64_t a, std::uint64_t b) { return (a > b ? a - b : b - a) < kMiB; };
  EXPECT_PRED2(near, summed->rss, rolled->rss);
  EXPECT_PRED2(near, summed->pss, rolled->pss);
  EXPECT_PRED2(near, summed->uss, rolled->uss);
}

// Exited but not yet reaped: /proc/PID is still there with nothing in it.
TEST(ProcFsReal, ZombieIsNotAnError) {
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ProcFs fs;
  // Wait until it is a zombie without reaping it.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  auto st = fs.read_stat(child);
  auto cmd = fs.read_cmdline(child);
  auto exe = fs.read_exe(child);
  auto mem = fs.read_memory(child);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);

  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->state, 'Z');
  ASSERT_TRUE(cmd.ok());
  EXPECT_EQ(*cmd, "");
  ASSERT_TRUE(exe.ok());
  EXPECT_EQ(*exe, "");
  // A zombie has no memory left to measure; the kernel says ESRCH.
  ASSERT_FALSE(mem.ok());
  EXPECT_EQ(mem.error(), ReadError::kVanished);
}

TEST(ProcFsReal, AnotherUsersMemoryNeedsPtrace) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to become someone else";
  ProcFs probe;
  auto ids = probe.read_ids(1);
  if (!ids.ok() || ids->real_uid == 65534) GTEST_SKIP() << "pid 1 unsuitable";
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (::setresuid(65534, 65534, 65534) != 0) ::_exit(10);
    ProcFs fs;
    auto mem = fs.read_memory(1);
    auto exe = fs.read_exe(1);
    auto st = fs.read_stat(1);  // world-readable
    const bool ok = !mem.ok() && mem.error() == ReadError::kPermission && !exe.ok() &&
                    exe.error() == ReadError::kPermission && st.ok();
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace mg
