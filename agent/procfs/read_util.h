#pragma once
// Reading /proc and cgroupfs files with plain read(2) into a caller-owned,
// reused buffer. Private to agent/procfs/.
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace mg {

struct ReadResult {
  std::size_t size = 0;  // bytes now at the front of the buffer
  int err = 0;           // errno of the failed read, 0 on success
};

// Reads fd to its end, or to `cap` bytes, into `buf`, growing it as needed.
// `buf` is used as raw storage: its size() is capacity, not content, so a
// buffer that grew once is never shrunk or reallocated again.
// /proc files hand out a page or so per read(), so this loops until EOF.
inline ReadResult read_fd(int fd, std::string& buf, std::size_t cap,
                          bool short_read_is_end = false) {
  if (buf.size() < 4096) buf.resize(4096);
  std::size_t have = 0;
  while (have < cap) {
    if (have == buf.size()) buf.resize(buf.size() * 2 < cap ? buf.size() * 2 : cap);
    const std::size_t want = (buf.size() < cap ? buf.size() : cap) - have;
    const ssize_t n = ::read(fd, buf.data() + have, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      return {have, errno};
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
    // A file shown whole by one seq_file record (stat, statm, status,
    // cgroup), cmdline and a regular file return less than asked only at
    // their end: skipping the read that would return 0 saves a syscall.
    // (Not so for multi-record seq_files like mountinfo: they may stop
    // short at a record boundary.)
    if (short_read_is_end && static_cast<std::size_t>(n) < want) break;
  }
  return {have, 0};
}

// Calls on_line for every line of fd (without its '\n'), holding only a
// chunk of the file at a time in `buf`. Returns 0 or the errno of a failed
// read.
template <typename F>
int for_each_line(int fd, std::string& buf, F&& on_line) {
  constexpr std::size_t kChunk = 64 * 1024;
  if (buf.size() < kChunk) buf.resize(kChunk);
  std::size_t have = 0;
  for (;;) {
    if (have == buf.size()) buf.resize(buf.size() * 2);  // one line longer than the chunk
    const ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) break;
    have += static_cast<std::size_t>(n);
    std::size_t start = 0;
    while (start < have) {
      const void* nl = std::memchr(buf.data() + start, '\n', have - start);
      if (nl == nullptr) break;
      const std::size_t end = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
      on_line(std::string_view(buf.data() + start, end - start));
      start = end + 1;
    }
    std::memmove(buf.data(), buf.data() + start, have - start);
    have -= start;
  }
  if (have > 0) on_line(std::string_view(buf.data(), have));
  return 0;
}

}  // namespace mg
