#pragma once
// The integration harness: it runs the real memoryguard binary against real
// misbehaving processes (tests/helpers/mgt_*), scrapes its /metrics over a
// plain socket, and watches how the helpers die.
//
// The test binary runs as pid 1 of a private PID namespace (see
// tests/CMakeLists.txt), so every process it starts, and every orphan of
// those, is its child: one reaper thread (started in main) waits for all of
// them and records how and when each died. Nothing else may call wait*().
// Every helper is still given a per-test random token in its argv, and every
// rule matches on it, so a rule can only reach the processes of its own test.
#include <gtest/gtest.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "integration/memory_cgroup.h"
#include "pki/test_pki.h"
#include "pki/tls_client.h"

namespace mgt {

using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
using namespace std::chrono_literals;

constexpr std::uint64_t kMiB = 1024 * 1024;
constexpr const char* kPromtool = "/usr/bin/promtool";

// ---- children and their deaths -------------------------------------------

// Starts the thread that reaps every child and orphan. Call once, first.
void start_reaper();

struct ExitInfo {
  int status = 0;  // as from waitpid
  Clock::time_point when;
  bool signaled() const;
  int term_signal() const;  // 0 unless signaled
  bool exited() const;
  int exit_code() const;  // -1 unless exited
};
std::string describe(const ExitInfo& info);

// A process this test created (a child, or a child of one of our helpers),
// held by a pidfd so that it is never confused with a later owner of its pid.
class Proc {
 public:
  Proc() = default;
  explicit Proc(pid_t pid);  // opens the pidfd; the process must still exist
  // Takes an open pidfd of a child forked by spawn().
  static Proc adopt(pid_t pid, int pidfd);
  Proc(Proc&& other) noexcept;
  Proc& operator=(Proc&& other) noexcept;
  Proc(const Proc&) = delete;
  Proc& operator=(const Proc&) = delete;
  ~Proc();

  pid_t pid() const { return pid_; }
  bool valid() const { return pidfd_ >= 0; }
  // False once it has exited (a zombie counts as dead).
  bool alive() const;
  // Sends through the pidfd; false if it has gone.
  bool signal(int sig) const;
  // How it died, once reaped by us (orphans are reaped only after their
  // parent died). nullopt while alive or still an unreaped zombie.
  std::optional<ExitInfo> exit_info() const;
  // Waits until reaped by us.
  std::optional<ExitInfo> wait_reaped(Clock::duration timeout) const;
  // Waits until dead (zombie or reaped).
  bool wait_dead(Clock::duration timeout) const;
  // SIGKILL and wait until dead, for TearDown.
  void kill_and_wait();

 private:
  pid_t pid_ = -1;
  int pidfd_ = -1;
  Clock::time_point since_{};  // an exit recorded earlier was another owner's
};

struct SpawnOptions {
  std::vector<std::string> argv;  // argv[0] is the path
  std::string stdout_path;        // empty: inherit, unless capture_stdout
  std::string stderr_path;        // empty: inherit
  std::string stdin_path;         // empty: /dev/null
  bool capture_stdout = false;    // a pipe, returned in Spawned::stdout_fd
  std::optional<uid_t> uid;       // drop to this uid (and gid) before exec
};

struct Spawned {
  Proc proc;
  int stdout_fd = -1;  // the read end when capture_stdout; caller closes it
};
Spawned spawn(const SpawnOptions& options);

struct RunResult {
  std::optional<ExitInfo> exit;  // nullopt: timed out (and was killed)
  std::string out;
  std::string err;
  int exit_code() const { return exit && exit->exited() ? exit->exit_code() : -1; }
};
// Runs a command to completion, with stdout and stderr captured in files under
// `scratch_dir`, and optionally stdin from a file.
RunResult run(const std::vector<std::string>& argv, const std::string& scratch_dir,
              Clock::duration timeout = 20s, const std::string& stdin_path = "");
// run() as a mgt_pki::Runner, for certificates made with openssl.
mgt_pki::Runner pki_runner(const std::string& scratch_dir);

// A helper from tests/helpers, started with its argv and waited for until it
// prints "ready". `children` are the processes it reported ("child <pid>").
struct Helper {
  Proc proc;
  std::vector<Proc> children;
  pid_t pid() const { return proc.pid(); }
};

std::string helper_path(const std::string& name);
std::string binary_path();
std::string source_dir();

// ---- time ------------------------------------------------------------------

// Polls every 50ms until `predicate` holds or `timeout` passes; returns the
// last result.
bool wait_until(const std::function<bool()>& predicate, Clock::duration timeout);
void sleep_for(Clock::duration d);

// ---- HTTP and metrics ------------------------------------------------------

struct HttpResponse {
  int status = 0;  // 0: no connection or no answer
  std::string body;
};
// `authorization`: the value of an Authorization header, if any.
HttpResponse http_request(int port, const std::string& method, const std::string& path,
                          const std::string& authorization = "");
// "Basic <base64(user:password)>"
std::string basic_auth(const std::string& user, const std::string& password);

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

class Scrape {
 public:
  Scrape() = default;
  explicit Scrape(std::string text);
  const std::string& text() const { return text_; }
  bool ok() const { return ok_; }
  // Every sample of `name` whose labels include all of `labels`.
  std::vector<Sample> find(const std::string& name,
                           const std::map<std::string, std::string>& labels = {}) const;
  // The value of the only such sample; nullopt when there is none (and a test
  // failure when there are several).
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const;
  // The sum over such samples (0 when there is none).
  double sum(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
  // The family is declared (# TYPE) or has a sample (histogram parts count).
  bool has_family(const std::string& name) const;
  // The type of a family from its # TYPE line; empty when undeclared.
  std::string type(const std::string& name) const;

 private:
  std::string text_;
  bool ok_ = false;
  std::vector<Sample> samples_;
  std::map<std::string, std::string> declared_;  // family -> type
};

// ---- the agent ---------------------------------------------------------------

int free_port();

class Agent {
 public:
  // Starts memoryguard with --config.file, --web.listen-address on a free
  // port of 127.0.0.1, --log.level=debug and `extra_flags`; its stderr goes to
  // <dir>/agent-N.stderr. Does not wait.
  Agent(const std::string& dir, const std::string& config_path,
        std::vector<std::string> extra_flags = {}, std::optional<uid_t> uid = std::nullopt);
  ~Agent();  // kills it if still running

  // Sent with every request of this object from now on.
  void set_authorization(std::string value) { authorization_ = std::move(value); }
  // Every request of this object from now on goes over TLS with these
  // options (the port is the agent's).
  void set_tls(mgt_pki::TlsClientOptions options);

  // Waits for /healthz to answer 200; false (with the log in the failure
  // message) if it exits or does not answer in time.
  bool wait_healthy(Clock::duration timeout = 10s);
  pid_t pid() const { return proc_.pid(); }
  int port() const { return port_; }
  bool alive() const { return proc_.alive(); }
  Clock::time_point started_at() const { return started_; }
  const Proc& proc() const { return proc_; }

  Scrape scrape() const;
  HttpResponse get(const std::string& path) const;
  HttpResponse post(const std::string& path) const;
  // Waits for a scrape where `predicate` holds; returns the last scrape.
  Scrape wait_for_metrics(const std::function<bool(const Scrape&)>& predicate,
                          Clock::duration timeout);

  // SIGTERM, then waits for the exit; returns how it went (nullopt: it had
  // to be SIGKILLed after `timeout`).
  std::optional<ExitInfo> stop(Clock::duration timeout = 10s);
  std::string log() const;  // its stderr so far
  const std::string& log_path() const { return stderr_path_; }

 private:
  Proc proc_;
  int port_ = 0;
  std::string stderr_path_;
  Clock::time_point started_;
  bool stopped_ = false;
  std::string authorization_;
  std::unique_ptr<mgt_pki::TlsClient> tls_;
  HttpResponse request(const std::string& method, const std::string& path) const;
};

// ---- files and cgroups -------------------------------------------------------

// `text` as an ECMAScript regex that matches exactly it.
std::string regex_escape(const std::string& text);

void write_file(const std::string& path, const std::string& text);
std::string read_file(const std::string& path);
// Replaces the file's content in place (same inode), as an editor would not,
// but as `echo > file` does.
void overwrite_file(const std::string& path, const std::string& text);

// A fresh cgroup for one test: on cgroup v2 (pure, or the unified hierarchy of
// a hybrid host) when there is one, else in the v1 memory hierarchy.
class TestCgroup {
 public:
  explicit TestCgroup(const std::string& name);
  ~TestCgroup();  // rmdir, retrying while the last members finish dying
  bool ok() const { return !dir_.empty(); }
  bool v2() const { return v2_; }
  const std::string& dir() const { return dir_; }
  const std::string& error() const { return error_; }
  bool add(pid_t pid);

 private:
  std::string dir_;
  std::string error_;
  bool v2_ = false;
};

// A container ID (64 hex digits, `fill` where the token runs out) and a pod
// UID (8-4-4-4-12, ending in `last`) of a test's own, from its token: IDs no
// real container or pod on the machine has.
std::string container_hex(const std::string& token, char fill);
std::string pod_uid_of(const std::string& token, char last);

// ---- the fixture ---------------------------------------------------------------

class IntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

  // A per-test token: letters and digits only, so it is its own regex.
  const std::string& token() const { return token_; }
  const std::string& dir() const { return dir_; }
  std::string path(const std::string& file) const { return dir_ + "/" + file; }

  // Starts tests/helpers/<name> with --marker=<token> and `args`, and waits
  // for "ready". The fixture kills it (and its children) in TearDown.
  // With `uid`, the helper runs as that user.
  Helper& spawn_helper(const std::string& name, const std::vector<std::string>& args = {},
                       std::optional<uid_t> uid = std::nullopt);
  Helper& hog(long mib, const std::vector<std::string>& args = {});

  // A YAML flow mapping that matches exactly this test's helpers named
  // `helper` (by comm and by the token in the command line).
  std::string match_yaml(const std::string& helper = "mgt_hog") const;

  // Writes `yaml` to <dir>/<file> and returns the path.
  std::string write_config(const std::string& yaml, const std::string& file = "memoryguard.yaml");
  // Starts an agent without waiting for it; the fixture stops it in TearDown.
  Agent& launch_agent(const std::string& config_path, std::vector<std::string> extra_flags = {},
                      std::optional<uid_t> uid = std::nullopt);
  // Starts an agent and waits until it is healthy (a test failure if not).
  Agent& start_agent(const std::string& config_path, std::vector<std::string> extra_flags = {},
                     std::optional<uid_t> uid = std::nullopt);

  // promtool's verdict on an exposition (a test failure if it rejects it);
  // only a note where promtool is not installed.
  void expect_promtool_accepts(const Scrape& scrape);

  // A memory cgroup (see memory_cgroup.h) that the fixture removes in
  // TearDown, once the processes it started are dead, newest first so that
  // parents shared by several go last. Check ok() before use.
  MemoryCgroup& memory_cgroup(const std::string& name, bool v1_only = false);

 private:
  std::string token_;
  std::string dir_;
  std::vector<std::unique_ptr<Helper>> helpers_;
  std::vector<std::unique_ptr<Agent>> agents_;
  std::vector<std::unique_ptr<MemoryCgroup>> cgroups_;
};

}  // namespace mgt
