#include "procfs/proc_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <string_view>

#include "procfs/read_util.h"

namespace mg {

namespace {

// cmdline is only matched against regexes; a process that stuffed megabytes
// into its argv must not make every scan copy them.
constexpr std::size_t kCmdlineCap = 64 * 1024;
// stat, status, statm, cgroup: a few KiB at most; a cap keeps a broken
// fixture or a pathological file from growing the buffer without bound.
constexpr std::size_t kSmallFileCap = 1024 * 1024;
constexpr std::size_t kPidFileCap = 4096;

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the next space-separated token; empty when none is left.
std::string_view next_token(std::string_view& s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  const std::size_t end = s.find(' ');
  std::string_view tok = s.substr(0, end);
  s.remove_prefix(end == std::string_view::npos ? s.size() : end);
  return tok;
}

// The whole token must be the number: "12x" is a parse error, not 12.
template <typename T>
bool parse_num(std::string_view tok, T& out) {
  if (tok.empty()) return false;
  auto [p, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), out);
  return ec == std::errc() && p == tok.data() + tok.size();
}

// Fields of a "Key:   1234 kB" line that memory accounting needs.
struct MemoryFields {
  std::uint64_t rss_kb = 0;
  std::uint64_t pss_kb = 0;
  std::uint64_t private_kb = 0;
  std::uint64_t private_clean_kb = 0;
  std::uint64_t anonymous_kb = 0;
  std::uint64_t pss_anon_kb = 0;
  std::uint64_t pss_file_kb = 0;  // Pss_File + Pss_Shmem
  bool saw_rss = false;
  bool saw_pss_anon = false;
  bool saw_pss = false;
  bool bad = false;

  // smaps_rollup holds each key once, smaps holds it once per mapping, so
  // summing serves both. Mapping headers ("7f..-7f.. r-xp 0 08:01 ...") and
  // keys like Pss_Anon never equal a wanted key, so they fall through.
  void add_line(std::string_view line) {
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) return;
    const std::string_view key = line.substr(0, colon);
    std::uint64_t* slot = nullptr;
    if (key == "Rss") {
      slot = &rss_kb;
      saw_rss = true;
    } else if (key == "Pss") {
      slot = &pss_kb;
      saw_pss = true;
    } else if (key == "Private_Clean") {
      slot = &private_clean_kb;
    } else if (key == "Private_Dirty") {
      slot = &private_kb;
    } else if (key == "Anonymous") {
      slot = &anonymous_kb;
    } else if (key == "Pss_Anon") {
      slot = &pss_anon_kb;
      saw_pss_anon = true;
    } else if (key == "Pss_File" || key == "Pss_Shmem") {
      slot = &pss_file_kb;
    } else {
      return;
    }
    std::string_view rest = line.substr(colon + 1);
    std::uint64_t kb = 0;
    if (!parse_num(next_token(rest), kb)) {
      bad = true;
      return;
    }
    *slot += kb;
  }

  MemoryUsage usage() const {
    MemoryUsage u;
    u.rss = rss_kb * 1024;
    u.pss = pss_kb * 1024;
    u.uss = (private_kb + private_clean_kb) * 1024;
    u.private_clean = private_clean_kb * 1024;
    if (saw_pss_anon) {
      u.shared_anon = (anonymous_kb - std::min(anonymous_kb, pss_anon_kb)) * 1024;
      u.pss_file = pss_file_kb * 1024;
    }
    return u;
  }
};

}  // namespace

ProcFs::ProcFs(std::string root)
    : root_(std::move(root)), ticks_(sysconf(_SC_CLK_TCK)), page_size_(sysconf(_SC_PAGESIZE)) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  buffer_.resize(4096);
  path_.reserve(root_.size() + 64);
  struct statfs fs;
  constexpr long kProcSuperMagic = 0x9fa0;
  is_procfs_ = ::statfs(root_.c_str(), &fs) == 0 && fs.f_type == kProcSuperMagic;
}

CachedFile& CachedFile::operator=(CachedFile&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    open_count_ = o.open_count_;
    o.fd_ = -1;
  }
  return *this;
}

void CachedFile::close() {
  if (fd_ < 0) return;
  ::close(fd_);
  fd_ = -1;
  if (open_count_) --*open_count_;
}

bool ProcFs::may_cache_another() {
  if (!budget_known_) {
    budget_known_ = true;
    // Half of the descriptors the process may open: the HTTP server, hooks
    // and pidfds keep the other half.
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY)
      cache_budget_ = static_cast<std::size_t>(lim.rlim_cur / 2);
    else
      cache_budget_ = 1u << 16;
  }
  return is_procfs_ && cached_open_ < cache_budget_;
}

const char* ProcFs::build_path(pid_t pid, const char* name) {
  path_.assign(root_);
  path_.push_back('/');
  char digits[16];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, pid);
  (void)ec;  // an int always fits in 16 chars
  path_.append(digits, end);
  if (name != nullptr && *name != '\0') {
    path_.push_back('/');
    path_.append(name);
  }
  return path_.c_str();
}

bool ProcFs::pid_dir_exists(pid_t pid) {
  struct stat st;
  return ::stat(build_path(pid, nullptr), &st) == 0 && S_ISDIR(st.st_mode);
}

Expected<std::string_view> ProcFs::read_path(const char* path, std::size_t cap) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return read_error_from_errno(errno);
  // Every file read here is one whole record (see read_fd).
  const ReadResult r = read_fd(fd, buffer_, cap, true);
  ::close(fd);
  if (r.err != 0) return read_error_from_errno(r.err);
  return std::string_view(buffer_.data(), r.size);
}

Expected<std::string_view> ProcFs::read_file(pid_t pid, const char* name, std::size_t cap) {
  return read_path(build_path(pid, name), cap);
}

namespace {

// Calls `take(pid, inode)` for every process directory under `root`.
template <typename Take>
Expected<bool> for_each_pid_dir(const std::string& root, Take take) {
  DIR* dir = ::opendir(root.c_str());
  if (dir == nullptr) return read_error_from_errno(errno);
  errno = 0;
  while (const dirent* e = ::readdir(dir)) {
    pid_t pid = 0;
    if (parse_num(std::string_view(e->d_name), pid) && pid > 0) take(pid, e->d_ino);
  }
  const int err = errno;
  ::closedir(dir);
  if (err != 0) return read_error_from_errno(err);
  return true;
}

}  // namespace

Expected<bool> ProcFs::list_pids(std::vector<pid_t>& out) {
  out.clear();
  return for_each_pid_dir(root_, [&](pid_t pid, ino_t) { out.push_back(pid); });
}

Expected<bool> ProcFs::list_pids(std::vector<PidEntry>& out) {
  out.clear();
  return for_each_pid_dir(root_, [&](pid_t pid, ino_t inode) { out.push_back({pid, inode}); });
}

Expected<ProcStat> ProcFs::read_stat(pid_t pid) {
  auto file = read_file(pid, "stat", kSmallFileCap);
  if (!file) return file.error();
  const std::string_view s = *file;
  // comm is at most 15 bytes but may be any of them, ')' and '\n' included;
  // everything after the last ')' is numbers, so that one closes it.
  const std::size_t open = s.find('(');
  const std::size_t close = s.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return ReadError::kParse;
  }
  ProcStat st;
  if (!parse_num(trim(s.substr(0, open)), st.pid)) return ReadError::kParse;
  st.comm.assign(s.substr(open + 1, close - open - 1));

  // Field numbers follow proc(5): 3 state, 4 ppid, 5 pgrp, 9 flags, 22 starttime.
  std::string_view rest = trim(s.substr(close + 1));
  int field = 3;
  bool have_start = false;
  for (std::string_view tok = next_token(rest); !tok.empty(); tok = next_token(rest), ++field) {
    bool ok = true;
    switch (field) {
      case 3:
        ok = tok.size() == 1;
        st.state = tok[0];
        break;
      case 4:
        ok = parse_num(tok, st.ppid);
        break;
      case 5:
        ok = parse_num(tok, st.pgrp);
        break;
      case 9:
        ok = parse_num(tok, st.flags);
        break;
      case 22:
        ok = parse_num(tok, st.start_time);
        have_start = true;
        break;
      default:
        break;
    }
    if (!ok) return ReadError::kParse;
    if (have_start) break;
  }
  if (!have_start) return ReadError::kParse;
  return st;
}

Expected<ProcIds> ProcFs::read_ids(pid_t pid) {
  auto file = read_file(pid, "status", kSmallFileCap);
  if (!file) return file.error();
  std::string_view s = *file;
  // Name: is escaped in status (a '\n' in comm shows as "\n"), so a line
  // start is a real line start.
  std::size_t at = s.starts_with("Uid:") ? 0 : s.find("\nUid:");
  if (at == std::string_view::npos) return ReadError::kParse;
  if (at != 0) ++at;
  std::string_view line = s.substr(at + 4);
  line = line.substr(0, line.find('\n'));
  ProcIds ids;
  std::size_t i = 0;
  auto skip_ws = [&] {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
  };
  auto number = [&](uid_t& out) {
    skip_ws();
    const char* b = line.data() + i;
    auto [p, ec] = std::from_chars(b, line.data() + line.size(), out);
    if (ec != std::errc() || p == b) return false;
    i += static_cast<std::size_t>(p - b);
    return true;
  };
  if (!number(ids.real_uid) || !number(ids.effective_uid)) return ReadError::kParse;
  return ids;
}

Expected<std::string> ProcFs::read_cmdline(pid_t pid) {
  std::string out;
  auto ok = read_cmdline(pid, out);
  if (!ok) return ok.error();
  return out;
}

Expected<bool> ProcFs::read_cmdline(pid_t pid, std::string& out) {
  auto file = read_file(pid, "cmdline", kCmdlineCap);
  if (!file) return file.error();
  std::string_view s = *file;
  // setproctitle-style rewrites pad with NULs; none of them is an argument.
  while (!s.empty() && s.back() == '\0') s.remove_suffix(1);
  out.assign(s);
  for (char& c : out) {
    if (c == '\0') c = ' ';
  }
  return true;
}

// Kernel threads and zombies have no exe link (readlink gives ENOENT while
// /proc/PID is still there). That is not an error: they get "", which no
// real executable path can be, so callers can tell them from a vanished pid.
Expected<std::string> ProcFs::read_exe(pid_t pid) {
  std::string out;
  auto ok = read_exe(pid, out);
  if (!ok) return ok.error();
  return out;
}

Expected<bool> ProcFs::read_exe(pid_t pid, std::string& out) {
  char target[PATH_MAX];
  const ssize_t n = ::readlink(build_path(pid, "exe"), target, sizeof target);
  if (n < 0) {
    const int err = errno;
    if (err == ENOENT && pid_dir_exists(pid)) {
      out.clear();
      return true;
    }
    return read_error_from_errno(err);
  }
  out.assign(target, static_cast<std::size_t>(n));
  return true;
}

Expected<std::vector<CgroupMembership>> ProcFs::read_cgroups(pid_t pid) {
  auto file = read_cgroup_text(pid);
  if (!file) return file.error();
  return parse_cgroups(*file);
}

Expected<std::string_view> ProcFs::read_cgroup_text(pid_t pid) {
  return read_file(pid, "cgroup", kSmallFileCap);
}

Expected<std::vector<CgroupMembership>> ProcFs::parse_cgroups(std::string_view s) {
  std::vector<CgroupMembership> out;
  while (!s.empty()) {
    const std::size_t nl = s.find('\n');
    const std::string_view line = s.substr(0, nl);
    s.remove_prefix(nl == std::string_view::npos ? s.size() : nl + 1);
    if (line.empty()) continue;
    // "id:controllers:path"; the path is everything after the second ':'
    // because a cgroup name may itself hold ':'.
    const std::size_t c1 = line.find(':');
    const std::size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return ReadError::kParse;
    CgroupMembership m;
    if (!parse_num(line.substr(0, c1), m.hierarchy_id)) return ReadError::kParse;
    m.controllers.assign(line.substr(c1 + 1, c2 - c1 - 1));
    m.path.assign(line.substr(c2 + 1));
    out.push_back(std::move(m));
  }
  return out;
}

Expected<std::uint64_t> ProcFs::read_rss(pid_t pid) {
  auto file = read_file(pid, "statm", kSmallFileCap);
  if (!file) return file.error();
  auto statm = parse_statm(*file);
  if (!statm) return statm.error();
  return statm->resident;
}

Expected<std::uint64_t> ProcFs::read_rss(pid_t pid, CachedFile& file) {
  auto statm = read_statm(pid, file);
  if (!statm) return statm.error();
  return statm->resident;
}

Expected<Statm> ProcFs::read_statm(pid_t pid, CachedFile& file) {
  if (!file.is_open()) {
    if (!may_cache_another()) {
      auto text = read_file(pid, "statm", kSmallFileCap);
      if (!text) return text.error();
      return parse_statm(*text);
    }
    const int fd = ::open(build_path(pid, "statm"), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return read_error_from_errno(errno);
    file.fd_ = fd;
    file.open_count_ = &cached_open_;
    ++cached_open_;
  }
  // statm is a few dozen bytes: one pread from the start re-renders it whole.
  ssize_t n;
  do {
    n = ::pread(file.fd_, buffer_.data(), buffer_.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    const int err = errno;
    file.close();
    return read_error_from_errno(err);
  }
  return parse_statm(std::string_view(buffer_.data(), static_cast<std::size_t>(n)));
}

Expected<Statm> ProcFs::parse_statm(std::string_view text) const {
  std::string_view s = trim(text);
  // size resident shared text lib data dt, in pages; lib and dt are always 0.
  std::uint64_t pages[6] = {};
  for (std::uint64_t& field : pages) {
    if (!parse_num(next_token(s), field)) return ReadError::kParse;
  }
  const auto page = static_cast<std::uint64_t>(page_size_);
  return Statm{pages[0] * page, pages[1] * page, pages[2] * page, pages[3] * page, pages[5] * page};
}

Expected<MemoryUsage> ProcFs::read_memory(pid_t pid) {
  if (rollup_state_ == 0) return read_smaps(pid);
  const int fd = ::open(build_path(pid, "smaps_rollup"), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    // Only ENOENT at open, with /proc/PID still there, means this kernel
    // (< 4.14) has no rollup; remember it so later scans skip the probe.
    // Once a rollup has been seen, ENOENT can only mean the process went.
    // (A zombie's rollup opens and then reads ESRCH: vanished, not old.)
    if (err == ENOENT && rollup_state_ == -1 && pid_dir_exists(pid)) {
      rollup_state_ = 0;
      return read_smaps(pid);
    }
    return read_error_from_errno(err);
  }
  rollup_state_ = 1;
  return parse_memory(fd, false);
}

Expected<MemoryUsage> ProcFs::parse_memory(int fd, bool empty_ok) {
  MemoryFields f;
  // smaps of a big process runs to megabytes: stream it through the buffer
  // instead of holding all of it.
  const int err = for_each_line(fd, buffer_, [&f](std::string_view line) { f.add_line(line); });
  ::close(fd);
  if (err != 0) return read_error_from_errno(err);
  if (f.bad) return ReadError::kParse;
  // A process with no mappings (zombie, kernel thread) has an empty smaps;
  // a rollup always has Rss and Pss when it has anything.
  if (!(f.saw_rss && f.saw_pss) && !(empty_ok && !f.saw_rss && !f.saw_pss)) {
    return ReadError::kParse;
  }
  return f.usage();
}

Expected<MemoryUsage> ProcFs::read_smaps(pid_t pid) {
  const int fd = ::open(build_path(pid, "smaps"), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return read_error_from_errno(errno);
  return parse_memory(fd, true);
}

bool ProcFs::has_smaps_rollup() {
  if (rollup_state_ != -1) return rollup_state_ == 1;
  // Decide from any process that is there: ourselves when root is the real
  // /proc, otherwise the first pid of a fixture tree.
  struct stat st;
  std::string probe = root_ + "/self";
  if (::stat(probe.c_str(), &st) != 0) {
    std::vector<pid_t> pids;
    if (!list_pids(pids) || pids.empty()) return false;
    probe = build_path(pids.front(), nullptr);
  }
  rollup_state_ = ::access((probe + "/smaps_rollup").c_str(), F_OK) == 0 ? 1 : 0;
  return rollup_state_ == 1;
}

Expected<double> ProcFs::read_uptime() {
  path_.assign(root_).append("/uptime");
  auto file = read_path(path_.c_str(), kSmallFileCap);
  if (!file) return file.error();
  std::string_view s = trim(*file);
  double up = 0;
  if (!parse_num(next_token(s), up) || up < 0) return ReadError::kParse;
  return up;
}

Expected<MemInfo> ProcFs::read_meminfo() {
  path_.assign(root_).append("/meminfo");
  auto file = read_path(path_.c_str(), kSmallFileCap);
  if (!file) return file.error();
  if (auto info = parse_meminfo(*file)) return *info;
  return ReadError::kParse;
}

Expected<Pressure> ProcFs::read_memory_pressure() {
  path_.assign(root_).append("/pressure/memory");
  auto file = read_path(path_.c_str(), kSmallFileCap);
  if (!file) return file.error();
  if (auto pressure = parse_pressure(*file)) return *pressure;
  return ReadError::kParse;
}

Expected<pid_t> ProcFs::read_pid_file(const std::string& path) {
  auto file = read_path(path.c_str(), kPidFileCap + 1);
  if (!file) return file.error();
  if (file->size() > kPidFileCap) return ReadError::kParse;
  pid_t pid = 0;
  if (!parse_num(trim(*file), pid) || pid <= 0) return ReadError::kParse;
  return pid;
}

}  // namespace mg
