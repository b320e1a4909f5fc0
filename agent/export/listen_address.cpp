#include "export/listen_address.h"

#include <arpa/inet.h>

#include <cctype>
#include <stdexcept>
#include <string_view>

namespace mg {
namespace {

[[noreturn]] void bad_address(const std::string& address, const std::string& why) {
  throw std::invalid_argument("--web.listen-address: \"" + address + "\": " + why);
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

// Names and dotted quads only: a comma, a space or a trailing letter after
// the port is a typo to report, not something to hand to the resolver.
bool valid_host(std::string_view s) {
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
  }
  return !s.empty();
}

}  // namespace

ListenAddress parse_listen_address(const std::string& address) {
  ListenAddress out;
  std::string port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find("]:");
    if (close == std::string::npos) bad_address(address, "expected [ipv6]:port");
    out.host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    in6_addr parsed{};
    if (inet_pton(AF_INET6, out.host.c_str(), &parsed) != 1) {
      bad_address(address, "not an IPv6 address in brackets");
    }
    // Go reads "[::]" as every address, IPv4 included, as ":port" is.
    if (IN6_IS_ADDR_UNSPECIFIED(&parsed)) out.host.clear();
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string::npos) bad_address(address, "expected host:port or :port");
    out.host = address.substr(0, colon);
    port = address.substr(colon + 1);
    if (!out.host.empty() && !valid_host(out.host)) {
      bad_address(address, "not a host name or IPv4 address");
    }
  }
  if (!all_digits(port) || port.size() > 5 || std::stoul(port) > 65535) {
    bad_address(address, "the port must be a number from 0 to 65535");
  }
  out.port = static_cast<std::uint16_t>(std::stoul(port));
  return out;
}

}  // namespace mg
