#include "integration/memory_cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace mgt {
namespace {

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

bool write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text << std::flush;
  return static_cast<bool>(out);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::uint64_t stat_value(const std::string& stat, const std::string& key) {
  std::istringstream in(stat);
  std::string k;
  std::uint64_t v = 0;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return 0;
}

void remove_dir(const std::string& dir) {
  if (dir.empty()) return;
  for (int i = 0; i < 200; ++i) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace

bool MemoryCgroup::make(const std::string& root, const std::string& name) {
  std::string dir = root;
  std::size_t from = 0;
  for (;;) {
    const std::size_t slash = name.find('/', from);
    dir += "/" + name.substr(from, slash == std::string::npos ? std::string::npos : slash - from);
    if (mkdir(dir.c_str(), 0755) == 0) {
      made_.push_back(dir);
    } else if (errno != EEXIST || slash == std::string::npos) {
      error_ = "mkdir " + dir + ": " + std::strerror(errno);
      return false;
    }
    if (slash == std::string::npos) return true;
    from = slash + 1;
  }
}

MemoryCgroup::MemoryCgroup(const std::string& name, bool v1_only) {
  if (exists("/sys/fs/cgroup/cgroup.controllers")) {
    if (read_text("/sys/fs/cgroup/cgroup.subtree_control").find("memory") == std::string::npos) {
      error_ = "the memory controller is not enabled below the v2 root";
      return;
    }
    if (make("/sys/fs/cgroup", name)) memory_dir_ = v2_dir_ = "/sys/fs/cgroup/" + name;
    return;
  }
  if (!exists("/sys/fs/cgroup/memory/cgroup.procs")) {
    error_ = "no memory controller under /sys/fs/cgroup";
    return;
  }
  if (!make("/sys/fs/cgroup/memory", name)) return;
  memory_dir_ = "/sys/fs/cgroup/memory/" + name;
  if (!v1_only && exists("/sys/fs/cgroup/unified/cgroup.controllers") &&
      make("/sys/fs/cgroup/unified", name))
    v2_dir_ = "/sys/fs/cgroup/unified/" + name;
}

MemoryCgroup::~MemoryCgroup() {
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) remove_dir(*it);
}

bool MemoryCgroup::add(pid_t pid) {
  const std::string text = std::to_string(pid);
  bool ok = write_text(memory_dir_ + "/cgroup.procs", text);
  if (!v2_dir_.empty() && v2_dir_ != memory_dir_)
    ok = write_text(v2_dir_ + "/cgroup.procs", text) && ok;
  return ok;
}

bool MemoryCgroup::set_limit(std::uint64_t bytes) {
  return write_text(memory_dir_ + (memory_on_v2() ? "/memory.max" : "/memory.limit_in_bytes"),
                    std::to_string(bytes));
}

std::uint64_t MemoryCgroup::usage() const {
  return std::strtoull(
      read_text(memory_dir_ + (memory_on_v2() ? "/memory.current" : "/memory.usage_in_bytes"))
          .c_str(),
      nullptr, 10);
}

std::uint64_t MemoryCgroup::inactive_file() const {
  return stat_value(read_text(memory_dir_ + "/memory.stat"),
                    memory_on_v2() ? "inactive_file" : "total_inactive_file");
}

std::string write_uncached_file(const std::string& path, long mib) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_DIRECT | O_CLOEXEC, 0644);
  if (fd < 0) return "open " + path + " with O_DIRECT: " + std::strerror(errno);
  constexpr std::size_t kChunk = 1 << 20;
  void* buf = nullptr;
  if (posix_memalign(&buf, 4096, kChunk) != 0) {
    close(fd);
    return "posix_memalign failed";
  }
  std::memset(buf, 0x6b, kChunk);
  std::string error;
  for (long i = 0; i < mib && error.empty(); ++i) {
    if (write(fd, buf, kChunk) != static_cast<ssize_t>(kChunk))
      error = "write " + path + ": " + std::strerror(errno);
  }
  std::free(buf);
  close(fd);
  return error;
}

}  // namespace mgt
