#pragma once
// --web.listen-address in Go's forms: ":9756", "host:9756", "[::1]:9756",
// "[::]:9756". Parsing only: binding is the server's job.
#include <cstdint>
#include <string>

namespace mg {

struct ListenAddress {
  // Empty for every IPv4 and IPv6 address (":9756" and "[::]:9756"); else a
  // host name, an IPv4 address, or an IPv6 address without its brackets.
  std::string host;
  std::uint16_t port = 0;  // 0: the kernel picks one
};

// Throws std::invalid_argument naming the address: a malformed address is a
// bad flag (exit 2), unlike a port that is taken.
ListenAddress parse_listen_address(const std::string& address);

}  // namespace mg
