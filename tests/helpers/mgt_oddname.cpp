// A process with a hostile name and command line, for the agent's parsers.
//
//   mgt_oddname --marker=TOKEN [--comm=HEX] [--argv0=HEX] [--arg=HEX]...
//               [--pad-kib=N] [--mib=N] [--threads=N]
//
// It re-executes itself (through /proc/self/exe) with the argv the options
// describe, in their order: --argv0 (hex bytes; default "mgt_oddname"), then
// each --arg decoded from hex, the --marker option as given, and --pad-kib
// KiB of filler ('p') cut into strings under MAX_ARG_STRLEN (128 KiB), so a
// command line can reach megabytes. The new image sets its comm to --comm
// (hex, at most 15 bytes; default "mgt_oddname") with prctl(PR_SET_NAME),
// touches --mib MiB, starts --threads idle threads, prints "ready" and sleeps
// until killed. Any byte but NUL can go in a name or an argument.
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr const char* kStageEnv = "MGT_ODDNAME_STAGE2";
constexpr std::size_t kPadChunk = 100 * 1024;  // under MAX_ARG_STRLEN

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "mgt_oddname: %s: %s\n", what, std::strerror(errno));
  std::exit(3);
}

std::string unhex(std::string_view hex) {
  std::string out;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  if (out.find('\0') != std::string::npos) {
    std::fprintf(stderr, "mgt_oddname: NUL cannot be in an argument\n");
    std::exit(2);
  }
  return out;
}

void* idle(void*) {
  for (;;) pause();
}

// The second image: the odd argv is in place; become the odd process.
[[noreturn]] void become(const char* settings) {
  // settings: "comm-hex mib threads"
  char comm_hex[64] = {0};
  long mib = 0;
  long threads = 0;
  if (std::sscanf(settings, "%63s %ld %ld", comm_hex, &mib, &threads) != 3) {
    std::fprintf(stderr, "mgt_oddname: bad %s\n", kStageEnv);
    std::exit(2);
  }
  unsetenv(kStageEnv);
  const std::string comm = unhex(comm_hex);
  if (prctl(PR_SET_NAME, comm.c_str(), 0, 0, 0) != 0) die("prctl");
  if (mib > 0) {
    const std::size_t size = static_cast<std::size_t>(mib) * 1024 * 1024;
    void* area = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (area == MAP_FAILED) die("mmap");
    std::memset(area, 0x5a, size);
  }
  for (long i = 0; i < threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, nullptr, idle, nullptr) != 0) die("pthread_create");
  }
  std::fputs("ready\n", stdout);
  std::fflush(stdout);
  for (;;) pause();
}

std::string hex(std::string_view bytes) {
  std::string out;
  char two[3];
  for (unsigned char c : bytes) {
    std::snprintf(two, sizeof two, "%02x", c);
    out += two;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* settings = std::getenv(kStageEnv)) become(settings);

  std::string comm = "mgt_oddname";
  std::string argv0 = "mgt_oddname";
  long mib = 1;
  long threads = 0;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.starts_with("--comm=")) {
      comm = unhex(arg.substr(7));
    } else if (arg.starts_with("--argv0=")) {
      argv0 = unhex(arg.substr(8));
    } else if (arg.starts_with("--arg=")) {
      args.push_back(unhex(arg.substr(6)));
    } else if (arg.starts_with("--marker=")) {
      args.emplace_back(arg);
    } else if (arg.starts_with("--pad-kib=")) {
      std::size_t left = static_cast<std::size_t>(std::atol(argv[i] + 10)) * 1024;
      while (left > 0) {
        const std::size_t n = left < kPadChunk ? left : kPadChunk;
        args.emplace_back(n, 'p');
        left -= n;
      }
    } else if (arg.starts_with("--mib=")) {
      mib = std::atol(argv[i] + 6);
    } else if (arg.starts_with("--threads=")) {
      threads = std::atol(argv[i] + 10);
    } else {
      std::fprintf(stderr, "mgt_oddname: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (comm.size() > 15) {
    std::fprintf(stderr, "mgt_oddname: --comm is at most 15 bytes\n");
    return 2;
  }
  const std::string settings =
      hex(comm) + " " + std::to_string(mib) + " " + std::to_string(threads);
  if (setenv(kStageEnv, settings.c_str(), 1) != 0) die("setenv");
  std::vector<char*> new_argv;
  new_argv.push_back(argv0.data());
  for (auto& a : args) new_argv.push_back(a.data());
  new_argv.push_back(nullptr);
  execv("/proc/self/exe", new_argv.data());
  die("execv");
}
