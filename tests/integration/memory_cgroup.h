#pragma once
// A cgroup with the memory controller, for the tests of what the kernel
// charges and how it stalls: on a pure v2 host one v2 cgroup; on a hybrid
// host (memory on v1, as this project's CI machine) a v1 memory cgroup and a
// v2 cgroup of the same name, a process moved into both, so that its charge
// lands on the v1 side and its pressure stalls show in the v2 memory.pressure;
// on a pure v1 host the memory cgroup alone. The name may be a path
// ("a/b/c"): every directory made is removed, deepest first, with retries
// while the last members die, when it goes out of scope.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mgt {

class MemoryCgroup {
 public:
  // With v1_only on a hybrid host, no v2 cgroup is made: the process stays
  // in the v2 root, and only its v1 path says where it is.
  explicit MemoryCgroup(const std::string& name, bool v1_only = false);
  ~MemoryCgroup();
  MemoryCgroup(const MemoryCgroup&) = delete;
  MemoryCgroup& operator=(const MemoryCgroup&) = delete;

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  // Where the memory controller accounts it, and its v2 cgroup (empty on v1).
  const std::string& memory_dir() const { return memory_dir_; }
  const std::string& v2_dir() const { return v2_dir_; }
  bool memory_on_v2() const { return memory_dir_ == v2_dir_; }
  bool add(pid_t pid);
  bool set_limit(std::uint64_t bytes);
  // The charge (memory.current or memory.usage_in_bytes) and memory.stat's
  // (total_)inactive_file.
  std::uint64_t usage() const;
  std::uint64_t inactive_file() const;

 private:
  bool make(const std::string& root, const std::string& name);
  std::string memory_dir_;
  std::string v2_dir_;
  std::string error_;
  std::vector<std::string> made_;  // in the order made
};

// Writes `mib` MiB to `path` with O_DIRECT, so that none of it stays in the
// page cache charged to the writer: whoever reads it first is charged. The
// error, or empty on success (a filesystem without O_DIRECT, like tmpfs,
// says so).
std::string write_uncached_file(const std::string& path, long mib);

}  // namespace mgt
