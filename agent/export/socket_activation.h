#pragma once
// --web.systemd-socket: the listening sockets systemd hands over (socket
// activation, sd_listen_fds(3)), taken as go-systemd's activation.Listeners
// takes them for exporter-toolkit. The variables are read once and unset, and
// the sockets made close-on-exec, so an exec hook never inherits them nor
// takes them for its own.
#include <sys/types.h>

#include <string>
#include <vector>

namespace mg {

// The first descriptor systemd passes (SD_LISTEN_FDS_START).
inline constexpr int kListenFdsStart = 3;

// The descriptors that LISTEN_PID and LISTEN_FDS name for process `self`:
// none when LISTEN_PID is unset or another process's (the variables were
// meant for a parent). Throws std::runtime_error for a malformed value.
std::vector<int> listen_fds(const char* listen_pid, const char* listen_fds, pid_t self,
                            int first = kListenFdsStart);

// Takes the sockets passed to this process: reads and unsets LISTEN_PID,
// LISTEN_FDS and LISTEN_FDNAMES, checks that each is a listening TCP socket,
// and marks it close-on-exec. Throws std::runtime_error naming the descriptor
// at fault, or saying that none was passed. Call before other threads run:
// it changes the environment.
std::vector<int> take_systemd_sockets();

}  // namespace mg
