#pragma once
// A private file tree on tmpfs for fuzz targets whose parser reads files
// (ProcFs, CgroupFs, WebConfig): the input is written where the parser looks,
// so the agent's own read path is what gets fuzzed, with no test-only entry
// points in agent code. tmpfs keeps a write + read to a few microseconds.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace mg_fuzz {

class Tree {
 public:
  // One directory per process, removed at exit; parallel runs never share one.
  Tree() {
    const char* base = std::getenv("MG_FUZZ_TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : default_base()) + "/mg-fuzz-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      std::perror("mg-fuzz: mkdtemp");
      std::abort();
    }
    root_ = pattern;
  }
  ~Tree() {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  Tree(const Tree&) = delete;
  Tree& operator=(const Tree&) = delete;

  const std::string& root() const { return root_; }
  std::string path(std::string_view rel) const { return root_ + "/" + std::string(rel); }

  void mkdir(std::string_view rel) const {
    std::error_code ec;
    std::filesystem::create_directories(path(rel), ec);
    if (ec) fail("mkdir", rel);
  }
  void write(std::string_view rel, std::string_view bytes) const {
    const std::string p = path(rel);
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) fail("open", rel);
    std::size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) fail("write", rel);
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
  }
  void remove(std::string_view rel) const { ::unlink(path(rel).c_str()); }

 private:
  static const char* default_base() {
    struct stat st;
    return ::stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) ? "/dev/shm" : "/tmp";
  }
  // A harness that cannot set up its tree would fuzz nothing; stop loudly.
  [[noreturn]] static void fail(const char* what, std::string_view rel) {
    std::fprintf(stderr, "mg-fuzz: %s %.*s failed\n", what, static_cast<int>(rel.size()),
                 rel.data());
    std::abort();
  }

  std::string root_;
};

inline std::string_view as_view(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The readers work in 4 KiB-to-64 KiB chunks, and their edge cases (a line
// across a chunk end, a line longer than a chunk, the read cap) need inputs
// far past libFuzzer's usual 4 KiB. So an input that starts with 0xFF and a
// count N stands for N KiB of `fill` followed by the rest of the input: small
// corpus files that reach big-file paths.
inline std::string expand(std::string_view input, char fill) {
  if (input.size() < 2 || input[0] != '\xff') return std::string(input);
  const std::size_t kib = static_cast<unsigned char>(input[1]);
  std::string out(kib * 1024, fill);
  out.append(input.substr(2));
  return out;
}

// Invariant checks stay on in every build type: a broken one is a finding.
#define MG_FUZZ_CHECK(cond)                                                                        \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      std::fprintf(stderr, "mg-fuzz: invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                                \
    }                                                                                              \
  } while (0)

}  // namespace mg_fuzz
