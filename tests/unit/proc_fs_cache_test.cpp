// The cached statm handle and the inode-based identity of the process table,
// against the real /proc with real children: a handle follows its process as
// it grows, and never reads another process once it is gone.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "discover/process_table.h"
#include "procfs/cgroup_fs.h"
#include "procfs/proc_fs.h"

namespace mg {
namespace {

constexpr std::size_t kMiB = 1024 * 1024;

// A child that touches `mib` more MiB each time it reads a byte from its
// pipe, and says so with a byte back.
class GrowingChild {
 public:
  GrowingChild() {
    int to_child[2], from_child[2];
    if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) std::abort();
    pid_ = fork();
    if (pid_ == 0) {
      char c;
      while (read(to_child[0], &c, 1) == 1) {
        void* area =
            mmap(nullptr, 8 * kMiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (area == MAP_FAILED) _exit(3);
        std::memset(area, 1, 8 * kMiB);
        if (write(from_child[1], "k", 1) != 1) _exit(3);
      }
      _exit(0);
    }
    close(to_child[0]);
    close(from_child[1]);
    to_ = to_child[1];
    from_ = from_child[0];
  }
  ~GrowingChild() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      reap();
    }
    close(to_);
    close(from_);
  }
  void grow() {
    char c = 'g';
    ASSERT_EQ(write(to_, &c, 1), 1);
    ASSERT_EQ(read(from_, &c, 1), 1);
  }
  void reap() {
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int to_ = -1, from_ = -1;
};

TEST(CachedStatmTest, FollowsItsProcessAsItGrows) {
  ProcFs fs("/proc");
  ASSERT_TRUE(fs.is_procfs());
  GrowingChild child;
  CachedFile handle;
  child.grow();
  auto first = fs.read_rss(child.pid(), handle);
  ASSERT_TRUE(first);
  EXPECT_TRUE(handle.is_open());
  EXPECT_EQ(fs.cached_files(), 1u);
  child.grow();
  auto second = fs.read_rss(child.pid(), handle);
  ASSERT_TRUE(second);
  EXPECT_GE(*second, *first + 7 * kMiB) << "a cached handle must re-read, not replay";
  EXPECT_EQ(*second, *fs.read_rss(child.pid())) << "the same figure as a fresh open";
  handle.close();
  EXPECT_EQ(fs.cached_files(), 0u);
}

TEST(CachedStatmTest, AGoneProcessReadsAsVanishedNeverAsAnother) {
  ProcFs fs("/proc");
  GrowingChild child;
  CachedFile handle;
  ASSERT_TRUE(fs.read_rss(child.pid(), handle));
  const pid_t pid = child.pid();
  kill(pid, SIGKILL);
  child.reap();
  auto after = fs.read_rss(pid, handle);
  ASSERT_FALSE(after);
  EXPECT_EQ(after.error(), ReadError::kVanished);
  EXPECT_FALSE(handle.is_open()) << "a dead handle is dropped";
}

TEST(CachedStatmTest, AFixtureTreeIsReadAfreshEveryTime) {
  char tmpl[] = "/tmp/mg-statm-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string root = tmpl;
  ASSERT_EQ(mkdir((root + "/7").c_str(), 0755), 0);
  auto put = [&](const char* text) {
    FILE* f = fopen((root + "/7/statm").c_str(), "w");
    fputs(text, f);
    fclose(f);
  };
  put("10 2 0 0 0 0 0\n");
  ProcFs fs(root);
  EXPECT_FALSE(fs.is_procfs());
  CachedFile handle;
  ASSERT_EQ(*fs.read_rss(7, handle), 2u * static_cast<std::uint64_t>(fs.page_size()));
  EXPECT_FALSE(handle.is_open());
  put("10 5 0 0 0 0 0\n");
  EXPECT_EQ(*fs.read_rss(7, handle), 5u * static_cast<std::uint64_t>(fs.page_size()));
  unlink((root + "/7/statm").c_str());
  rmdir((root + "/7").c_str());
  rmdir(root.c_str());
}

// A table over the real /proc, on a clock the test moves.
class ProcessTableInodeTest : public ::testing::Test {
 protected:
  ProcFs fs{"/proc"};
  CgroupFs cgroups{"/sys/fs/cgroup"};
  ProcessTable table{fs, cgroups};
  ManualClock clock;
  const Duration ttl = std::chrono::seconds(10);
  ScanErrors errors;
};

TEST_F(ProcessTableInodeTest, ASteadyScanReadsNoStatAndAReusedOrSuspectPidIsReRead) {
  GrowingChild child;
  table.scan(clock.now(), {}, ttl, errors);
  ASSERT_NE(table.find(child.pid()), nullptr);
  // Young processes are re-read at every scan for a while (an exec may
  // follow their fork); after that, not until their refresh is due.
  clock.advance(ttl);
  table.scan(clock.now(), {}, ttl, errors);
  clock.advance(std::chrono::seconds(1));
  table.scan(clock.now(), {}, ttl, errors);
  const std::size_t steady_reads = table.stat_reads();
  EXPECT_LT(steady_reads, table.processes().size());
  const Process* p = table.find(child.pid());
  ASSERT_NE(p, nullptr);
  const ProcessIdentity id = p->id;

  table.suspect(child.pid());
  clock.advance(std::chrono::seconds(1));
  table.scan(clock.now(), {}, ttl, errors);
  EXPECT_GE(table.stat_reads(), 1u);
  ASSERT_NE(table.find(child.pid()), nullptr);
  EXPECT_EQ(table.find(child.pid())->id, id) << "still the same process";

  const pid_t pid = child.pid();
  kill(pid, SIGKILL);
  child.reap();
  clock.advance(std::chrono::seconds(1));
  table.scan(clock.now(), {}, ttl, errors);
  EXPECT_EQ(table.find(pid), nullptr);
}

TEST_F(ProcessTableInodeTest, OldProcessesFoundAtStartAreNotReadAtEveryScan) {
  table.scan(clock.now(), {}, ttl, errors);
  clock.advance(std::chrono::seconds(1));
  table.scan(clock.now(), {}, ttl, errors);
  // Every process was first seen a second ago, yet only those that are
  // really young (an exec may still follow their fork) are read again.
  const double up = *fs.read_uptime();
  const double ticks = static_cast<double>(fs.clock_ticks_per_second());
  std::size_t young = 0;
  std::size_t old = 0;
  for (const auto& [pid, p] : table.processes()) {
    const double age = up - static_cast<double>(p.id.start_time) / ticks;
    (age < 12 ? young : old) += 1;
  }
  ASSERT_GT(old, 5u) << "pid 1 and the kernel threads at least are old";
  EXPECT_LE(table.stat_reads(), young + 5);
}

}  // namespace
}  // namespace mg
