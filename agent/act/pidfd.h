#pragma once
// pidfd system calls. glibc 2.36 (Debian 12) declares them in <sys/pidfd.h>
// without extern "C", so C++ cannot link against those declarations; the raw
// syscalls are used instead.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace mg::pidfd {

inline int open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u));
}

inline int send_signal(int fd, int signal) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, fd, signal, nullptr, 0u));
}

}  // namespace mg::pidfd
