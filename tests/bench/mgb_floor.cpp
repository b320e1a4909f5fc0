// The floors the agent is held against: the least a program can do to check
// the processes a rule picks. One pass lists /proc and, for each process that
// matches, reads one file:
//
//   --mode=statm       statm (RSS): the floor for one check
//   --mode=stat+statm  stat of every listed pid (its identity: start time),
//                      statm of the matched ones: what a checker that guards
//                      against pid reuse cannot do without
//   --mode=rollup      smaps_rollup (PSS, USS): the floor for one full PSS refresh
//   --mode=smaps       all of smaps, summing every Pss line: the seed library's
//                      (go-memoryguard's) method, once per process per interval
//
// Matching is done once per pid, by the marker in the command line, as a
// matcher with a cache would; the floor's own pid is left out (its argv holds
// the marker too). Buffers are reused: nothing is allocated per process per
// pass. It runs passes back to back for --seconds (at least --min-passes) and
// prints one line of key=value figures: CPU and wall time per pass, from
// CLOCK_PROCESS_CPUTIME_ID and CLOCK_MONOTONIC. --pid=P reads only P's file
// (the cost of one read of one process, e.g. a 4 GiB one).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace {

std::int64_t now_ns(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Reads the whole of a small /proc file into buf (grown only when too small,
// so only the first passes allocate). Returns the length, or -1.
ssize_t slurp(const char* path, std::string& buf) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  std::size_t len = 0;
  for (;;) {
    if (buf.size() - len < 4096) buf.resize(buf.size() * 2 + 65536);
    const ssize_t n = read(fd, buf.data() + len, buf.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      close(fd);
      return -1;
    }
    if (n == 0) break;
    len += static_cast<std::size_t>(n);
  }
  close(fd);
  return static_cast<ssize_t>(len);
}

// Sums the kB values of every line that starts with one of the keys.
std::uint64_t sum_keys(std::string_view text, std::initializer_list<std::string_view> keys) {
  std::uint64_t total = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) eol = text.size();
    const std::string_view line = text.substr(pos, eol - pos);
    for (std::string_view key : keys) {
      if (line.starts_with(key)) {
        total += std::strtoull(line.data() + key.size(), nullptr, 10);
        break;
      }
    }
    pos = eol + 1;
  }
  return total * 1024;
}

bool cmdline_has(pid_t pid, std::string_view marker, std::string& buf) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/%d/cmdline", static_cast<int>(pid));
  const ssize_t n = slurp(path, buf);
  if (n <= 0) return false;
  return std::string_view(buf.data(), static_cast<std::size_t>(n)).find(marker) !=
         std::string_view::npos;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "statm", marker;
  double seconds = 2.0;
  long min_passes = 3;
  pid_t only_pid = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&](std::string_view key) -> const char* {
      return arg.starts_with(key) ? argv[i] + key.size() : nullptr;
    };
    if (auto v = value("--mode=")) {
      mode = v;
    } else if (auto v = value("--marker=")) {
      marker = v;
    } else if (auto v = value("--seconds=")) {
      seconds = std::atof(v);
    } else if (auto v = value("--min-passes=")) {
      min_passes = std::atol(v);
    } else if (auto v = value("--pid=")) {
      only_pid = static_cast<pid_t>(std::atol(v));
    } else {
      std::fprintf(stderr, "mgb_floor: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  const bool read_stat = mode == "stat+statm";
  const char* file = mode == "rollup" ? "smaps_rollup" : mode == "smaps" ? "smaps" : "statm";
  if ((mode != "statm" && !read_stat && mode != "rollup" && mode != "smaps") ||
      (marker.empty() && only_pid == 0)) {
    std::fprintf(stderr, "mgb_floor: need --mode=statm|stat+statm|rollup|smaps and --marker\n");
    return 2;
  }

  const pid_t self = getpid();
  std::unordered_map<pid_t, bool> matched;  // the matcher's cache, per pid
  std::string buf, scratch;
  char path[64];
  std::uint64_t checksum = 0, files = 0;
  long passes = 0;
  const std::int64_t wall0 = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
  std::int64_t wall = 0;
  do {
    DIR* dir = opendir("/proc");
    if (!dir) {
      std::perror("mgb_floor: /proc");
      return 3;
    }
    while (dirent* e = readdir(dir)) {
      if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
      const pid_t pid = static_cast<pid_t>(std::atol(e->d_name));
      if (read_stat) {
        std::snprintf(path, sizeof path, "/proc/%d/stat", static_cast<int>(pid));
        if (slurp(path, scratch) < 0) continue;
      }
      bool is_match;
      if (only_pid) {
        is_match = pid == only_pid;
      } else {
        auto [it, inserted] = matched.try_emplace(pid, false);
        if (inserted) it->second = pid != self && cmdline_has(pid, marker, scratch);
        is_match = it->second;
      }
      if (!is_match) continue;
      std::snprintf(path, sizeof path, "/proc/%d/%s", static_cast<int>(pid), file);
      const ssize_t n = slurp(path, buf);
      if (n < 0) continue;
      const std::string_view text(buf.data(), static_cast<std::size_t>(n));
      if (mode == "rollup")
        checksum += sum_keys(text, {"Pss:", "Private_Clean:", "Private_Dirty:"});
      else if (mode == "smaps")
        checksum += sum_keys(text, {"Pss:"});
      else
        checksum += std::strtoull(text.data() + text.find(' ') + 1, nullptr, 10);
      ++files;
    }
    closedir(dir);
    ++passes;
    wall = now_ns(CLOCK_MONOTONIC) - wall0;
  } while (passes < min_passes || wall < static_cast<std::int64_t>(seconds * 1e9));
  const std::int64_t cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  std::printf(
      "mode=%s passes=%ld processes=%.1f cpu_ns_per_pass=%.0f wall_ns_per_pass=%.0f "
      "checksum=%llu\n",
      mode.c_str(), passes, static_cast<double>(files) / static_cast<double>(passes),
      static_cast<double>(cpu) / static_cast<double>(passes),
      static_cast<double>(wall) / static_cast<double>(passes),
      static_cast<unsigned long long>(checksum));
  return 0;
}
