#include "export/listen_address.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>

namespace mg {
namespace {

TEST(ListenAddressParse, GoForms) {
  ListenAddress a = parse_listen_address(":9756");
  EXPECT_EQ(a.host, "");
  EXPECT_EQ(a.port, 9756);
  a = parse_listen_address("[::]:9756");
  EXPECT_EQ(a.host, "") << "[::] is every address, IPv4 included";
  a = parse_listen_address("[::1]:80");
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, 80);
  a = parse_listen_address("127.0.0.1:0");
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, 0);
  a = parse_listen_address("metrics-host.example:65535");
  EXPECT_EQ(a.host, "metrics-host.example");
  EXPECT_EQ(a.port, 65535);
}

TEST(ListenAddressParse, MalformedIsInvalidArgumentNamingTheAddress) {
  for (const char* address :
       {"", "9756", ":", "127.0.0.1:http", "127.0.0.1:99999", "127.0.0.1:-1", "a,b:1", ":1,2",
        "127.0.0.1:80s", "[::1", "[::1]", "[nope]:1", "[::1]:x", "host name:1", ":123456"}) {
    try {
      parse_listen_address(address);
      ADD_FAILURE() << '"' << address << "\" was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr(std::string("\"") + address + "\"")) << address;
    }
  }
}

}  // namespace
}  // namespace mg
