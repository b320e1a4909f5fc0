#include "export/socket_activation.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

namespace mg {
namespace {

long parse_number(const char* name, std::string_view text) {
  long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) {
    throw std::runtime_error(std::string("--web.systemd-socket: ") + name + "=\"" +
                             std::string(text) + "\" is not a number");
  }
  return value;
}

// A listening stream socket of IPv4 or IPv6: what the server can accept on.
std::string why_not_tcp_listener(int fd) {
  int type = 0;
  int listening = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) {
    return std::string("not a socket (") + std::strerror(errno) + ")";
  }
  len = sizeof listening;
  if (type != SOCK_STREAM) return "not a stream socket (ListenStream= in the .socket unit)";
  if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || listening == 0) {
    return "not a listening socket (Accept=yes passes connections; memoryguard needs Accept=no)";
  }
  sockaddr_storage addr{};
  len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      (addr.ss_family != AF_INET && addr.ss_family != AF_INET6)) {
    return "not a TCP socket (a Unix socket is not supported: ListenStream= takes a port or "
           "an address with a port)";
  }
  return {};
}

}  // namespace

std::vector<int> listen_fds(const char* listen_pid, const char* listen_fds, pid_t self, int first) {
  if (listen_pid == nullptr || listen_fds == nullptr) return {};
  if (parse_number("LISTEN_PID", listen_pid) != self) return {};
  const long count = parse_number("LISTEN_FDS", listen_fds);
  std::vector<int> out;
  for (long i = 0; i < count; ++i) out.push_back(first + static_cast<int>(i));
  return out;
}

std::vector<int> take_systemd_sockets() {
  const char* pid = std::getenv("LISTEN_PID");
  const char* fds = std::getenv("LISTEN_FDS");
  std::vector<int> out = listen_fds(pid, fds, getpid());
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  if (out.empty()) {
    throw std::runtime_error(
        "--web.systemd-socket: no socket activation file descriptors found (LISTEN_PID and "
        "LISTEN_FDS name none for this process: start it from a .socket unit, or drop the flag "
        "and use --web.listen-address)");
  }
  for (int fd : out) {
    if (const std::string why = why_not_tcp_listener(fd); !why.empty()) {
      throw std::runtime_error("--web.systemd-socket: file descriptor " + std::to_string(fd) +
                               " is " + why);
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  return out;
}

}  // namespace mg
