// Configs built to hurt the loader: bombs of nesting and aliases, huge files,
// bytes that are not text, files that are not files. Each must end in a clear
// error (file:line:col: key: reason) or a config, never in a crash, a hang or
// an expansion that grows with the number of alias paths.
#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/config_loader.h"

namespace mg {
namespace {

ConfigLoadResult load(const std::string& yaml) {
  return load_config_string(yaml, "bomb.yaml");
}

std::string all_errors(const ConfigLoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += "\n  " + e.to_string();
  return out;
}

// Fails with an error under `key` whose reason contains `reason`, at a real
// position when `positioned`.
testing::AssertionResult FailsWith(const ConfigLoadResult& r, const std::string& key,
                                   const std::string& reason, bool positioned = true) {
  if (r.config) return testing::AssertionFailure() << "loaded, but should have failed";
  for (const auto& e : r.errors) {
    if (e.key == key && e.reason.find(reason) != std::string::npos &&
        (!positioned || (e.mark.line > 0 && e.mark.column > 0))) {
      return testing::AssertionSuccess();
    }
  }
  return testing::AssertionFailure()
         << "no error " << key << ": ..." << reason << "..." << all_errors(r);
}

const std::string kGoodRule =
    "rules:\n"
    "  - name: ok\n"
    "    match: { name: '^x$' }\n"
    "    limit: 1Mi\n";

TEST(ConfigHostileTest, DeepFlowNestingIsAnErrorNotAStackOverflow) {
  const std::string yaml = "rules: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  auto r = load(yaml);
  EXPECT_TRUE(FailsWith(r, "yaml", "nested too deeply")) << all_errors(r);
}

TEST(ConfigHostileTest, UnclosedDeepNestingIsAnError) {
  auto r = load(std::string(100000, '{'));
  EXPECT_TRUE(FailsWith(r, "yaml", "nested too deeply")) << all_errors(r);
}

TEST(ConfigHostileTest, DeepBlockNestingIsAnError) {
  std::string yaml = "protect:\n  ";
  for (int i = 0; i < 50000; ++i) yaml += "- ";
  yaml += "x\n";
  auto r = load(yaml);
  EXPECT_TRUE(FailsWith(r, "yaml", "nested too deeply")) << all_errors(r);
}

TEST(ConfigHostileTest, DeepNestingOfMapsIsAnError) {
  std::string yaml;
  for (int i = 0; i < 20000; ++i) yaml += "{a: ";
  yaml += "1";
  for (int i = 0; i < 20000; ++i) yaml += "}";
  auto r = load(yaml);
  EXPECT_TRUE(FailsWith(r, "yaml", "nested too deeply")) << all_errors(r);
}

// Ten levels of ten aliases: 10^10 leaves if anything expanded them.
std::string laughs(int levels) {
  std::string yaml = "l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < levels; ++i) {
    // fmt, not `"l" + std::to_string(i)`: GCC 12 at -O3 reports a bogus
    // -Wrestrict (GCC PR 105329) on a literal prepended to a temporary.
    const std::string prev = fmt::format("*l{}", i - 1);
    yaml += fmt::format("l{}: &l{} [", i, i);
    for (int k = 0; k < 10; ++k) yaml += (k ? ", " : "") + prev;
    yaml += "]\n";
  }
  return yaml;
}

TEST(ConfigHostileTest, BillionLaughsUnderUnknownKeysIsRejectedWithoutExpansion) {
  auto r = load(laughs(10));
  EXPECT_TRUE(FailsWith(r, "l9", "unknown key")) << all_errors(r);
  EXPECT_LE(r.errors.size(), 20u) << all_errors(r);
}

TEST(ConfigHostileTest, BillionLaughsAsRulesIsRejectedWithoutExpansion) {
  // Anchors may only sit where keys are allowed, so the bomb hides inside a
  // rule: an aliased tree as its match, its protect list and its exec.
  std::string yaml =
      "rules:\n  - name: bomb\n    limit: 1Mi\n    match:\n      name: x\n      not: ";
  std::string tree = "&l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]";
  // Flow style keeps the whole bomb inside one value.
  for (int i = 1; i < 10; ++i) {
    std::string next = "&l" + std::to_string(i) + " [";
    for (int k = 0; k < 10; ++k) {
      next += k == 0 ? tree : ", *l" + std::to_string(i - 1);
    }
    tree = next + "]";
  }
  yaml += tree +
          "\n  - name: bomb2\n    limit: 1Mi\n    match: { name: x }\n"
          "    action: { exec: *l9 }\nprotect: *l9\n";
  auto r = load(yaml);
  EXPECT_TRUE(FailsWith(r, "rules[0].match.not", "must be a map")) << all_errors(r);
  EXPECT_TRUE(FailsWith(r, "rules[1].action.exec[0]", "must be a single value")) << all_errors(r);
  EXPECT_TRUE(FailsWith(r, "protect[0]", "must be a map")) << all_errors(r);
  EXPECT_LE(r.errors.size(), 40u) << all_errors(r);
}

TEST(ConfigHostileTest, RuleWithTenThousandMatcherKeysReportsThemWithoutChoking) {
  std::string yaml = "rules:\n  - name: many\n    limit: 1Mi\n    match:\n";
  for (int i = 0; i < 10000; ++i) yaml += "      name: x" + std::to_string(i) + "\n";
  auto r = load(yaml);
  EXPECT_TRUE(FailsWith(r, "rules[0].match.name", "duplicate key (first at line 5)"))
      << r.errors.size();
  EXPECT_EQ(r.errors.size(), 9999u);
}

TEST(ConfigHostileTest, TenThousandProtectMatchersAndRulesLoad) {
  std::string yaml = "protect:\n";
  for (int i = 0; i < 10000; ++i) yaml += "  - { name: '^p" + std::to_string(i) + "$' }\n";
  yaml += "rules:\n";
  for (int i = 0; i < 2000; ++i) {
    yaml += "  - { name: r" + std::to_string(i) + ", match: { cmdline: 'c" + std::to_string(i) +
            "' }, limit: 1Mi }\n";
  }
  auto r = load(yaml);
  ASSERT_TRUE(r.config) << all_errors(r);
  EXPECT_EQ(r.config->protect.size(), 10000u);
  EXPECT_EQ(r.config->rules.size(), 2000u);
}

TEST(ConfigHostileTest, RegexOfTenThousandAlternativesIsAcceptedOrRefusedWithItsPosition) {
  std::string alternatives;
  for (int i = 0; i < 10000; ++i) alternatives += fmt::format("{}w{}", i ? "|" : "", i);
  auto r = load("rules:\n  - name: wide\n    limit: 1Mi\n    match: { cmdline: '" + alternatives +
                "' }\n");
  if (!r.config) {
    EXPECT_TRUE(FailsWith(r, "rules[0].match.cmdline", "bad regular expression")) << all_errors(r);
  }
  // A regex RE2 cannot hold in its memory budget is refused, not crashed on.
  auto huge = load(
      "rules:\n  - name: huge\n    limit: 1Mi\n    match: { cmdline: "
      "'((((a{100}){100}){100}){100})' }\n");
  EXPECT_TRUE(FailsWith(huge, "rules[0].match.cmdline", "bad regular expression"))
      << all_errors(huge);
}

TEST(ConfigHostileTest, FileOverOneMebibyteIsRefusedBeforeParsing) {
  std::string yaml = kGoodRule + "# " + std::string(1100 * 1024, 'x') + "\n";
  auto r = load(yaml);
  EXPECT_TRUE(FailsWith(r, "config.file", "too large", false)) << all_errors(r);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string().rfind("bomb.yaml: config.file: too large", 0), 0u)
      << r.errors[0].to_string();
}

TEST(ConfigHostileTest, TruncatedFilesAreErrorsWithAPosition) {
  const std::string full =
      "interval: 1s\n"
      "rules:\n"
      "  - name: cut\n"
      "    match: { name: '^x$', cmdline: \"a b\" }\n"
      "    limit: 1Mi\n"
      "    action: [ { signal: SIGTERM } ]\n";
  // Every cut either loads (it ends on a boundary) or fails with positions;
  // a cut inside a quoted string or a flow collection must fail.
  for (std::size_t n = 0; n < full.size(); ++n) {
    SCOPED_TRACE("cut after " + std::to_string(n) + " bytes");
    auto r = load(full.substr(0, n));
    if (r.config) continue;
    ASSERT_FALSE(r.errors.empty());
    for (const auto& e : r.errors) {
      EXPECT_GT(e.mark.line, 0) << e.to_string();
      EXPECT_FALSE(e.key.empty()) << e.to_string();
    }
  }
  auto in_quote = load(full.substr(0, full.find("a b") + 1));
  EXPECT_TRUE(FailsWith(in_quote, "yaml", "")) << all_errors(in_quote);
  auto in_flow = load(full.substr(0, full.find("SIGTERM")));
  EXPECT_FALSE(in_flow.config);
}

TEST(ConfigHostileTest, InvalidUtf8IsAnErrorAtItsByte) {
  auto r = load("rules:\n  - name: bad\xff\xfe\n    match: { name: x }\n    limit: 1Mi\n");
  EXPECT_TRUE(FailsWith(r, "yaml", "invalid UTF-8 (byte 0xff)")) << all_errors(r);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].mark.line, 2);
  EXPECT_EQ(r.errors[0].mark.column, 14);
  // Overlong forms and surrogates are invalid too; real UTF-8 is fine.
  EXPECT_FALSE(load("a: \xc0\xaf\n").errors.empty());
  EXPECT_FALSE(load("a: \xed\xa0\x80\n").errors.empty());
  auto ok = load(
      "rules:\n  - name: caf\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x90\x98\n"
      "    match: { name: x }\n    limit: 1Mi\n");
  EXPECT_TRUE(ok.config) << all_errors(ok);
}

TEST(ConfigHostileTest, NulByteIsAnErrorAtItsByte) {
  auto r = load(std::string("rules:\n  - name: a\0b\n", 21));
  EXPECT_TRUE(FailsWith(r, "yaml", "NUL byte")) << all_errors(r);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].mark.line, 2);
  EXPECT_EQ(r.errors[0].mark.column, 12);
}

TEST(ConfigHostileTest, HugeScalarIsQuotedShortInItsError) {
  auto r = load("interval: " + std::string(500000, '9') + "x\n");
  ASSERT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u) << all_errors(r);
  EXPECT_LT(r.errors[0].to_string().size(), 600u);
  EXPECT_NE(r.errors[0].reason.find("(500001 bytes)"), std::string::npos) << r.errors[0].reason;
}

class ConfigHostileFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("mg-hostile-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(ConfigHostileFileTest, FifoIsRefusedWithoutBlocking) {
  const auto fifo = dir_ / "memoryguard.yaml";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto r = load_config_file(fifo.string());
  EXPECT_TRUE(FailsWith(r, "config.file", "not a regular file", false)) << all_errors(r);
}

TEST_F(ConfigHostileFileTest, DirectoryIsRefused) {
  auto r = load_config_file(dir_.string());
  EXPECT_TRUE(FailsWith(r, "config.file", "Is a directory", false)) << all_errors(r);
}

TEST_F(ConfigHostileFileTest, CharacterDeviceIsRefused) {
  auto r = load_config_file("/dev/zero");
  EXPECT_TRUE(FailsWith(r, "config.file", "not a regular file", false)) << all_errors(r);
}

TEST_F(ConfigHostileFileTest, MissingFileNamesTheFileAndTheReason) {
  const std::string missing = (dir_ / "gone.yaml").string();
  auto r = load_config_file(missing);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(),
            missing + ": config.file: cannot read: No such file or directory");
}

}  // namespace
}  // namespace mg
