#pragma once
// A cgroup with the memory controller, for the tests of what the kernel
// charges and how it stalls: on a pure v2 host one v2 cgroup; on a hybrid
// host (memory on v1, as this project's CI machine) a v1 memory cgroup and a
// v2 cgroup of the same name, a process moved into both, so that its charge
// lands on the v1 side and its pressure stalls show in the v2 memory.pressure;
// on a pure v1 host the memory cgroup alone. Removed, with retries while its
// last members die, when it goes out of scope.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>

namespace mgt {

class MemoryCgroup {
 public:
  explicit MemoryCgroup(const std::string& name);
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
  std::string memory_dir_;
  std::string v2_dir_;
  std::string error_;
};

// Writes `mib` MiB to `path` with O_DIRECT, so that none of it stays in the
// page cache charged to the writer: whoever reads it first is charged. The
// error, or empty on success (a filesystem without O_DIRECT, like tmpfs,
// says so).
std::string write_uncached_file(const std::string& path, long mib);

}  // namespace mgt
