#include "config/units.h"

#include <gtest/gtest.h>

#include <csignal>
#include <limits>

namespace mg {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr std::uint64_t kKi = 1024;

TEST(UnitsParseSize, PlainBytes) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("1"), 1u);
  EXPECT_EQ(parse_size("536870912"), 536870912u);
  EXPECT_EQ(parse_size("512B"), 512u);
  EXPECT_EQ(parse_size("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
}

TEST(UnitsParseSize, BinaryUnits) {
  EXPECT_EQ(parse_size("1Ki"), kKi);
  EXPECT_EQ(parse_size("512Mi"), 512 * kKi * kKi);
  EXPECT_EQ(parse_size("2Gi"), 2 * kKi * kKi * kKi);
  EXPECT_EQ(parse_size("3Ti"), 3 * kKi * kKi * kKi * kKi);
  EXPECT_EQ(parse_size("1KiB"), kKi);
  EXPECT_EQ(parse_size("512MiB"), 512 * kKi * kKi);
  EXPECT_EQ(parse_size("2GiB"), 2 * kKi * kKi * kKi);
  EXPECT_EQ(parse_size("3TiB"), 3 * kKi * kKi * kKi * kKi);
}

TEST(UnitsParseSize, DecimalUnits) {
  EXPECT_EQ(parse_size("1KB"), 1000u);
  EXPECT_EQ(parse_size("1kB"), 1000u);
  EXPECT_EQ(parse_size("5MB"), 5'000'000u);
  EXPECT_EQ(parse_size("2GB"), 2'000'000'000u);
  EXPECT_EQ(parse_size("1TB"), 1'000'000'000'000u);
}

TEST(UnitsParseSize, FractionsAndSpaces) {
  EXPECT_EQ(parse_size("1.5Gi"), 3 * kKi * kKi * kKi / 2);
  EXPECT_EQ(parse_size("1.5GB"), 1'500'000'000u);
  EXPECT_EQ(parse_size("0.5Ki"), 512u);
  EXPECT_EQ(parse_size("0.1Ki"), 102u);  // whole bytes, rounded down
  EXPECT_EQ(parse_size("512 MiB"), 512 * kKi * kKi);
}

TEST(UnitsParseSize, RejectsAmbiguousUnits) {
  // K/M/G/T alone mean 1000s to Kubernetes and 1024s to docker.
  for (const char* text : {"1K", "512M", "2G", "1T", "512m", "1k"}) {
    EXPECT_FALSE(parse_size(text)) << text;
  }
}

TEST(UnitsParseSize, RejectsJunkNegativesAndOverflow) {
  for (const char* text : {"",
                           " ",
                           "-1",
                           "-1Mi",
                           "+1",
                           "Mi",
                           "1.5",
                           "1.5B",
                           "1.",
                           "1..5Gi",
                           "1e9",
                           "0x10",
                           "12X",
                           "1 2",
                           "1Mi ",
                           "1mi",
                           "1MIB",
                           "nan",
                           "1Gi1",
                           "18446744073709551616",
                           "16384Pi",
                           "17179869184Gi",
                           "99999999999999999999Ti"}) {
    EXPECT_FALSE(parse_size(text)) << text;
  }
}

TEST(UnitsParsePercent, Accepts) {
  EXPECT_DOUBLE_EQ(*parse_percent("80%"), 80.0);
  EXPECT_DOUBLE_EQ(*parse_percent("100%"), 100.0);
  EXPECT_DOUBLE_EQ(*parse_percent("12.5%"), 12.5);
  EXPECT_DOUBLE_EQ(*parse_percent("0.5%"), 0.5);
  EXPECT_DOUBLE_EQ(*parse_percent("80 %"), 80.0);
}

TEST(UnitsParsePercent, RejectsOutOfRangeAndJunk) {
  for (const char* text :
       {"0%", "0.0%", "100.1%", "120%", "-5%", "80", "%", "", "abc%", "8 0%", "1e2%", "80%%"}) {
    EXPECT_FALSE(parse_percent(text)) << text;
  }
}

TEST(UnitsParseDuration, GoAndPrometheusForms) {
  EXPECT_EQ(parse_duration("0"), Duration{0});
  EXPECT_EQ(parse_duration("0s"), Duration{0});
  EXPECT_EQ(parse_duration("500ms"), milliseconds(500));
  EXPECT_EQ(parse_duration("1s"), seconds(1));
  EXPECT_EQ(parse_duration("1m30s"), seconds(90));
  EXPECT_EQ(parse_duration("2h"), hours(2));
  EXPECT_EQ(parse_duration("1h30m"), minutes(90));
  EXPECT_EQ(parse_duration("250us"), microseconds(250));
  EXPECT_EQ(parse_duration("250\xC2\xB5s"), microseconds(250));
  EXPECT_EQ(parse_duration("42ns"), nanoseconds(42));
  EXPECT_EQ(parse_duration("1d"), hours(24));
  EXPECT_EQ(parse_duration("1w"), hours(24 * 7));
  EXPECT_EQ(parse_duration("1y"), hours(24 * 365));
  EXPECT_EQ(parse_duration("1.5s"), milliseconds(1500));
  EXPECT_EQ(parse_duration(".5s"), milliseconds(500));
  EXPECT_EQ(
      parse_duration("1h2m3s4ms5us6ns"),
      hours(1) + minutes(2) + seconds(3) + milliseconds(4) + microseconds(5) + nanoseconds(6));
}

TEST(UnitsParseDuration, RejectsNegativeJunkAndOverflow) {
  for (const char* text : {"", "-1s", "-0s", "1", "10", "s", "1x", "1 s", "1s ", "1m 30s", "1.s",
                           "1S", "1H", "ms", "1s-", "abc", "300y", "9223372036854775808ns"}) {
    EXPECT_FALSE(parse_duration(text)) << text;
  }
}

TEST(UnitsParseSignal, NamesAndNumbers) {
  EXPECT_EQ(parse_signal("SIGTERM"), SIGTERM);
  EXPECT_EQ(parse_signal("TERM"), SIGTERM);
  EXPECT_EQ(parse_signal("sigterm"), SIGTERM);
  EXPECT_EQ(parse_signal("term"), SIGTERM);
  EXPECT_EQ(parse_signal("15"), SIGTERM);
  EXPECT_EQ(parse_signal("SIGKILL"), SIGKILL);
  EXPECT_EQ(parse_signal("9"), SIGKILL);
  EXPECT_EQ(parse_signal("SIGUSR1"), SIGUSR1);
  EXPECT_EQ(parse_signal("SIGIOT"), SIGABRT);
  EXPECT_EQ(parse_signal("SIGRTMIN"), SIGRTMIN);
  EXPECT_EQ(parse_signal("SIGRTMIN+2"), SIGRTMIN + 2);
  EXPECT_EQ(parse_signal("RTMAX-1"), SIGRTMAX - 1);
  EXPECT_EQ(parse_signal("SIGRTMAX"), SIGRTMAX);
}

TEST(UnitsParseSignal, Rejects) {
  for (const char* text : {"", "0", "SIG", "SIGFOO", "FOO", "-9", "999", "65", "SIGTERM ",
                           "SIGRTMIN-1", "SIGRTMAX+1", "SIGRTMIN+99", "9x", "SIGSIGTERM"}) {
    EXPECT_FALSE(parse_signal(text)) << text;
  }
}

TEST(UnitsSignalName, CanonicalNames) {
  EXPECT_EQ(signal_name(SIGTERM), "SIGTERM");
  EXPECT_EQ(signal_name(SIGKILL), "SIGKILL");
  EXPECT_EQ(signal_name(SIGABRT), "SIGABRT");
  EXPECT_EQ(signal_name(SIGRTMIN), "SIGRTMIN");
  EXPECT_EQ(signal_name(SIGRTMIN + 2), "SIGRTMIN+2");
  EXPECT_EQ(signal_name(SIGRTMAX - 1), "SIGRTMAX-1");
  EXPECT_EQ(signal_name(SIGRTMAX), "SIGRTMAX");
  EXPECT_EQ(signal_name(0), "0");
}

TEST(UnitsSignalName, RoundTripsEverySignal) {
  for (int sig = 1; sig <= SIGRTMAX; ++sig) {
    if (sig == 32 || sig == 33) continue;  // reserved by glibc for its threads, below SIGRTMIN
    EXPECT_EQ(parse_signal(signal_name(sig)), sig) << signal_name(sig);
  }
}

TEST(UnitsFormatBytes, HumanForms) {
  EXPECT_EQ(format_bytes(0), "0B");
  EXPECT_EQ(format_bytes(1023), "1023B");
  EXPECT_EQ(format_bytes(1024), "1KiB");
  EXPECT_EQ(format_bytes(1536), "1.5KiB");
  EXPECT_EQ(format_bytes(512 * kKi * kKi), "512MiB");
  EXPECT_EQ(format_bytes(3 * kKi * kKi * kKi / 2), "1.5GiB");
  EXPECT_EQ(format_bytes(2 * kKi * kKi * kKi * kKi), "2TiB");
  EXPECT_EQ(format_bytes(1'000'000'000), "953.67MiB");
  EXPECT_EQ(format_bytes(std::numeric_limits<std::uint64_t>::max()), "16EiB");
}

TEST(UnitsFormatDuration, PrometheusForms) {
  EXPECT_EQ(format_duration(Duration{0}), "0s");
  EXPECT_EQ(format_duration(milliseconds(500)), "500ms");
  EXPECT_EQ(format_duration(seconds(1)), "1s");
  EXPECT_EQ(format_duration(seconds(90)), "1m30s");
  EXPECT_EQ(format_duration(minutes(90)), "1h30m");
  EXPECT_EQ(format_duration(hours(2)), "2h");
  EXPECT_EQ(format_duration(hours(24)), "1d");
  EXPECT_EQ(format_duration(hours(24 * 8)), "1w1d");
  EXPECT_EQ(format_duration(milliseconds(1500)), "1s500ms");
  EXPECT_EQ(format_duration(nanoseconds(1001)), "1us1ns");
  EXPECT_EQ(format_duration(-seconds(5)), "-5s");
}

TEST(UnitsFormatDuration, RoundTripsThroughParse) {
  for (Duration d : {Duration{0}, Duration{milliseconds(500)}, Duration{seconds(90)},
                     Duration{hours(24 * 9) + minutes(3) + nanoseconds(7)}}) {
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
  }
}

}  // namespace
}  // namespace mg
