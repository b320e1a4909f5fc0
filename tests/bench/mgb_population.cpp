// The benchmark's population: many small processes, a few large ones and a
// pool that shares memory, each carrying --marker in its argv so that a rule
// (or process-exporter's config) can pick them and nothing else.
//
//   mgb_population --marker=TOKEN --small=N [--min-mib=2 --max-mib=20]
//                  [--tiny=N --tiny-min-kib=100 --tiny-max-kib=500] [--drift=N]
//                  [--large=1024,4096:256] [--pool=4 --pool-mib=64] [--slots=50]
//
// Small process i touches between min and max MiB (log-uniform, fixed seed,
// so every run weighs the same) and carries --slot=i%slots, so that a config
// can split the population into several rules. A large spec MIB[:SHARE]
// touches MIB MiB of private memory with 4 KiB pages (MADV_NOHUGEPAGE:
// transparent huge pages would make its page-table walk look cheap); with
// SHARE it also maps SHARE MiB shared with one forked child, so that its PSS
// sits SHARE/2 MiB under its RSS. The pool is one process sharing pool-mib MiB
// with pool-1 forked children.
//
// Tiny members (the bulk of a population of ten thousand) touch between
// tiny-min-kib and tiny-max-kib KiB and are execs of the static mgb_sleeper
// beside this binary, spawned with posix_spawn (vfork: no page tables to
// copy), which is what makes 10,000 processes take seconds. A drift member
// touches 8 MiB, then every second touches or drops 16 KiB at random (a
// bounded walk within 2 MiB more): the "mostly" of a mostly idle population,
// whose PSS moves slowly, as a real idle service's does.
//
// Each other member is an exec of this binary with --role=..., so its command
// line says what it is. The parent prints "member ROLE SIZE PID" per member
// (SIZE in MiB, in KiB for tiny ones), then "ready", and sleeps until killed.
// Every member dies with its parent (PR_SET_PDEATHSIG), and the parent dies
// with whoever started it.
#include <limits.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t kMiB = 1024 * 1024;
// A typo must not eat the machine: no member may touch more than this.
constexpr long kMaxMemberMiB = 8192;
constexpr long kMaxSmall = 5000;
constexpr long kMaxTiny = 20000;
constexpr long kMaxDrift = 1000;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "mgb_population: %s: %s\n", what, std::strerror(errno));
  std::exit(3);
}

void die_with_parent(pid_t expected_parent) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) die("prctl(PR_SET_PDEATHSIG)");
  // The parent may have died before the prctl took effect.
  if (getppid() != expected_parent) std::_Exit(0);
}

char* map_touched(long mib, bool shared) {
  if (mib <= 0) return nullptr;
  if (mib > kMaxMemberMiB) {
    std::fprintf(stderr, "mgb_population: %ld MiB is over the cap of %ld\n", mib, kMaxMemberMiB);
    std::exit(2);
  }
  const std::size_t size = static_cast<std::size_t>(mib) * kMiB;
  void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                    (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
  if (area == MAP_FAILED) die("mmap");
  madvise(area, size, MADV_NOHUGEPAGE);
  std::memset(area, 0x5a, size);
  return static_cast<char*>(area);
}

// Maps the shared area into a forked child by reading every page of it.
pid_t fork_sharer(char* area, long mib, int ready_fd) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid > 0) return pid;
  die_with_parent(parent);
  const long page = sysconf(_SC_PAGESIZE);
  unsigned sum = 0;
  for (std::size_t off = 0; off < static_cast<std::size_t>(mib) * kMiB;
       off += static_cast<std::size_t>(page))
    sum += static_cast<unsigned char>(static_cast<volatile char*>(area)[off]);
  const char ok = static_cast<char>(sum | 1);
  if (write(ready_fd, &ok, 1) != 1) die("write");
  for (;;) pause();
}

void wait_for(int ready_fd, long count) {
  for (long i = 0; i < count; ++i) {
    char ok;
    ssize_t n;
    while ((n = read(ready_fd, &ok, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) die("read(ready)");
  }
}

// A member: touch what its role says, report ready on ready_fd, sleep.
int run_member(std::string_view role, long mib, long share_mib, long children, int ready_fd) {
  if (role == "small") {
    map_touched(mib, false);
  } else if (role == "large") {
    // The sharer is forked first: forked later, it would share the private
    // pages copy-on-write too, and halve their PSS.
    if (share_mib > 0) {
      int done[2];
      if (pipe(done) != 0) die("pipe");
      char* area = map_touched(share_mib, true);
      fork_sharer(area, share_mib, done[1]);
      wait_for(done[0], 1);
    }
    map_touched(mib, false);
  } else if (role == "drift") {
    map_touched(mib, false);
    constexpr long kStepPages = 4, kMaxPages = 512;
    const long page = sysconf(_SC_PAGESIZE);
    char* extra = static_cast<char*>(mmap(nullptr, static_cast<std::size_t>(kMaxPages * page),
                                          PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (extra == MAP_FAILED) die("mmap");
    madvise(extra, static_cast<std::size_t>(kMaxPages * page), MADV_NOHUGEPAGE);
    const char ok = 1;
    if (write(ready_fd, &ok, 1) != 1) die("write");
    std::mt19937 rng(static_cast<unsigned>(getpid()));
    long pages = 0;
    for (;;) {
      sleep(1);
      const bool grow = pages == 0 || (pages < kMaxPages && (rng() & 1));
      for (long i = 0; i < kStepPages; ++i) {
        if (grow) {
          extra[pages * page] = 0x5a;
          ++pages;
        } else {
          --pages;
          madvise(extra + pages * page, static_cast<std::size_t>(page), MADV_DONTNEED);
        }
      }
    }
  } else if (role == "pool") {
    int done[2];
    if (pipe(done) != 0) die("pipe");
    char* area = map_touched(mib, true);
    for (long c = 1; c < children; ++c) fork_sharer(area, mib, done[1]);
    wait_for(done[0], children - 1);
  } else {
    std::fprintf(stderr, "mgb_population: unknown role %.*s\n", static_cast<int>(role.size()),
                 role.data());
    return 2;
  }
  const char ok = 1;
  if (write(ready_fd, &ok, 1) != 1) die("write");
  for (;;) pause();
}

struct Member {
  std::string role;
  long mib = 0;
  long share_mib = 0;
  long children = 0;
  long slot = 0;
  long kib = 0;  // tiny members only
};

std::string sleeper_path() {
  char self[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) die("readlink(/proc/self/exe)");
  std::string path(self, static_cast<std::size_t>(n));
  return path.substr(0, path.rfind('/') + 1) + "mgb_sleeper";
}

pid_t spawn_tiny(const Member& m, const std::string& sleeper, const std::string& marker,
                 int ready_fd) {
  std::vector<std::string> args = {"mgb_sleeper",
                                   "--kib=" + std::to_string(m.kib),
                                   "--slot=" + std::to_string(m.slot),
                                   "--ready-fd=" + std::to_string(ready_fd),
                                   "--parent=" + std::to_string(getpid()),
                                   "--marker=" + marker};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (const int err = posix_spawn(&pid, sleeper.c_str(), nullptr, nullptr, argv.data(), environ)) {
    errno = err;
    die(sleeper.c_str());
  }
  return pid;
}

pid_t spawn(const Member& m, const std::string& marker, int ready_fd) {
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid > 0) return pid;
  die_with_parent(parent);
  std::vector<std::string> args = {"mgb_population",
                                   "--role=" + m.role,
                                   "--mib=" + std::to_string(m.mib),
                                   "--share-mib=" + std::to_string(m.share_mib),
                                   "--children=" + std::to_string(m.children),
                                   "--slot=" + std::to_string(m.slot),
                                   "--ready-fd=" + std::to_string(ready_fd),
                                   "--marker=" + marker};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  execv("/proc/self/exe", argv.data());
  die("execv");
}

std::vector<Member> parse_large(const std::string& spec) {
  std::vector<Member> out;
  std::size_t pos = 0;
  while (pos < spec.size()) {
    std::size_t end = spec.find(',', pos);
    if (end == std::string::npos) end = spec.size();
    const std::string item = spec.substr(pos, end - pos);
    Member m;
    m.role = "large";
    m.mib = std::atol(item.c_str());
    if (auto colon = item.find(':'); colon != std::string::npos)
      m.share_mib = std::atol(item.c_str() + colon + 1);
    if (m.mib > 0) out.push_back(m);
    pos = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string role, marker, large;
  long mib = 0, share_mib = 0, children = 0, ready_fd = -1;
  long small = 0, min_mib = 2, max_mib = 20, pool = 0, pool_mib = 64, slots = 50;
  long tiny = 0, tiny_min_kib = 100, tiny_max_kib = 500, drift = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view key) -> const char* {
      return arg.starts_with(key) ? argv[i] + key.size() : nullptr;
    };
    if (auto v = value("--role=")) {
      role = v;
    } else if (auto v = value("--mib=")) {
      mib = std::atol(v);
    } else if (auto v = value("--share-mib=")) {
      share_mib = std::atol(v);
    } else if (auto v = value("--children=")) {
      children = std::atol(v);
    } else if (auto v = value("--ready-fd=")) {
      ready_fd = std::atol(v);
    } else if (auto v = value("--marker=")) {
      marker = v;
    } else if (auto v = value("--small=")) {
      small = std::atol(v);
    } else if (auto v = value("--min-mib=")) {
      min_mib = std::atol(v);
    } else if (auto v = value("--max-mib=")) {
      max_mib = std::atol(v);
    } else if (auto v = value("--large=")) {
      large = v;
    } else if (auto v = value("--pool=")) {
      pool = std::atol(v);
    } else if (auto v = value("--pool-mib=")) {
      pool_mib = std::atol(v);
    } else if (auto v = value("--tiny=")) {
      tiny = std::atol(v);
    } else if (auto v = value("--tiny-min-kib=")) {
      tiny_min_kib = std::atol(v);
    } else if (auto v = value("--tiny-max-kib=")) {
      tiny_max_kib = std::atol(v);
    } else if (auto v = value("--drift=")) {
      drift = std::atol(v);
    } else if (auto v = value("--slots=")) {
      slots = std::max(1L, std::atol(v));
    } else if (!value("--slot=")) {
      std::fprintf(stderr, "mgb_population: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (!role.empty()) return run_member(role, mib, share_mib, children, static_cast<int>(ready_fd));
  if (marker.empty() || small < 0 || small > kMaxSmall || min_mib < 1 || max_mib < min_mib ||
      tiny < 0 || tiny > kMaxTiny || tiny_min_kib < 4 || tiny_max_kib < tiny_min_kib ||
      tiny_max_kib > 4096 || drift < 0 || drift > kMaxDrift) {
    std::fprintf(stderr,
                 "mgb_population: need --marker, 0 <= --small <= %ld, 0 <= --tiny <= %ld "
                 "(4 <= KiB <= 4096), 0 <= --drift <= %ld\n",
                 kMaxSmall, kMaxTiny, kMaxDrift);
    return 2;
  }

  // The parent goes when whoever started it goes, and takes the members along.
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  std::vector<Member> members;
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> log_size(std::log(static_cast<double>(min_mib)),
                                                  std::log(static_cast<double>(max_mib)));
  for (long i = 0; i < small; ++i) {
    Member m;
    m.role = "small";
    m.mib = std::lround(std::exp(log_size(rng)));
    m.slot = i % slots;
    members.push_back(m);
  }
  // Drawn after the small ones, so that --small=N weighs the same as before.
  std::uniform_int_distribution<long> tiny_kib(tiny_min_kib, tiny_max_kib);
  std::vector<Member> tinies;
  for (long i = 0; i < tiny; ++i) {
    Member m;
    m.role = "tiny";
    m.kib = tiny_kib(rng);
    m.slot = (small + i) % slots;
    tinies.push_back(m);
  }
  for (long i = 0; i < drift; ++i) {
    Member m;
    m.role = "drift";
    m.mib = 8;
    m.slot = i % slots;
    members.push_back(m);
  }
  for (auto& m : parse_large(large)) members.push_back(m);
  if (pool > 0) {
    Member m;
    m.role = "pool";
    m.mib = pool_mib;
    m.children = pool;
    members.push_back(m);
  }

  int ready[2];
  if (pipe(ready) != 0) die("pipe");
  for (const Member& m : members) {
    const pid_t pid = spawn(m, marker, ready[1]);
    std::printf("member %s %ld %d\n", m.role.c_str(), m.mib, static_cast<int>(pid));
  }
  const std::string sleeper = tinies.empty() ? "" : sleeper_path();
  for (const Member& m : tinies) {
    const pid_t pid = spawn_tiny(m, sleeper, marker, ready[1]);
    std::printf("member tiny %ld %d\n", m.kib, static_cast<int>(pid));
  }
  wait_for(ready[0], static_cast<long>(members.size() + tinies.size()));
  std::puts("ready");
  std::fflush(stdout);
  for (;;) pause();
}
