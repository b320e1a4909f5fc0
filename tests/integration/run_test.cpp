// `memoryguard run -- CMD` and `memoryguard --pid` (SPEC §2a, issue 12): the
// real binary guarding real children. Every rule either one builds reaches
// only the tree below it (the child it starts, or the pid it is given), so
// nothing but what each test starts can be touched; each CMD still carries
// the test's token, and TearDown ends whatever of it is left.
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "integration/harness.h"

namespace mgt {
namespace {

class RunTest : public IntegrationTest {
 protected:
  void TearDown() override {
    // An orphaned CMD (its memoryguard killed by a failing test) comes to
    // this test binary, pid 1 of the namespace: end it by its token.
    for (pid_t pid : token_pids()) {
      Proc p(pid);
      p.kill_and_wait();
    }
    IntegrationTest::TearDown();
  }

  std::vector<pid_t> token_pids() const {
    std::vector<pid_t> pids;
    DIR* dir = opendir("/proc");
    if (!dir) return pids;
    while (const dirent* e = readdir(dir)) {
      const pid_t pid = std::atoi(e->d_name);
      if (pid <= 1 || pid == getpid()) continue;
      std::string cmdline = read_file("/proc/" + std::to_string(pid) + "/cmdline");
      if (cmdline.find(token()) != std::string::npos) pids.push_back(pid);
    }
    closedir(dir);
    return pids;
  }

  std::string marker() const { return "--marker=" + token(); }

  // memoryguard ARGS..., run to completion.
  RunResult mg(std::vector<std::string> args, Clock::duration timeout = 60s) {
    args.insert(args.begin(), binary_path());
    return run(args, dir(), timeout);
  }

  // memoryguard ARGS... started in the background; its stderr and stdout go
  // to files under dir().
  struct Background {
    Proc proc;
    std::string err_path, out_path;
    std::string err() const { return read_file(err_path); }
    std::string out() const { return read_file(out_path); }
  };
  Background launch(std::vector<std::string> args) {
    static int n = 0;
    Background b;
    b.err_path = path("mg-" + std::to_string(++n) + ".stderr");
    b.out_path = path("mg-" + std::to_string(n) + ".stdout");
    SpawnOptions options;
    args.insert(args.begin(), binary_path());
    options.argv = std::move(args);
    options.stderr_path = b.err_path;
    options.stdout_path = b.out_path;
    b.proc = spawn(options).proc;
    return b;
  }

  static bool has(const std::string& text, const std::string& what) {
    return text.find(what) != std::string::npos;
  }

  // What mgt_prefork wrote to --events: who is who ("parent", "worker 0",
  // ...), and a "died PID HOW" line for each worker reaped.
  struct PreforkEvents {
    std::map<std::string, pid_t> pids;
    std::vector<std::string> died;
  };
  static PreforkEvents prefork_events(const std::string& file) {
    PreforkEvents e;
    std::istringstream in(read_file(file));
    for (std::string line; std::getline(in, line);) {
      std::istringstream words(line);
      std::string kind;
      words >> kind;
      if (kind == "parent") {
        words >> e.pids["parent"];
      } else if (kind == "worker") {
        std::string i;
        words >> i;
        words >> e.pids["worker " + i];
      } else if (kind == "died") {
        e.died.push_back(line);
      }
    }
    return e;
  }

  // Waits for the first worker to die, then checks that it was worker 2,
  // killed, and that the parent and the other workers live on.
  void expect_only_worker_2_dies(const std::string& events, const std::string& log_path) {
    PreforkEvents e;
    ASSERT_TRUE(wait_until(
        [&] {
          e = prefork_events(events);
          return !e.died.empty();
        },
        60s))
        << "no worker died\n"
        << read_file(events) << read_file(log_path);
    ASSERT_EQ(e.pids.size(), 5u) << read_file(events);
    EXPECT_EQ(e.died.front(), "died " + std::to_string(e.pids["worker 2"]) + " SIGKILL")
        << "the first to die must be the leaking worker, killed\n"
        << read_file(events) << read_file(log_path);
    // Back under the limit: nothing else is taken.
    sleep_for(1s);
    e = prefork_events(events);
    EXPECT_EQ(e.died.size(), 1u) << read_file(events) << read_file(log_path);
    for (const auto& who : {"parent", "worker 0", "worker 1", "worker 3"}) {
      EXPECT_EQ(kill(e.pids[who], 0), 0) << who << " is gone\n" << read_file(events);
    }
    EXPECT_TRUE(has(read_file(log_path),
                    "msg=action rule=mgt_prefork pid=" + std::to_string(e.pids["worker 2"])))
        << read_file(log_path);
  }
};

// ---- run: the child's fate is run's exit code ---------------------------------

TEST_F(RunTest, AChildPastItsLimitIsKilledAndRunExits137) {
  const RunResult r = mg({"run", "--limit=40Mi", "--interval=100ms", "--stats-frequency=200ms",
                          "--log.level=debug", "--", helper_path("mgt_hog"), marker(), "--mib=10",
                          "--grow-mib=5", "--every-ms=100", "--max-mib=300"});
  ASSERT_TRUE(r.exit) << "run did not end\n" << r.err;
  EXPECT_EQ(r.exit_code(), 128 + SIGKILL) << r.err;
  EXPECT_TRUE(has(r.err, "msg=action rule=mgt_hog")) << "no action line:\n" << r.err;
  EXPECT_TRUE(has(r.err, "signal=SIGKILL")) << r.err;
  EXPECT_TRUE(has(r.err, "msg=\"rule stats\" rule=mgt_hog")) << "no stats line:\n" << r.err;
  EXPECT_TRUE(has(r.err, "msg=\"command ended by memoryguard\"")) << r.err;
  EXPECT_FALSE(has(r.err, token())) << "CMD's arguments were logged:\n" << r.err;
}

TEST_F(RunTest, WhenSigtermSufficesRunExits143) {
  const RunResult r = mg({"run", "--limit=30Mi", "--interval=100ms", "--signal=SIGTERM",
                          "--kill-after=30s", "--", helper_path("mgt_hog"), marker(), "--mib=50"});
  ASSERT_TRUE(r.exit) << r.err;
  EXPECT_EQ(r.exit_code(), 128 + SIGTERM) << r.err;
  EXPECT_TRUE(has(r.err, "signal=SIGTERM")) << r.err;
  EXPECT_FALSE(has(r.err, "escalated to SIGKILL")) << r.err;
}

TEST_F(RunTest, KillExitCodeTellsAKillFromACrash) {
  const RunResult killed = mg({"run", "--limit=30Mi", "--interval=100ms", "--kill-exit-code=99",
                               "--", helper_path("mgt_hog"), marker(), "--mib=50"});
  ASSERT_TRUE(killed.exit) << killed.err;
  EXPECT_EQ(killed.exit_code(), 99) << killed.err;
  EXPECT_TRUE(has(killed.err, "command ended by memoryguard")) << killed.err;

  // A crash under the limit keeps the crash's own code, 128+SIGSEGV.
  const RunResult crashed = mg({"run", "--limit=1Gi", "--kill-exit-code=99", "--", "/bin/sh", "-c",
                                "kill -SEGV $$", marker()});
  ASSERT_TRUE(crashed.exit) << crashed.err;
  EXPECT_EQ(crashed.exit_code(), 128 + SIGSEGV) << crashed.err;
  EXPECT_FALSE(has(crashed.err, "ended by memoryguard")) << crashed.err;
  EXPECT_TRUE(has(crashed.err, "status=\"killed by SIGSEGV")) << crashed.err;
}

TEST_F(RunTest, AChildUnderItsLimitExitsWithItsOwnStatus) {
  const RunResult r = mg({"run", "--limit=1Gi", "--interval=100ms", "--", helper_path("mgt_trap"),
                          marker(), "--mib=5", "--exit-after-ms=500", "--exit-code=3"});
  ASSERT_TRUE(r.exit) << r.err;
  EXPECT_EQ(r.exit_code(), 3) << r.err;
  EXPECT_EQ(r.out, "ready\n") << "CMD's stdout is run's";
  EXPECT_FALSE(has(r.err, "msg=action")) << r.err;
}

TEST_F(RunTest, CmdFlagsAfterTheDashesAreNeverMemoryguards) {
  // --config.file and --help after -- are sh's $0 and $1, not ours.
  const RunResult r = mg({"run", "--limit=1Gi", "--", "/bin/sh", "-c", "exit 5",
                          "--config.file=/nonexistent", "--help", marker()});
  ASSERT_TRUE(r.exit) << r.err;
  EXPECT_EQ(r.exit_code(), 5) << r.out << r.err;
}

// memoryguard blocks the signals it waits for, ignores SIGPIPE and raises its
// limit on descriptors; CMD gets none of that.
TEST_F(RunTest, CmdStartsWithTheSignalsAndLimitsMemoryguardWasGiven) {
  const RunResult r =
      mg({"run", "--limit=1Gi", "--", "/bin/cat", "/proc/self/status", "/proc/self/limits"});
  ASSERT_EQ(r.exit_code(), 0) << r.err;
  auto line = [](const std::string& text, const std::string& key) {
    const std::size_t at = text.find(key);
    return at == std::string::npos ? std::string("(none)")
                                   : text.substr(at, text.find('\n', at) - at);
  };
  const std::string mine = read_file("/proc/self/status");
  EXPECT_EQ(line(r.out, "SigBlk:"), "SigBlk:\t0000000000000000");  // spawn() gives an empty mask
  EXPECT_EQ(line(r.out, "SigIgn:"), line(mine, "SigIgn:"));
  rlimit nofile{};
  getrlimit(RLIMIT_NOFILE, &nofile);
  std::istringstream limits(line(r.out, "Max open files"));
  std::string max, open, files;
  unsigned long long soft = 0;
  limits >> max >> open >> files >> soft;
  EXPECT_EQ(soft, nofile.rlim_cur) << line(r.out, "Max open files");
}

TEST_F(RunTest, SignalsToRunReachTheChildWhichExitsOnSigterm) {
  const std::string signals = path("signals.log");
  Background run = launch({"run", "--limit=1Gi", "--interval=100ms", "--", helper_path("mgt_trap"),
                           marker(), "--signal-log=" + signals, "--term-exit-code=0"});
  ASSERT_TRUE(wait_until([&] { return has(read_file(signals), "ready"); }, 20s))
      << "the child never started\n"
      << run.err();
  // Sent one at a time, each awaited: the kernel merges a pending signal
  // with a second of the same number.
  for (const char* name : {"SIGUSR1", "SIGUSR2", "SIGHUP", "SIGWINCH", "SIGQUIT", "SIGINT"}) {
    int number = 0;
    for (int s = 1; s < NSIG; ++s) {
      if (sigabbrev_np(s) && std::string("SIG") + sigabbrev_np(s) == name) number = s;
    }
    ASSERT_TRUE(run.proc.signal(number));
    EXPECT_TRUE(wait_until([&] { return has(read_file(signals), name); }, 10s))
        << name << " did not reach the child:\n"
        << read_file(signals) << run.err();
  }
  ASSERT_TRUE(run.proc.signal(SIGTERM));
  const auto exit = run.proc.wait_reaped(20s);
  ASSERT_TRUE(exit) << "run did not end after its child trapped SIGTERM\n" << run.err();
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit) << "\n" << run.err();
  EXPECT_TRUE(has(read_file(signals), "SIGTERM")) << read_file(signals);
}

// ---- run --tree: one leaking worker of a pre-forking server --------------------

TEST_F(RunTest, TreeKillsOnlyTheLeakingWorker) {
  const std::string events = path("events.log");
  Background run = launch({"run", "--tree", "--limit=100Mi", "--interval=100ms", "--",
                           helper_path("mgt_prefork"), marker(), "--workers=4", "--worker-mib=10",
                           "--leak-worker=2", "--grow-mib=5", "--every-ms=100", "--max-mib=600",
                           "--events=" + events});
  expect_only_worker_2_dies(events, run.err_path);

  ASSERT_TRUE(run.proc.signal(SIGTERM));  // forwarded: the parent stops its workers
  const auto exit = run.proc.wait_reaped(20s);
  ASSERT_TRUE(exit) << run.err();
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit) << "\n" << run.err();
}

// Without --tree each process of the tree stands alone against the limit: a
// pool whose sum is twice the limit, with no worker over it, loses nothing.
TEST_F(RunTest, WithoutTreeEachProcessIsJudgedAlone) {
  const std::string events = path("events.log");
  Background run = launch({"run", "--limit=60Mi", "--interval=100ms", "--stats-frequency=200ms",
                           "--log.level=debug", "--", helper_path("mgt_prefork"), marker(),
                           "--workers=4", "--worker-mib=30", "--events=" + events});
  ASSERT_TRUE(wait_until([&] { return has(run.out(), "ready"); }, 30s)) << run.err();
  // Stats lines that count the whole pool, each from a later check: the
  // agent has judged all five processes at their full size several times.
  auto pool_lines = [&] {
    std::istringstream in(run.err());
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      n += has(line, "msg=\"rule stats\"") && has(line, "processes=5");
    }
    return n;
  };
  const int before = pool_lines();
  ASSERT_TRUE(wait_until([&] { return pool_lines() >= before + 3; }, 30s)) << run.err();
  EXPECT_TRUE(prefork_events(events).died.empty()) << read_file(events);
  EXPECT_FALSE(has(run.err(), "msg=action")) << run.err();
  EXPECT_TRUE(run.proc.alive());

  ASSERT_TRUE(run.proc.signal(SIGTERM));
  const auto exit = run.proc.wait_reaped(20s);
  ASSERT_TRUE(exit) << run.err();
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit) << "\n" << run.err();
}

// /metrics is off unless --web.listen-address is given: no socket at all.
TEST_F(RunTest, MetricsAreServedOnlyWithAListenAddress) {
  auto sockets_of = [](pid_t pid) {
    int n = 0;
    const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
    std::error_code ec;
    for (const auto& fd : std::filesystem::directory_iterator(dir, ec)) {
      std::error_code link_ec;
      n += std::filesystem::read_symlink(fd.path(), link_ec).string().rfind("socket:", 0) == 0;
    }
    return n;
  };
  {
    Background quiet = launch({"run", "--limit=1Gi", "--interval=100ms", "--",
                               helper_path("mgt_sleeper"), marker(), "--mib=5"});
    ASSERT_TRUE(wait_until([&] { return has(quiet.out(), "ready"); }, 30s)) << quiet.err();
    EXPECT_EQ(sockets_of(quiet.proc.pid()), 0) << quiet.err();
    EXPECT_FALSE(has(quiet.err(), "msg=listening")) << quiet.err();
    ASSERT_TRUE(quiet.proc.signal(SIGTERM));
    ASSERT_TRUE(quiet.proc.wait_reaped(20s));
  }
  Background served =
      launch({"run", "--limit=1Gi", "--interval=100ms", "--web.listen-address=127.0.0.1:0", "--",
              helper_path("mgt_sleeper"), marker(), "--mib=5"});
  std::string p;
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string err = served.err();
        std::smatch port;
        if (!std::regex_search(err, port, std::regex(R"(msg=listening .*port=(\d+))")))
          return false;
        p = port[1];
        return true;
      },
      30s))
      << served.err();
  EXPECT_TRUE(wait_until(
      [&] {
        const HttpResponse r = http_request(std::stoi(p), "GET", "/metrics");
        return r.status == 200 && has(r.body, "memoryguard_rule_processes{rule=\"mgt_sleeper\"} 1");
      },
      20s))
      << served.err();
  ASSERT_TRUE(served.proc.signal(SIGTERM));
  ASSERT_TRUE(served.proc.wait_reaped(20s));
}

// ---- reaping: as a subreaper, and as pid 1 of a namespace ----------------------

TEST_F(RunTest, AsASubreaperItReapsEveryOrphan) {
  const RunResult r =
      mg({"run", "--limit=1Gi", "--", helper_path("mgt_orphans"), marker(), "--count=100"});
  ASSERT_TRUE(r.exit) << r.err;
  EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
  EXPECT_EQ(r.out, "orphans 100 adopted 100 zombies 0\n") << r.err;
}

TEST_F(RunTest, AsPid1OfANamespaceItReapsEveryOrphan) {
  if (getuid() != 0) GTEST_SKIP() << "unshare --pid needs root";
  const RunResult r = run(
      {"/usr/bin/unshare", "--pid", "--fork", "--mount-proc", binary_path(), "run", "--limit=1Gi",
       "--log.level=debug", "--", helper_path("mgt_orphans"), marker(), "--count=100"},
      dir(), 60s);
  ASSERT_TRUE(r.exit) << r.err;
  EXPECT_EQ(r.exit_code(), 0) << r.out << r.err;
  EXPECT_EQ(r.out, "orphans 100 adopted 100 zombies 0\n") << r.err;
  EXPECT_TRUE(has(r.err, "pid1=true")) << r.err;
}

// ---- reload: the library's Limit() at any time -------------------------------

TEST_F(RunTest, ALimitLoweredInTheConfigFileKillsTheChild) {
  auto config = [&](const std::string& limit) {
    return "interval: 100ms\n"
           "rules:\n"
           "  - name: reloaded\n"
           "    match: { cmdline: '" +
           token() +
           "' }\n"
           "    limit: " +
           limit + "\n";
  };
  const std::string file = write_config(config("1Gi"));
  Background run =
      launch({"run", "--config.file=" + file, "--", helper_path("mgt_trap"), marker(), "--mib=40"});
  ASSERT_TRUE(wait_until([&] { return run.out() == "ready\n"; }, 20s)) << run.err();
  // SIGHUP is forwarded (mgt_trap traps it) and reloads the unchanged file.
  ASSERT_TRUE(run.proc.signal(SIGHUP));
  EXPECT_TRUE(wait_until([&] { return has(run.err(), "trigger=SIGHUP"); }, 10s)) << run.err();
  sleep_for(500ms);
  EXPECT_TRUE(run.proc.alive()) << "killed under a limit of 1Gi\n" << run.err();

  write_file(file, config("20Mi"));
  const auto exit = run.proc.wait_reaped(30s);
  ASSERT_TRUE(exit) << "the lowered limit did not kill the child\n" << run.err();
  EXPECT_EQ(exit->exit_code(), 128 + SIGKILL) << describe(*exit) << "\n" << run.err();
  EXPECT_TRUE(has(run.err(), "msg=\"config reloaded\" trigger=\"file changed\"")) << run.err();
  EXPECT_TRUE(has(run.err(), "msg=action rule=reloaded")) << run.err();
}

// run reaps its orphans, but a hook is the actuator's child: its status must
// reach the actuator, not the reaper (which would leave it "exited with
// status 0"). Which of the two threads wakes first is the scheduler's
// choice, so four hooks give a thief four chances.
TEST_F(RunTest, AHookKeepsItsOwnExitStatusUnderRun) {
  const std::string file = write_config(
      "interval: 100ms\n"
      "rules:\n"
      "  - name: hooked\n"
      "    match: { name: '^mgt_prefork$', cmdline: '" +
      token() +
      "' }\n"
      "    limit: 30Mi\n"
      "    action: { exec: ['/bin/sh', '-c', 'sleep 0.2; exit 4'] }\n");
  Background run =
      launch({"run", "--config.file=" + file, "--", helper_path("mgt_prefork"), marker(),
              "--workers=5", "--worker-mib=5", "--leak-worker=1", "--leakers=4"});
  auto hooks = [&] {
    std::vector<std::string> lines;
    std::istringstream in(run.err());
    for (std::string line; std::getline(in, line);) {
      if (has(line, "msg=hook")) lines.push_back(line);
    }
    return lines;
  };
  ASSERT_TRUE(wait_until([&] { return hooks().size() == 4; }, 60s)) << run.err();
  for (const auto& line : hooks())
    EXPECT_TRUE(has(line, "outcome=\"exited with status 4\"")) << line;
  ASSERT_TRUE(run.proc.signal(SIGTERM));
  const auto exit = run.proc.wait_reaped(20s);
  ASSERT_TRUE(exit) << run.err();
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit) << "\n" << run.err();
}

// ---- --pid ----------------------------------------------------------------------

TEST_F(RunTest, PidGuardsAProcessUntilItExitsThenExitsZero) {
  Helper& h = spawn_helper("mgt_sleeper", {"--mib=5"});
  Background guard =
      launch({"--pid=" + std::to_string(h.pid()), "--limit=1Gi", "--interval=100ms"});
  ASSERT_TRUE(wait_until([&] { return has(guard.err(), "msg=guarding"); }, 20s)) << guard.err();
  sleep_for(300ms);
  EXPECT_TRUE(guard.proc.alive()) << guard.err();
  ASSERT_TRUE(h.proc.signal(SIGTERM));
  const auto exit = guard.proc.wait_reaped(20s);
  ASSERT_TRUE(exit) << "memoryguard --pid outlived its process\n" << guard.err();
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit) << "\n" << guard.err();
  EXPECT_TRUE(has(guard.err(), "msg=\"process exited\"")) << guard.err();
}

// --pid with --tree guards the tree below the process: the leaking worker
// of a server that was already running dies, the server and the rest live,
// and the guard goes on until the server itself exits.
TEST_F(RunTest, PidWithTreeGuardsTheTreeBelowARunningServer) {
  const std::string events = path("events.log");
  Helper& server = spawn_helper(
      "mgt_prefork", {"--workers=4", "--worker-mib=10", "--leak-worker=2", "--grow-mib=5",
                      "--every-ms=100", "--max-mib=600", "--events=" + events});
  Background guard = launch(
      {"--pid=" + std::to_string(server.pid()), "--tree", "--limit=100Mi", "--interval=100ms"});
  expect_only_worker_2_dies(events, guard.err_path);
  EXPECT_TRUE(guard.proc.alive()) << guard.err();

  ASSERT_TRUE(server.proc.signal(SIGTERM));
  const auto exit = guard.proc.wait_reaped(20s);
  ASSERT_TRUE(exit) << "memoryguard --pid outlived its process\n" << guard.err();
  EXPECT_EQ(exit->exit_code(), 0) << describe(*exit) << "\n" << guard.err();
}

TEST_F(RunTest, PidFileKillsItsProcessPastTheLimit) {
  Helper& h = hog(10, {"--grow-mib=5", "--every-ms=100", "--max-mib=300"});
  const std::string pid_file = path("app.pid");
  write_file(pid_file, std::to_string(h.pid()) + "\n");
  const RunResult r =
      mg({"--pid-file=" + pid_file, "--limit=40Mi", "--interval=100ms", "--kill-exit-code=7"});
  ASSERT_TRUE(r.exit) << r.err;
  EXPECT_EQ(r.exit_code(), 7) << r.err;
  const auto info = h.proc.wait_reaped(10s);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->term_signal(), SIGKILL) << describe(*info);
  EXPECT_TRUE(has(r.err, "process ended by memoryguard")) << r.err;
}

TEST_F(RunTest, PidThatDoesNotExistIsRefused) {
  Helper& h = spawn_helper("mgt_sleeper");
  const pid_t gone = h.pid();
  h.proc.kill_and_wait();
  ASSERT_TRUE(h.proc.wait_reaped(10s));
  const RunResult r = mg({"--pid=" + std::to_string(gone), "--limit=1Gi"});
  EXPECT_EQ(r.exit_code(), 2) << r.err;
  EXPECT_TRUE(has(r.err, "--pid=" + std::to_string(gone) + ": no process with pid")) << r.err;

  const RunResult file = mg({"--pid-file=" + path("none.pid"), "--limit=1Gi"});
  EXPECT_EQ(file.exit_code(), 2) << file.err;
  EXPECT_TRUE(has(file.err, "holds no pid")) << file.err;

  const RunResult one = mg({"--pid=1", "--limit=1Gi"});
  EXPECT_EQ(one.exit_code(), 2) << one.err;
  EXPECT_TRUE(has(one.err, "never signalled")) << one.err;
}

// ---- bad input ------------------------------------------------------------------

TEST_F(RunTest, BadInputGetsAClearMessage) {
  struct Case {
    std::vector<std::string> args;
    int code;
    std::string says;
  };
  const std::string not_executable = path("not-executable");
  write_file(not_executable, "#!/bin/sh\nexit 0\n");
  chmod(not_executable.c_str(), 0644);
  const std::vector<Case> cases{
      {{"run", "--limit=1Gi", "/bin/true"}, 2, "run: the command goes after --"},
      {{"run", "--limit=1Gi"}, 2, "run: the command goes after --"},
      {{"run", "--limit=1Gi", "--"}, 2, "run: no command after --"},
      {{"run", "--", "/bin/true"}, 2, "run needs --limit (or --config.file)"},
      {{"run", "--limit=12K", "--", "/bin/true"}, 2, "--limit=12K: want bytes"},
      {{"run", "--limit=0", "--", "/bin/true"}, 2, "--limit=0: want bytes greater than 0"},
      {{"run", "--limit=1Gi", "--interval=soon", "--", "/bin/true"}, 2, "--interval=soon"},
      {{"run", "--limit=1Gi", "--signal=SIGNOPE", "--", "/bin/true"}, 2, "--signal=SIGNOPE"},
      {{"--limit=1Gi"}, 2, "--limit: only with run or --pid"},
      {{"--limit=1Gi", "--", "/bin/true"}, 2, "--: only run takes a command"},
      {{"run", "--limit=1Gi", "--config.file=x.yaml", "--", "/bin/true"},
       2,
       "--limit: the rules come from --config.file"},
      {{"run", "--limit=1Gi", "--", "mgt-no-such-command-" + token()}, 127, "command not found"},
      {{"run", "--limit=1Gi", "--", path("no-such-file")}, 127, "no such file"},
      {{"run", "--limit=1Gi", "--", not_executable}, 126, "permission denied"},
      {{"run", "--limit=1Gi", "--", dir()}, 126, "permission denied"},
  };
  for (const Case& c : cases) {
    std::string shown;
    for (const auto& a : c.args) shown += " " + a;
    SCOPED_TRACE("memoryguard" + shown);
    const RunResult r = mg(c.args, 20s);
    EXPECT_EQ(r.exit_code(), c.code) << r.out << r.err;
    EXPECT_TRUE(has(r.err, c.says)) << "expected \"" << c.says << "\" in:\n" << r.err;
  }
}

}  // namespace
}  // namespace mgt
