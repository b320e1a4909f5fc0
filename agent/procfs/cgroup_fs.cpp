#include "procfs/cgroup_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include "procfs/read_util.h"

namespace mg {

namespace {

// v1 reports "no limit" as LONG_MAX rounded down to a page (so the exact
// figure depends on the page size); anything this large is not a real limit.
constexpr std::uint64_t kV1Unlimited = std::uint64_t{1} << 62;

bool exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool is_dir(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Reads a file of a few bytes (memory.max and friends) without allocating.
// Returns the length read, or -errno.
ssize_t read_small(const std::string& path, char* buf, std::size_t cap) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  std::size_t have = 0;
  while (have < cap) {
    const ssize_t n = ::read(fd, buf + have, cap - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return -err;
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return static_cast<ssize_t>(have);
}

bool has_controller(std::string_view list, std::string_view name) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (list.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

// Inside a cgroup namespace, a cgroup outside it reads as "/../x": it is not
// below our mount, and root + path would point somewhere else entirely.
bool reachable(const std::string& path) {
  return !path.empty() && path.front() == '/' && path.find("/..") == std::string::npos;
}

const CgroupMembership* find_v2(const std::vector<CgroupMembership>& m) {
  for (const auto& c : m) {
    if (c.hierarchy_id == 0 && c.controllers.empty() && reachable(c.path)) return &c;
  }
  return nullptr;
}

const CgroupMembership* find_v1_memory(const std::vector<CgroupMembership>& m) {
  for (const auto& c : m) {
    if (c.hierarchy_id != 0 && has_controller(c.controllers, "memory") && reachable(c.path)) {
      return &c;
    }
  }
  return nullptr;
}

struct LimitWalk {
  bool found = false;  // some level had the limit file at all
  std::optional<std::uint64_t> limit;
};

// The least limit from `path` up to the hierarchy root. A level without the
// file (v2: the root, or a subtree without the memory controller) does not
// limit anything.
LimitWalk walk_limits(const std::string& hier_root, const std::string& path, bool v2) {
  LimitWalk w;
  const char* file = v2 ? "/memory.max" : "/memory.limit_in_bytes";
  std::string dir = hier_root;
  if (path != "/") dir += path;
  while (!dir.empty() && dir.size() > hier_root.size() && dir.back() == '/') dir.pop_back();
  for (;;) {
    const std::size_t dir_len = dir.size();
    dir += file;
    char buf[64];
    const ssize_t n = read_small(dir, buf, sizeof buf);
    dir.resize(dir_len);
    if (n >= 0) {
      w.found = true;
      const std::string_view text = trim(std::string_view(buf, static_cast<std::size_t>(n)));
      std::uint64_t value = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
      const bool number = !text.empty() && ec == std::errc() && p == text.data() + text.size();
      // "max" (v2) and the v1 sentinel are unlimited; garbage limits nothing
      // we can know of.
      if (number && (v2 || value < kV1Unlimited)) {
        if (!w.limit || value < *w.limit) w.limit = value;
      }
    }
    if (dir.size() <= hier_root.size()) break;
    const std::size_t slash = dir.rfind('/');
    if (slash == std::string::npos || slash < hier_root.size()) break;
    dir.resize(slash);
  }
  return w;
}

// Any directory under root that looks like a v1 hierarchy ("tasks" exists
// only in v1), for a legacy layout without the memory controller.
bool has_v1_hierarchy(const std::string& root) {
  DIR* dir = ::opendir(root.c_str());
  if (dir == nullptr) return false;
  bool found = false;
  while (const dirent* e = ::readdir(dir)) {
    const std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    if (exists(root + '/' + std::string(name) + "/tasks")) {
      found = true;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

}  // namespace

const char* to_string(CgroupLayout l) {
  switch (l) {
    case CgroupLayout::kUnified:
      return "unified";
    case CgroupLayout::kHybrid:
      return "hybrid";
    case CgroupLayout::kLegacy:
      return "legacy";
    case CgroupLayout::kNone:
      return "none";
  }
  return "none";
}

CgroupFs::CgroupFs(std::string root, const std::string& mountinfo)
    : root_(std::move(root)), layout_(CgroupLayout::kNone) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  if (exists(root_ + "/cgroup.controllers")) {
    layout_ = CgroupLayout::kUnified;
    v2_root_ = root_;
  } else {
    if (is_dir(root_ + "/memory")) memory_root_ = root_ + "/memory";
    if (exists(root_ + "/unified/cgroup.controllers")) {
      layout_ = CgroupLayout::kHybrid;
      v2_root_ = root_ + "/unified";
    } else if (!memory_root_.empty() || has_v1_hierarchy(root_)) {
      layout_ = CgroupLayout::kLegacy;
    }
  }
  if (!v2_root_.empty()) v2_mount_root_ = mount_root_of(mountinfo, v2_root_);
  if (!memory_root_.empty()) memory_mount_root_ = mount_root_of(mountinfo, memory_root_);
}

std::string CgroupFs::mount_root_of(const std::string& mountinfo_path,
                                    const std::string& mount_point) {
  std::ifstream in(mountinfo_path);
  std::string line;
  std::string found = "/";
  while (std::getline(in, line)) {
    // id parent major:minor root mount-point options ... - fstype source super-options
    std::istringstream fields(line);
    std::string id, parent, dev, root, point;
    if (!(fields >> id >> parent >> dev >> root >> point)) continue;
    // The last mount on a point is the one that is visible.
    if (point == mount_point) found = root;
  }
  return found.empty() ? "/" : found;
}

std::string CgroupFs::local_path(const CgroupRef& ref) const {
  const std::string& mount_root = ref.v2 ? v2_mount_root_ : memory_mount_root_;
  if (mount_root == "/") return ref.path;
  if (ref.path == mount_root) return "/";
  if (ref.path.size() > mount_root.size() &&
      ref.path.compare(0, mount_root.size(), mount_root) == 0 && ref.path[mount_root.size()] == '/')
    return ref.path.substr(mount_root.size());
  // Already relative to this mount (a cgroup namespace) or outside of it.
  return ref.path;
}

std::optional<CgroupRef> CgroupFs::primary(const std::vector<CgroupMembership>& memberships) const {
  const CgroupMembership* v2 = v2_root_.empty() ? nullptr : find_v2(memberships);
  const CgroupMembership* v1 = memory_root_.empty() ? nullptr : find_v1_memory(memberships);
  // A non-root cgroup says more than the root; v2 wins ties because only v2
  // can kill a whole cgroup at once.
  if (v2 != nullptr && v2->path != "/") return CgroupRef{true, v2->path};
  if (v1 != nullptr && v1->path != "/") return CgroupRef{false, v1->path};
  if (v2 != nullptr) return CgroupRef{true, v2->path};
  if (v1 != nullptr) return CgroupRef{false, v1->path};
  return std::nullopt;
}

std::optional<std::uint64_t> CgroupFs::memory_limit(const std::vector<CgroupMembership>& m) const {
  // On hybrid hosts the v2 tree usually has no memory controller; its limits
  // are then on the v1 side.
  if (const CgroupMembership* v2 = v2_root_.empty() ? nullptr : find_v2(m)) {
    LimitWalk w = walk_limits(v2_root_, local_path({true, v2->path}), true);
    if (w.found) return w.limit;
  }
  if (const CgroupMembership* v1 = memory_root_.empty() ? nullptr : find_v1_memory(m)) {
    return walk_limits(memory_root_, local_path({false, v1->path}), false).limit;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> CgroupFs::memory_limit(const CgroupRef& ref) const {
  const std::string& hier = ref.v2 ? v2_root_ : memory_root_;
  if (hier.empty() || !reachable(ref.path)) return std::nullopt;
  return walk_limits(hier, local_path(ref), ref.v2).limit;
}

std::optional<CgroupRef> CgroupFs::memory_cgroup(const std::vector<CgroupMembership>& m) const {
  if (const CgroupMembership* v2 = v2_root_.empty() ? nullptr : find_v2(m)) {
    const CgroupRef ref{true, v2->path};
    if (v2->path != "/" && exists(dir_of(ref) + "/memory.current")) return ref;
  }
  if (const CgroupMembership* v1 = memory_root_.empty() ? nullptr : find_v1_memory(m)) {
    if (v1->path != "/") return CgroupRef{false, v1->path};
  }
  return std::nullopt;
}

std::optional<CgroupRef> CgroupFs::pressure_cgroup(const std::vector<CgroupMembership>& m) const {
  if (const CgroupMembership* v2 = v2_root_.empty() ? nullptr : find_v2(m))
    return CgroupRef{true, v2->path};
  return std::nullopt;
}

namespace {

// A whole small cgroup file into `buf`; memory.stat is 1.5 to 3 KiB.
Expected<std::string_view> read_cgroup_file(const std::string& path, char* buf, std::size_t cap) {
  const ssize_t n = read_small(path, buf, cap);
  if (n < 0) return read_error_from_errno(static_cast<int>(-n));
  if (static_cast<std::size_t>(n) == cap) return ReadError::kParse;  // larger than any we know
  return std::string_view(buf, static_cast<std::size_t>(n));
}

}  // namespace

Expected<CgroupMemory> CgroupFs::memory_usage(const CgroupRef& ref) const {
  const std::string dir = dir_of(ref);
  if (dir.empty()) return ReadError::kIo;
  char buf[16384];
  auto usage_text =
      read_cgroup_file(dir + (ref.v2 ? "/memory.current" : "/memory.usage_in_bytes"), buf, 64);
  if (!usage_text) return usage_text.error();
  const std::string_view text = trim(*usage_text);
  CgroupMemory out;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out.usage);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size()) return ReadError::kParse;
  auto stat = read_cgroup_file(dir + "/memory.stat", buf, sizeof buf);
  if (!stat) return stat.error();
  // v1's memory.stat has both inactive_file (this cgroup alone) and
  // total_inactive_file (with its descendants, as usage_in_bytes counts).
  auto inactive = memory_stat_value(*stat, ref.v2 ? "inactive_file" : "total_inactive_file");
  if (!inactive) return ReadError::kParse;
  out.inactive_file = *inactive;
  return out;
}

Expected<Pressure> CgroupFs::memory_pressure(const CgroupRef& ref) const {
  if (!ref.v2) return ReadError::kIo;
  const std::string dir = dir_of(ref);
  if (dir.empty()) return ReadError::kIo;
  char buf[512];
  auto text = read_cgroup_file(dir + "/memory.pressure", buf, sizeof buf);
  if (!text) return text.error();
  if (auto pressure = parse_pressure(*text)) return *pressure;
  return ReadError::kParse;
}

Expected<std::uint64_t> CgroupFs::oom_kills(const CgroupRef& ref) const {
  const std::string dir = dir_of(ref);
  if (dir.empty()) return ReadError::kIo;
  char buf[1024];
  auto text = read_cgroup_file(dir + (ref.v2 ? "/memory.events" : "/memory.oom_control"), buf,
                               sizeof buf);
  if (!text) return text.error();
  // Both files are "key value" lines, as memory.stat.
  if (auto n = memory_stat_value(*text, "oom_kill")) return *n;
  return ReadError::kParse;
}

std::string CgroupFs::dir_of(const CgroupRef& ref) const {
  const std::string& hier = ref.v2 ? v2_root_ : memory_root_;
  if (hier.empty() || !reachable(ref.path)) return std::string();
  const std::string path = local_path(ref);
  if (path == "/") return hier;
  return hier + path;
}

Expected<std::vector<pid_t>> CgroupFs::procs(const CgroupRef& ref) const {
  const std::string dir = dir_of(ref);
  if (dir.empty()) return ReadError::kIo;
  const int fd = ::open((dir + "/cgroup.procs").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return read_error_from_errno(errno);
  std::string buf;
  std::vector<pid_t> out;
  bool bad = false;
  const int err = for_each_line(fd, buf, [&](std::string_view line) {
    line = trim(line);
    if (line.empty()) return;
    pid_t pid = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (ec != std::errc() || p != line.data() + line.size() || pid <= 0) {
      bad = true;
      return;
    }
    out.push_back(pid);
  });
  ::close(fd);
  if (err != 0) return read_error_from_errno(err);
  if (bad) return ReadError::kParse;
  return out;
}

// The root of the hierarchy is never killable from here: in a cgroup
// namespace "/" is the agent's own container, so killing it would take the
// agent and everything beside it. The kernel has no cgroup.kill on the real
// root anyway.
Expected<std::vector<pid_t>> CgroupFs::procs_recursive(const CgroupRef& ref) const {
  auto top = procs(ref);
  if (!top) return top;
  std::vector<pid_t> all = std::move(*top);
  const std::string dir = dir_of(ref);
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(
           dir, std::filesystem::directory_options::skip_permission_denied, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    // Appended piece by piece: GCC 12 at -O3 reports a bogus -Wrestrict
    // (GCC PR 105329) on `"/" + std::string&&`, which inserts into the temporary.
    std::string child = ref.path == "/" ? "" : ref.path;
    child += '/';
    child += std::filesystem::relative(it->path(), dir, ec).string();
    auto pids = procs({ref.v2, child});
    // A child cgroup removed while we walk is no member anymore.
    if (pids) all.insert(all.end(), pids->begin(), pids->end());
  }
  return all;
}

bool CgroupFs::can_kill(const CgroupRef& ref) const {
  if (!ref.v2 || ref.path == "/") return false;
  const std::string dir = dir_of(ref);
  return !dir.empty() && exists(dir + "/cgroup.kill");
}

// v1 has no way to kill a cgroup atomically: kIo, and the caller falls back
// to signalling the members one by one.
Expected<bool> CgroupFs::kill(const CgroupRef& ref) const {
  if (!ref.v2) return ReadError::kIo;
  if (ref.path == "/") return ReadError::kPermission;
  const std::string dir = dir_of(ref);
  if (dir.empty()) return ReadError::kIo;
  const int fd = ::open((dir + "/cgroup.kill").c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return read_error_from_errno(errno);
  ssize_t n;
  do {
    n = ::write(fd, "1", 1);
  } while (n < 0 && errno == EINTR);
  const int err = n < 0 ? errno : 0;
  ::close(fd);
  if (err != 0) return read_error_from_errno(err);
  return true;
}

}  // namespace mg
