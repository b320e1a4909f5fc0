#pragma once
// The one place that reads /proc. Built with a root path (--procfs) so tests
// point it at fixture trees. Every read is a value or a ReadError; a process
// that vanishes mid-read is ReadError::kVanished, never an exception.
//
// Not thread-safe: one instance per thread (it reuses one read buffer so a
// steady-state scan allocates nothing per process).
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "procfs/meminfo.h"
#include "procfs/pressure.h"
#include "util/expected.h"

namespace mg {

// From /proc/PID/stat. comm may hold spaces and parentheses; it is parsed
// from the last ')' so a name like "a) (b" cannot shift the fields.
struct ProcStat {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  pid_t ppid = 0;
  pid_t pgrp = 0;
  unsigned flags = 0;            // PF_KTHREAD = 0x00200000 marks kernel threads
  std::uint64_t start_time = 0;  // clock ticks after boot; with pid, the identity
  bool is_kernel_thread() const { return (flags & 0x00200000u) != 0; }
};

struct CgroupMembership {
  int hierarchy_id = 0;     // 0 for the v2 unified hierarchy
  std::string controllers;  // "memory", "cpu,cpuacct", "name=systemd", "" for v2
  std::string path;         // "/kubepods/pod1/abc", relative to the hierarchy root
};

struct MemoryUsage {
  std::uint64_t rss = 0;
  std::uint64_t pss = 0;
  std::uint64_t uss = 0;  // Private_Clean + Private_Dirty
  // Mostly file pages only this process has touched: the first other
  // process to touch one halves its share, and no statm of ours shows it.
  std::uint64_t private_clean = 0;
  // Anonymous less Pss_Anon: how much of its anonymous memory is shared
  // copy-on-write (after a fork without exec). Unknown before Linux 5.9,
  // whose rollup has no Pss_Anon.
  std::optional<std::uint64_t> shared_anon;
  // Pss_File + Pss_Shmem: the file and shmem pages' part of PSS (statm's
  // `shared` is their resident size). Unknown before Linux 5.9 too.
  std::optional<std::uint64_t> pss_file;
};

// statm, in bytes. Any change in it is a change of the process's own
// mappings; its PSS can move without one only when the processes it shares
// pages with change (see measure/pss_drift.h).
struct Statm {
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  std::uint64_t shared = 0;  // resident file and shmem pages
  std::uint64_t text = 0;
  std::uint64_t data = 0;
  bool operator==(const Statm&) const = default;
};

struct ProcIds {
  uid_t real_uid = 0;
  uid_t effective_uid = 0;
};

// One entry of the /proc listing. On procfs, `ino` is the inode of the
// /proc/PID directory: a reused pid gets a new one, so an unchanged ino spares
// re-reading stat to learn that the process is the same one.
struct PidEntry {
  pid_t pid = 0;
  std::uint64_t ino = 0;
};

// A /proc/PID file kept open between reads. On procfs the open file is bound
// to the process, not to the pid: once that process is gone a read fails with
// ESRCH (ReadError::kVanished), even if the pid has been reused, so a cached
// handle can never read another process. Open costs ~3x a read, so keeping
// the statm of every watched process open makes a steady check ~4x cheaper;
// each open handle holds a page of kernel memory (the seq_file buffer).
class CachedFile {
 public:
  CachedFile() = default;
  CachedFile(CachedFile&& o) noexcept : fd_(o.fd_), open_count_(o.open_count_) { o.fd_ = -1; }
  CachedFile& operator=(CachedFile&& o) noexcept;
  CachedFile(const CachedFile&) = delete;
  CachedFile& operator=(const CachedFile&) = delete;
  ~CachedFile() { close(); }
  bool is_open() const { return fd_ >= 0; }
  void close();

 private:
  friend class ProcFs;
  int fd_ = -1;
  std::size_t* open_count_ = nullptr;
};

class ProcFs {
 public:
  explicit ProcFs(std::string root = "/proc");
  const std::string& root() const { return root_; }

  // Numeric entries of the root; `out` is reused to avoid allocation.
  Expected<bool> list_pids(std::vector<pid_t>& out);
  Expected<bool> list_pids(std::vector<PidEntry>& out);
  // Whether the root is a real procfs, where inodes and cached handles carry
  // process identity. A fixture tree gets plain path reads every time.
  bool is_procfs() const { return is_procfs_; }
  Expected<ProcStat> read_stat(pid_t pid);
  Expected<ProcIds> read_ids(pid_t pid);  // Uid: line of status
  // argv joined by single spaces (NULs become spaces, the trailing one dropped).
  Expected<std::string> read_cmdline(pid_t pid);
  // The same into `out`, whose capacity is reused: a periodic re-read of a
  // process's attributes allocates nothing once `out` has grown.
  Expected<bool> read_cmdline(pid_t pid, std::string& out);
  // readlink of exe; " (deleted)" kept. "" (not an error) for a kernel thread
  // or zombie, which have no exe while /proc/PID is still there.
  Expected<std::string> read_exe(pid_t pid);
  Expected<bool> read_exe(pid_t pid, std::string& out);
  Expected<std::vector<CgroupMembership>> read_cgroups(pid_t pid);
  // The cgroup file as it is, valid until the next read (for a cache keyed
  // by it), and its parser.
  Expected<std::string_view> read_cgroup_text(pid_t pid);
  static Expected<std::vector<CgroupMembership>> parse_cgroups(std::string_view text);
  // Resident pages from statm, in bytes. The cheap upper bound on PSS.
  Expected<std::uint64_t> read_rss(pid_t pid);
  // All of statm, through `file`, opened on first use and kept open while
  // the budget of cached handles allows (see CachedFile).
  Expected<Statm> read_statm(pid_t pid, CachedFile& file);
  Expected<std::uint64_t> read_rss(pid_t pid, CachedFile& file);
  std::size_t cached_files() const { return cached_open_; }
  // PSS/USS/RSS from smaps_rollup; sums smaps where the kernel has no rollup.
  // Costly: walks the target's page tables under its mmap lock.
  Expected<MemoryUsage> read_memory(pid_t pid);
  // Seconds since boot, to turn start_time ticks into an age.
  Expected<double> read_uptime();
  // The host's MemTotal and MemAvailable (meminfo of --procfs: the host's
  // in a DaemonSet that mounts the host's /proc).
  Expected<MemInfo> read_meminfo();
  // The host's memory pressure (pressure/memory); kVanished when the kernel
  // has no PSI (built without it, or booted with psi=0).
  Expected<Pressure> read_memory_pressure();
  Expected<pid_t> read_pid_file(const std::string& path);  // not under root: a plain path

  long clock_ticks_per_second() const { return ticks_; }
  long page_size() const { return page_size_; }
  // Whether smaps_rollup exists here (decided on first use), for tests and logs.
  bool has_smaps_rollup();

 private:
  // Views into buffer_, valid until the next read.
  Expected<std::string_view> read_file(pid_t pid, const char* name, std::size_t cap);
  Expected<std::string_view> read_path(const char* path, std::size_t cap);
  Expected<MemoryUsage> read_smaps(pid_t pid);
  Expected<MemoryUsage> parse_memory(int fd, bool empty_ok);  // closes fd
  bool pid_dir_exists(pid_t pid);
  // <root>/<pid>/<name> built in path_, so a scan allocates no path strings.
  const char* build_path(pid_t pid, const char* name);
  Expected<Statm> parse_statm(std::string_view s) const;
  bool may_cache_another();

  std::string root_;
  std::string buffer_;
  std::string path_;
  long ticks_;
  long page_size_;
  int rollup_state_ = -1;  // -1 unknown, 0 absent, 1 present
  bool is_procfs_ = false;
  std::size_t cached_open_ = 0;
  std::size_t cache_budget_ = 0;  // decided on first use, from RLIMIT_NOFILE
  bool budget_known_ = false;
};

}  // namespace mg
