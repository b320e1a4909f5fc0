#include "export/web_config.h"

#include <crypt.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "export/rate_limiter.h"

namespace mg {
namespace {

using ::testing::HasSubstr;

std::string bcrypt(const std::string& password, const char* prefix = "$2b$") {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // Cost 4, the least bcrypt allows, keeps the test fast.
  if (crypt_gensalt_rn(prefix, 4, nullptr, 0, salt, sizeof salt) == nullptr) return {};
  crypt_data data{};
  const char* out = crypt_r(password.c_str(), salt, &data);
  return out ? out : "";
}

class WebConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mg_web_config_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& content) {
    const std::string path = dir_ + "/web.yml";
    std::ofstream(path) << content;
    return path;
  }

  // The only error, or "" when the file loaded.
  std::string single_error(const std::string& content) {
    auto r = WebConfig::load(write(content));
    if (std::holds_alternative<WebConfig>(r)) return "";
    const auto& errors = std::get<1>(r);
    EXPECT_EQ(errors.size(), 1u);
    return errors.empty() ? "" : errors.front();
  }

  std::string dir_;
};

TEST_F(WebConfigTest, GoodAndBadPasswords) {
  const std::string alice = bcrypt("s3cret");
  const std::string bob = bcrypt("hunter2", "$2y$");
  ASSERT_FALSE(alice.empty());
  ASSERT_FALSE(bob.empty());
  auto r =
      WebConfig::load(write("basic_auth_users:\n  alice: " + alice + "\n  bob: '" + bob + "'\n"));
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r));
  const auto& wc = std::get<WebConfig>(r);
  EXPECT_TRUE(wc.auth_required());
  EXPECT_TRUE(wc.check("alice", "s3cret"));
  EXPECT_TRUE(wc.check("alice", "s3cret"));  // from the cache this time
  EXPECT_TRUE(wc.check("bob", "hunter2"));
  EXPECT_FALSE(wc.check("alice", "hunter2"));
  EXPECT_FALSE(wc.check("alice", "s3cre"));
  EXPECT_FALSE(wc.check("alice", ""));
  EXPECT_FALSE(wc.check("alice", std::string("s3cret\0x", 8)));
  EXPECT_FALSE(wc.check("carol", "s3cret"));
  EXPECT_FALSE(wc.check("", ""));
}

TEST_F(WebConfigTest, CachedLoginIsFasterThanBcrypt) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  ASSERT_NE(crypt_gensalt_rn("$2b$", 12, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data{};
  const std::string hash = crypt_r("pw", salt, &data);
  auto r = WebConfig::load(write("basic_auth_users:\n  alice: " + hash + "\n"));
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r));
  const auto& wc = std::get<WebConfig>(r);
  using Clock = std::chrono::steady_clock;
  const auto t0 = Clock::now();
  ASSERT_TRUE(wc.check("alice", "pw"));
  const auto t1 = Clock::now();
  ASSERT_TRUE(wc.check("alice", "pw"));
  const auto t2 = Clock::now();
  // Cost 12 is ~200ms; the cached path is a cheap SHA-256-crypt.
  EXPECT_LT((t2 - t1) * 5, t1 - t0);
}

TEST_F(WebConfigTest, EmptyFileAndNoUsersMeanNoAuth) {
  for (const char* content : {"", "basic_auth_users:\n", "tls_server_config: {}\n"}) {
    auto r = WebConfig::load(write(content));
    ASSERT_TRUE(std::holds_alternative<WebConfig>(r)) << content;
    EXPECT_FALSE(std::get<WebConfig>(r).auth_required());
    EXPECT_TRUE(std::get<WebConfig>(r).check("anyone", "anything"));
  }
}

TEST_F(WebConfigTest, HttpServerConfigHeaders) {
  auto r = WebConfig::load(
      write("http_server_config:\n  http2: true\n  headers:\n    X-Frame-Options: deny\n"
            "    Strict-Transport-Security: max-age=31536000\n"));
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r));
  const auto& headers = std::get<WebConfig>(r).headers();
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers[0], std::make_pair(std::string("X-Frame-Options"), std::string("deny")));

  EXPECT_THAT(single_error("http_server_config:\n  headers:\n    X-Frame-Options: allow\n"),
              HasSubstr(":3:22: http_server_config.headers.X-Frame-Options: must be one of"));
  EXPECT_THAT(single_error("http_server_config:\n  headers:\n    Set-Cookie: a=b\n"),
              HasSubstr(":3:5: http_server_config.headers.Set-Cookie: not an allowed header"));
  EXPECT_THAT(single_error("http_server_config:\n  http3: true\n"),
              HasSubstr(":2:3: http_server_config.http3: unknown key"));
}

TEST_F(WebConfigTest, ErrorsCarryFileLineAndColumn) {
  const std::string path = dir_ + "/web.yml";
  EXPECT_EQ(single_error("basic_auth_users: {}\nbasic_auth_user:\n  alice: x\n"),
            path + ":2:1: basic_auth_user: unknown key");
  EXPECT_EQ(single_error("tls_server_config:\n  cert_file: a.crt\n  key: x\n  key_file: a.key\n"),
            path + ":3:8: tls_server_config.key: give key_file or key, not both");
  EXPECT_THAT(single_error("basic_auth_users:\n  alice: plaintext\n"),
              HasSubstr(path + ":2:10: basic_auth_users.alice: must be a bcrypt hash"));
  EXPECT_THAT(single_error("basic_auth_users: [alice]\n"),
              HasSubstr(path + ":1:19: basic_auth_users: must be a mapping"));
  // Syntax errors: the mark points into the broken line.
  EXPECT_EQ(single_error("basic_auth_users:\n  alice: a: b\n"),
            path + ":2:11: yaml: illegal map value");
  EXPECT_EQ(single_error("basic_auth_users:\n  alice: [unclosed\n"),
            path + ":3:1: yaml: end of sequence flow not found");
  EXPECT_THAT(single_error("- a\n- b\n"), HasSubstr(path + ":1:1: web config: must be a mapping"));
}

TEST_F(WebConfigTest, AllErrorsAreReportedAtOnce) {
  auto r = WebConfig::load(write("foo: 1\nbar: 2\nbasic_auth_users:\n  alice: nope\n"));
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(r));
  EXPECT_EQ(std::get<1>(r).size(), 3u);
}

TEST_F(WebConfigTest, MissingFileIsAnError) {
  auto r = WebConfig::load(dir_ + "/absent.yml");
  ASSERT_TRUE(std::holds_alternative<std::vector<std::string>>(r));
  EXPECT_THAT(std::get<1>(r).front(), HasSubstr("absent.yml: cannot read the web config"));
}

bool eventually(const std::function<bool()>& predicate) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return predicate();
}

// As kubectl and editors do: a new file renamed over the old one.
void replace_file(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp) << content;
  ASSERT_EQ(std::rename(tmp.c_str(), path.c_str()), 0);
}

TEST_F(WebConfigTest, LiveConfigFollowsTheFileAndKeepsTheOldOneWhenTheNewIsBad) {
  const std::string path = write("basic_auth_users:\n  alice: " + bcrypt("one") + "\n");
  auto r = WebConfig::load(path);
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r));
  LiveWebConfig live(std::get<WebConfig>(std::move(r)));
  live.start();
  EXPECT_TRUE(live.current()->check("alice", "one"));

  replace_file(
      path, "basic_auth_users:\n  alice: " + bcrypt("two") + "\n  bob: " + bcrypt("three") + "\n");
  ASSERT_TRUE(eventually([&] { return live.counts().loaded == 1; }));
  EXPECT_FALSE(live.current()->check("alice", "one")) << "the old password still works";
  EXPECT_TRUE(live.current()->check("alice", "two"));
  EXPECT_TRUE(live.current()->check("bob", "three"));

  // A typo must neither open the endpoint nor lock everyone out.
  replace_file(path, "basic_auth_users:\n  alice: not-a-hash\n");
  ASSERT_TRUE(eventually([&] { return live.counts().rejected == 1; }));
  EXPECT_TRUE(live.current()->auth_required());
  EXPECT_TRUE(live.current()->check("alice", "two"));

  // In place (same inode), as `echo > file` does.
  std::ofstream(path) << "basic_auth_users:\n  carol: " << bcrypt("four") << "\n";
  ASSERT_TRUE(eventually([&] { return live.current()->check("carol", "four"); }));
  EXPECT_FALSE(live.current()->check("alice", "two"));

  // A file that turns empty is most likely being written: it must not turn
  // auth off. An explicit empty user list does.
  const auto rejected = live.counts().rejected;
  std::ofstream(path).close();
  ASSERT_TRUE(eventually([&] { return live.counts().rejected > rejected; }));
  EXPECT_TRUE(live.current()->auth_required());
  replace_file(path, "basic_auth_users: {}\n");
  ASSERT_TRUE(eventually([&] { return !live.current()->auth_required(); }));

  // A vanished file keeps what is in force.
  std::filesystem::remove(path);
  const auto before = live.counts();
  EXPECT_FALSE(live.reload());
  EXPECT_FALSE(live.current()->auth_required());
  EXPECT_EQ(live.counts().rejected, before.rejected + 1);
  live.stop();
}

TEST_F(WebConfigTest, BcryptRunsOneAtATimeAndAWaiterGivesUp) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // Cost 11: 100+ ms, while the four threads below start within a millisecond.
  ASSERT_NE(crypt_gensalt_rn("$2b$", 11, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data{};
  const std::string hash = crypt_r("pw", salt, &data);
  auto r = WebConfig::load(write("basic_auth_users:\n  alice: " + hash + "\n"));
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r));
  WebConfig wc = std::get<WebConfig>(std::move(r));
  wc.set_bcrypt_wait(std::chrono::milliseconds(0));

  std::vector<AuthResult> results(4);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back(
        [&, i] { results[i] = wc.authenticate(i % 2 ? "alice" : "mallory", "wrong"); });
  }
  for (auto& t : threads) t.join();
  int busy = 0;
  for (AuthResult result : results) {
    EXPECT_NE(result, AuthResult::kGranted);
    if (result == AuthResult::kBusy) ++busy;
  }
  EXPECT_GE(busy, 1) << "two bcrypts ran at once";
  EXPECT_LE(busy, 3) << "no bcrypt ran at all";

  // A cached login needs no bcrypt, so it is never busy.
  wc.set_bcrypt_wait(std::chrono::seconds(30));
  ASSERT_EQ(wc.authenticate("alice", "pw"), AuthResult::kGranted);
  wc.set_bcrypt_wait(std::chrono::milliseconds(0));
  std::thread hog([&] { wc.authenticate("alice", "wrong"); });
  EXPECT_EQ(wc.authenticate("alice", "pw"), AuthResult::kGranted);
  hog.join();
}

TEST_F(WebConfigTest, RemembersItsFileAndContentHash) {
  const std::string path = write("basic_auth_users:\n");
  auto r = WebConfig::load(path);
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r));
  EXPECT_EQ(std::get<WebConfig>(r).path(), path);
  EXPECT_FALSE(std::get<WebConfig>(r).content_hash().empty());
}

TEST_F(WebConfigTest, RateLimitAsExporterToolkitReadsIt) {
  auto r = WebConfig::load(write("rate_limit:\n  interval: 500ms\n  burst: 3\n"));
  ASSERT_TRUE(std::holds_alternative<WebConfig>(r));
  EXPECT_NE(std::get<WebConfig>(r).rate_limiter(), nullptr);
  // yaml.v2 reads a bare integer as nanoseconds; 0 turns the limit off.
  auto ns = WebConfig::load(write("rate_limit:\n  interval: 1000000000\n  burst: 1\n"));
  ASSERT_TRUE(std::holds_alternative<WebConfig>(ns));
  EXPECT_NE(std::get<WebConfig>(ns).rate_limiter(), nullptr);
  auto off = WebConfig::load(write("rate_limit:\n  interval: 0s\n  burst: 0\n"));
  ASSERT_TRUE(std::holds_alternative<WebConfig>(off));
  EXPECT_EQ(std::get<WebConfig>(off).rate_limiter(), nullptr);

  EXPECT_THAT(single_error("rate_limit:\n  interval: soon\n  burst: 1\n"),
              HasSubstr(":2:13: rate_limit.interval: must be a duration"));
  EXPECT_THAT(single_error("rate_limit:\n  interval: 1s\n  burst: -2\n"),
              HasSubstr(":3:10: rate_limit.burst: must be a whole number"));
  EXPECT_THAT(single_error("rate_limit:\n  interval: 1s\n"),
              HasSubstr(":2:3: rate_limit.burst: must be at least 1 with an interval"));
  EXPECT_THAT(single_error("rate_limit:\n  interval: 1s\n  burst: 1\n  brust: 2\n"),
              HasSubstr(":4:3: rate_limit.brust: unknown key"));
}

TEST(RateLimiter, ABucketOfBurstThatRefillsOneAnInterval) {
  RateLimiter limiter(std::chrono::milliseconds(100), 2);
  const auto t0 = RateLimiter::Clock::now();
  EXPECT_TRUE(limiter.allow(t0));
  EXPECT_TRUE(limiter.allow(t0));
  EXPECT_FALSE(limiter.allow(t0)) << "it starts full, with 2";
  EXPECT_FALSE(limiter.allow(t0 + std::chrono::milliseconds(50)));
  EXPECT_TRUE(limiter.allow(t0 + std::chrono::milliseconds(110)));
  EXPECT_FALSE(limiter.allow(t0 + std::chrono::milliseconds(120)));
  // A long pause fills it to burst, no more.
  const auto later = t0 + std::chrono::seconds(10);
  EXPECT_TRUE(limiter.allow(later));
  EXPECT_TRUE(limiter.allow(later));
  EXPECT_FALSE(limiter.allow(later));
}

}  // namespace
}  // namespace mg
