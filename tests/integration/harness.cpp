#include "integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "integration/memory_cgroup.h"

#ifndef MG_BINARY
#error "MG_BINARY must name the memoryguard binary (set by tests/CMakeLists.txt)"
#endif
#ifndef MG_HELPERS_DIR
#error "MG_HELPERS_DIR must name the directory of the helpers (set by tests/CMakeLists.txt)"
#endif

namespace mgt {
namespace {

// ---- the reaper ------------------------------------------------------------
//
// One thread reaps every child. It first learns of an exit with WNOWAIT and
// only reaps under the lock, so spawn() (which forks and opens the pidfd under
// the same lock) can never see its fresh pid reaped and reused in between.

struct Reaper {
  std::mutex mu;
  std::condition_variable cv;
  std::map<pid_t, ExitInfo> exits;
};

Reaper& reaper() {
  static Reaper* r = new Reaper;  // never destroyed: the thread outlives main
  return *r;
}

void reap_forever() {
  Reaper& r = reaper();
  for (;;) {
    siginfo_t info{};
    if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT | __WALL) != 0) {
      if (errno != EINTR) std::this_thread::sleep_for(2ms);  // ECHILD: nobody yet
      continue;
    }
    const auto when = Clock::now();
    std::lock_guard lock(r.mu);
    int status = 0;
    const pid_t pid = waitpid(info.si_pid, &status, __WALL);
    if (pid <= 0) continue;
    r.exits[pid] = ExitInfo{status, when};
    r.cv.notify_all();
  }
}

int pidfd_open(pid_t pid) {
  return static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
}

int pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

std::string tail_lines(const std::string& text, std::size_t n) {
  std::size_t pos = text.size();
  for (std::size_t i = 0; i <= n && pos > 0; ++i) {
    pos = text.rfind('\n', pos - 1);
    if (pos == std::string::npos) return text;
  }
  return text.substr(pos + 1);
}

int open_or_die(const std::string& path, int flags) {
  const int fd = open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) throw std::runtime_error("open " + path + ": " + std::strerror(errno));
  return fd;
}

std::atomic<int> g_counter{0};

}  // namespace

void start_reaper() {
  std::thread(reap_forever).detach();
}

// ---- ExitInfo ----------------------------------------------------------------

bool ExitInfo::signaled() const {
  return WIFSIGNALED(status);
}
int ExitInfo::term_signal() const {
  return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}
bool ExitInfo::exited() const {
  return WIFEXITED(status);
}
int ExitInfo::exit_code() const {
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string describe(const ExitInfo& info) {
  if (info.signaled()) return std::string("killed by ") + sigabbrev_np(info.term_signal());
  if (info.exited()) return "exited with " + std::to_string(info.exit_code());
  return "status " + std::to_string(info.status);
}

// ---- Proc --------------------------------------------------------------------

namespace {
// Exits recorded before `since` belong to an earlier owner of the pid.
std::optional<ExitInfo> recorded_exit(pid_t pid, Clock::time_point since) {
  Reaper& r = reaper();
  auto it = r.exits.find(pid);
  if (it == r.exits.end() || it->second.when < since) return std::nullopt;
  return it->second;
}
}  // namespace

// A process a helper reported: if the pidfd opens, the process exists now,
// so its own exit can only be recorded from now on.
Proc::Proc(pid_t pid) : pid_(pid) {
  std::lock_guard lock(reaper().mu);
  pidfd_ = pidfd_open(pid);
  since_ = Clock::now();
}

Proc Proc::adopt(pid_t pid, int pidfd) {
  Proc p;
  p.pid_ = pid;
  p.pidfd_ = pidfd;
  return p;
}

Proc::Proc(Proc&& other) noexcept : pid_(other.pid_), pidfd_(other.pidfd_), since_(other.since_) {
  other.pid_ = -1;
  other.pidfd_ = -1;
}

Proc& Proc::operator=(Proc&& other) noexcept {
  if (this != &other) {
    if (pidfd_ >= 0) close(pidfd_);
    pid_ = other.pid_;
    pidfd_ = other.pidfd_;
    since_ = other.since_;
    other.pid_ = -1;
    other.pidfd_ = -1;
  }
  return *this;
}

Proc::~Proc() {
  if (pidfd_ >= 0) close(pidfd_);
}

bool Proc::alive() const {
  if (pidfd_ < 0) return false;
  pollfd p{pidfd_, POLLIN, 0};
  return poll(&p, 1, 0) == 0;
}

bool Proc::signal(int sig) const {
  return pidfd_ >= 0 && pidfd_send_signal(pidfd_, sig) == 0;
}

std::optional<ExitInfo> Proc::exit_info() const {
  if (pid_ <= 0) return std::nullopt;
  std::lock_guard lock(reaper().mu);
  return recorded_exit(pid_, since_);
}

std::optional<ExitInfo> Proc::wait_reaped(Clock::duration timeout) const {
  if (pid_ <= 0) return std::nullopt;
  Reaper& r = reaper();
  std::unique_lock lock(r.mu);
  std::optional<ExitInfo> info;
  r.cv.wait_for(lock, timeout, [&] { return (info = recorded_exit(pid_, since_)).has_value(); });
  return info;
}

bool Proc::wait_dead(Clock::duration timeout) const {
  if (pidfd_ < 0) return true;
  pollfd p{pidfd_, POLLIN, 0};
  const auto ms = std::chrono::duration_cast<Millis>(timeout).count();
  int rc;
  do {
    rc = poll(&p, 1, static_cast<int>(ms));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

void Proc::kill_and_wait() {
  if (!alive()) return;
  signal(SIGKILL);
  wait_dead(10s);
}

// ---- spawning ----------------------------------------------------------------

namespace {

// A program run as another user must be reachable by that user, but the
// build tree may sit in a 0700 directory (mktemp -d, a CI workspace). Such
// runs use a copy in a world-readable directory, removed at exit.
class StagedPrograms {
 public:
  ~StagedPrograms() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  std::string copy_of(const std::string& path) {
    std::lock_guard lock(mu_);
    namespace fs = std::filesystem;
    if (dir_.empty()) {
      std::string tmpl = "/tmp/mgt-bin-XXXXXX";
      if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
      dir_ = tmpl;
      fs::permissions(dir_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
    }
    const std::string copy = dir_ + "/" + fs::path(path).filename().string();
    if (!fs::exists(copy)) {
      fs::copy_file(path, copy);
      fs::permissions(copy, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                fs::perms::others_read | fs::perms::others_exec);
    }
    return copy;
  }

 private:
  std::mutex mu_;
  std::string dir_;
};

StagedPrograms& staged_programs() {
  static StagedPrograms staged;
  return staged;
}

// The environment for a program run as another user: a sanitizer's
// suppressions file in the build tree is as unreachable to it as the program,
// so TSAN_OPTIONS points at a staged copy.
std::vector<std::string> environment_for_other_user() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (std::string& var : env) {
    if (!var.starts_with("TSAN_OPTIONS=")) continue;
    const std::string key = "suppressions=";
    const auto at = var.find(key);
    if (at == std::string::npos) continue;
    const auto from = at + key.size();
    const auto to = var.find_first_of(" :", from);
    const std::string path = var.substr(from, to == std::string::npos ? to : to - from);
    var.replace(from, path.size(), staged_programs().copy_of(path));
  }
  return env;
}

}  // namespace

Spawned spawn(const SpawnOptions& options) {
  std::vector<std::string> args = options.argv;
  if (options.uid && !args.empty()) args[0] = staged_programs().copy_of(args[0]);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::vector<std::string> env =
      options.uid ? environment_for_other_user() : std::vector<std::string>{};
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  const int in =
      open_or_die(options.stdin_path.empty() ? "/dev/null" : options.stdin_path, O_RDONLY);
  int out = -1, err = -1, pipe_read = -1;
  if (options.capture_stdout) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    pipe_read = fds[0];
    out = fds[1];
  } else if (!options.stdout_path.empty()) {
    out = open_or_die(options.stdout_path, O_WRONLY | O_CREAT | O_TRUNC);
  }
  if (!options.stderr_path.empty())
    err = open_or_die(options.stderr_path, O_WRONLY | O_CREAT | O_TRUNC);

  Spawned result;
  {
    std::lock_guard lock(reaper().mu);
    const pid_t pid = fork();
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      dup2(in, 0);
      if (out >= 0) dup2(out, 1);
      if (err >= 0) dup2(err, 2);
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, nullptr);
      if (options.uid &&
          (setgroups(0, nullptr) != 0 || setgid(*options.uid) != 0 || setuid(*options.uid) != 0)) {
        _exit(126);
      }
      if (options.uid)
        execve(argv[0], argv.data(), envp.data());
      else
        execv(argv[0], argv.data());
      _exit(127);
    }
    if (pid < 0) throw std::runtime_error("fork failed");
    reaper().exits.erase(pid);
    // The lock is held, so the child cannot have been reaped yet: the pidfd is
    // surely its own.
    result.proc = Proc::adopt(pid, pidfd_open(pid));
  }
  close(in);
  if (out >= 0) close(out);
  if (err >= 0) close(err);
  result.stdout_fd = pipe_read;
  return result;
}

RunResult run(const std::vector<std::string>& argv, const std::string& scratch_dir,
              Clock::duration timeout, const std::string& stdin_path) {
  const std::string base = scratch_dir + "/run-" + std::to_string(++g_counter);
  SpawnOptions options;
  options.argv = argv;
  options.stdout_path = base + ".stdout";
  options.stderr_path = base + ".stderr";
  options.stdin_path = stdin_path;
  Spawned spawned = spawn(options);
  RunResult result;
  result.exit = spawned.proc.wait_reaped(timeout);
  if (!result.exit) {
    spawned.proc.kill_and_wait();
    spawned.proc.wait_reaped(5s);
  }
  result.out = read_file(options.stdout_path);
  result.err = read_file(options.stderr_path);
  return result;
}

mgt_pki::Runner pki_runner(const std::string& scratch_dir) {
  return [scratch_dir](const std::vector<std::string>& argv) {
    return run(argv, scratch_dir).exit_code() == 0;
  };
}

std::string helper_path(const std::string& name) {
  return std::string(MG_HELPERS_DIR) + "/" + name;
}
std::string binary_path() {
  return MG_BINARY;
}
std::string source_dir() {
#ifdef MG_SOURCE_DIR
  return MG_SOURCE_DIR;
#else
  return ".";
#endif
}

// ---- time ------------------------------------------------------------------

bool wait_until(const std::function<bool()>& predicate, Clock::duration timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    if (predicate()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

void sleep_for(Clock::duration d) {
  std::this_thread::sleep_for(d);
}

// ---- HTTP --------------------------------------------------------------------

namespace {

std::string dechunk(const std::string& body) {
  std::string out;
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    const std::size_t len = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
    if (len == 0) break;
    out += body.substr(eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return out;
}

}  // namespace

HttpResponse http_request(int port, const std::string& method, const std::string& path,
                          const std::string& authorization) {
  HttpResponse response;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return response;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return response;
  }
  const std::string request =
      method + " " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n" +
      (authorization.empty() ? "" : "Authorization: " + authorization + "\r\n") +
      "Connection: close\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return response;
  }
  std::string raw;
  char buf[65536];
  for (;;) {
    const ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    raw.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  const std::size_t header_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/", 0) != 0 || header_end == std::string::npos) return response;
  response.status = std::atoi(raw.c_str() + raw.find(' ') + 1);
  std::string headers = raw.substr(0, header_end);
  for (char& c : headers) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  response.body = raw.substr(header_end + 4);
  if (headers.find("transfer-encoding: chunked") != std::string::npos) {
    response.body = dechunk(response.body);
  }
  return response;
}

std::string basic_auth(const std::string& user, const std::string& password) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = user + ":" + password;
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::uint32_t n = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) n |= static_cast<unsigned char>(in[i + 1]) << 8;
    if (i + 2 < in.size()) n |= static_cast<unsigned char>(in[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(n >> 6) & 63] : '=');
    out.push_back(i + 2 < in.size() ? kAlphabet[n & 63] : '=');
  }
  return "Basic " + out;
}

// ---- metrics -----------------------------------------------------------------

namespace {

// Parses one sample line of the text format; false if it is malformed.
bool parse_sample(const std::string& line, Sample& sample) {
  std::size_t pos = 0;
  while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
  sample.name = line.substr(0, pos);
  if (sample.name.empty()) return false;
  if (pos < line.size() && line[pos] == '{') {
    ++pos;
    for (;;) {
      while (pos < line.size() && (line[pos] == ',' || line[pos] == ' ')) ++pos;
      if (pos >= line.size()) return false;
      if (line[pos] == '}') {
        ++pos;
        break;
      }
      const std::size_t eq = line.find('=', pos);
      if (eq == std::string::npos || eq + 1 >= line.size() || line[eq + 1] != '"') return false;
      const std::string key = line.substr(pos, eq - pos);
      std::string value;
      pos = eq + 2;
      for (;;) {
        if (pos >= line.size()) return false;
        const char c = line[pos++];
        if (c == '"') break;
        if (c == '\\') {
          if (pos >= line.size()) return false;
          const char e = line[pos++];
          value.push_back(e == 'n' ? '\n' : e);
        } else {
          value.push_back(c);
        }
      }
      sample.labels[key] = value;
    }
  }
  while (pos < line.size() && line[pos] == ' ') ++pos;
  const std::string rest = line.substr(pos);
  if (rest.empty()) return false;
  char* end = nullptr;
  sample.value = std::strtod(rest.c_str(), &end);
  return end != rest.c_str();
}

bool has_labels(const Sample& s, const std::map<std::string, std::string>& labels) {
  for (const auto& [k, v] : labels) {
    auto it = s.labels.find(k);
    if (it == s.labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

Scrape::Scrape(std::string text) : text_(std::move(text)), ok_(true) {
  std::istringstream in(text_);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line);
      std::string hash, kind, name, type;
      words >> hash >> kind >> name >> type;
      if (kind == "TYPE") declared_[name] = type;
      continue;
    }
    Sample sample;
    if (!parse_sample(line, sample)) {
      ADD_FAILURE() << "unparsable metrics line: " << line;
      ok_ = false;
      continue;
    }
    samples_.push_back(std::move(sample));
  }
}

std::vector<Sample> Scrape::find(const std::string& name,
                                 const std::map<std::string, std::string>& labels) const {
  std::vector<Sample> found;
  for (const auto& s : samples_) {
    if (s.name == name && has_labels(s, labels)) found.push_back(s);
  }
  return found;
}

std::optional<double> Scrape::value(const std::string& name,
                                    const std::map<std::string, std::string>& labels) const {
  const auto found = find(name, labels);
  if (found.empty()) return std::nullopt;
  EXPECT_EQ(found.size(), 1u) << "several series of " << name << " match the labels";
  return found.front().value;
}

double Scrape::sum(const std::string& name,
                   const std::map<std::string, std::string>& labels) const {
  double total = 0;
  for (const auto& s : find(name, labels)) total += s.value;
  return total;
}

bool Scrape::has_family(const std::string& name) const {
  if (declared_.count(name) > 0) return true;
  for (const auto& s : samples_) {
    if (s.name == name || s.name == name + "_bucket" || s.name == name + "_count") return true;
  }
  return false;
}

std::string Scrape::type(const std::string& name) const {
  auto it = declared_.find(name);
  return it == declared_.end() ? "" : it->second;
}

// ---- the agent ---------------------------------------------------------------

int free_port() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    throw std::runtime_error("no free port");
  }
  close(fd);
  return ntohs(addr.sin_port);
}

Agent::Agent(const std::string& dir, const std::string& config_path,
             std::vector<std::string> extra_flags, std::optional<uid_t> uid)
    : port_(free_port()) {
  const int n = ++g_counter;
  stderr_path_ = dir + "/agent-" + std::to_string(n) + ".stderr";
  SpawnOptions options;
  options.argv = {binary_path(), "--config.file=" + config_path,
                  "--web.listen-address=127.0.0.1:" + std::to_string(port_)};
  bool has_level = false;
  for (const auto& f : extra_flags) has_level = has_level || f.rfind("--log.level", 0) == 0;
  if (!has_level) options.argv.push_back("--log.level=debug");
  for (auto& f : extra_flags) options.argv.push_back(std::move(f));
  options.stdout_path = dir + "/agent-" + std::to_string(n) + ".stdout";
  options.stderr_path = stderr_path_;
  options.uid = uid;
  started_ = Clock::now();
  proc_ = spawn(options).proc;
}

Agent::~Agent() {
  if (!stopped_) stop(5s);
}

bool Agent::wait_healthy(Clock::duration timeout) {
  const bool ok =
      wait_until([&] { return !proc_.alive() || get("/healthz").status == 200; }, timeout);
  if (ok && proc_.alive()) return true;
  ADD_FAILURE() << "memoryguard did not become healthy"
                << (proc_.alive() ? " (still running)" : " (it exited)") << "; its log:\n"
                << tail_lines(log(), 40);
  return false;
}

void Agent::set_tls(mgt_pki::TlsClientOptions options) {
  options.port = port_;
  tls_ = std::make_unique<mgt_pki::TlsClient>(std::move(options));
}

HttpResponse Agent::request(const std::string& method, const std::string& path) const {
  if (!tls_) return http_request(port_, method, path, authorization_);
  const auto reply = tls_->request(
      method, path, authorization_.empty() ? "" : "Authorization: " + authorization_ + "\r\n");
  return HttpResponse{reply.status, reply.body};
}

HttpResponse Agent::get(const std::string& path) const {
  return request("GET", path);
}
HttpResponse Agent::post(const std::string& path) const {
  return request("POST", path);
}

Scrape Agent::scrape() const {
  const HttpResponse r = get("/metrics");
  if (r.status != 200) {
    ADD_FAILURE() << "GET /metrics answered " << r.status;
    return Scrape();
  }
  return Scrape(r.body);
}

Scrape Agent::wait_for_metrics(const std::function<bool(const Scrape&)>& predicate,
                               Clock::duration timeout) {
  Scrape last;
  wait_until(
      [&] {
        last = scrape();
        return predicate(last);
      },
      timeout);
  return last;
}

std::optional<ExitInfo> Agent::stop(Clock::duration timeout) {
  stopped_ = true;
  if (!proc_.valid()) return std::nullopt;
  proc_.signal(SIGTERM);
  if (auto info = proc_.wait_reaped(timeout)) return info;
  proc_.signal(SIGKILL);
  proc_.wait_reaped(5s);
  return std::nullopt;
}

std::string Agent::log() const {
  return read_file(stderr_path_);
}

// ---- files and cgroups -------------------------------------------------------

std::string regex_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::strchr(".^$|()[]{}*+?\\", c) != nullptr) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

void write_file(const std::string& path, const std::string& text) {
  // A new file renamed over the old one: a reader never sees it half-written.
  const std::string tmp = path + ".tmp" + std::to_string(++g_counter);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << text;
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("rename " + tmp);
}

void overwrite_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

namespace {
bool exists(const std::string& path) {
  return access(path.c_str(), F_OK) == 0;
}
}  // namespace

TestCgroup::TestCgroup(const std::string& name) {
  std::string root;
  if (exists("/sys/fs/cgroup/cgroup.controllers")) {
    root = "/sys/fs/cgroup";
    v2_ = true;
  } else if (exists("/sys/fs/cgroup/unified/cgroup.controllers")) {
    root = "/sys/fs/cgroup/unified";
    v2_ = true;
  } else if (exists("/sys/fs/cgroup/memory/cgroup.procs")) {
    root = "/sys/fs/cgroup/memory";
  } else {
    error_ = "no cgroup v2 and no v1 memory hierarchy under /sys/fs/cgroup";
    return;
  }
  const std::string dir = root + "/" + name;
  if (mkdir(dir.c_str(), 0755) != 0) {
    error_ = "mkdir " + dir + ": " + std::strerror(errno);
    return;
  }
  dir_ = dir;
}

TestCgroup::~TestCgroup() {
  if (dir_.empty()) return;
  const bool removed = wait_until([&] { return rmdir(dir_.c_str()) == 0 || errno == ENOENT; }, 10s);
  if (!removed) ADD_FAILURE() << "cannot rmdir " << dir_ << ": " << std::strerror(errno);
}

bool TestCgroup::add(pid_t pid) {
  std::ofstream procs(dir_ + "/cgroup.procs");
  procs << pid << std::flush;
  return static_cast<bool>(procs);
}

std::string container_hex(const std::string& token, char fill) {
  std::string id;
  for (char c : token) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) id.push_back(c);
  }
  id.resize(64, fill);
  return id;
}

std::string pod_uid_of(const std::string& token, char last) {
  std::string hex = container_hex(token, last).substr(0, 32);
  hex.back() = last;
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

// ---- the fixture ---------------------------------------------------------------

void IntegrationTest::SetUp() {
  std::random_device rd;
  static const char kHex[] = "0123456789abcdef";
  token_ = "mgtok";
  for (int i = 0; i < 12; ++i) token_.push_back(kHex[rd() % 16]);
  char tmpl[] = "/tmp/mgt-it-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr) << std::strerror(errno);
  dir_ = tmpl;
  chmod(dir_.c_str(), 0755);
}

void IntegrationTest::TearDown() {
  // Parents first: their children then become ours and are reaped here.
  for (auto& h : helpers_) h->proc.kill_and_wait();
  for (auto& h : helpers_) {
    for (auto& c : h->children) c.kill_and_wait();
  }
  const bool failed = HasFailure();
  for (auto& a : agents_) {
    if (failed) {
      std::fprintf(stderr, "---- memoryguard log (%s), last lines ----\n%s\n",
                   a->log_path().c_str(), tail_lines(a->log(), 60).c_str());
    }
  }
  agents_.clear();
  helpers_.clear();
  while (!cgroups_.empty()) cgroups_.pop_back();
  if (failed || std::getenv("MGT_KEEP")) {
    std::fprintf(stderr, "kept %s\n", dir_.c_str());
  } else if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

MemoryCgroup& IntegrationTest::memory_cgroup(const std::string& name, bool v1_only) {
  cgroups_.push_back(std::make_unique<MemoryCgroup>(name, v1_only));
  return *cgroups_.back();
}

Helper& IntegrationTest::spawn_helper(const std::string& name, const std::vector<std::string>& args,
                                      std::optional<uid_t> uid) {
  SpawnOptions options;
  options.uid = uid;
  options.argv = {helper_path(name), "--marker=" + token_};
  options.argv.insert(options.argv.end(), args.begin(), args.end());
  options.capture_stdout = true;
  Spawned spawned = spawn(options);
  auto helper = std::make_unique<Helper>();
  helper->proc = std::move(spawned.proc);

  // Lines until "ready"; the helper writes nothing after it.
  std::string buffered;
  bool ready = false;
  const auto deadline = Clock::now() + 20s;
  while (!ready && Clock::now() < deadline) {
    pollfd p{spawned.stdout_fd, POLLIN, 100};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = read(spawned.stdout_fd, buf, sizeof buf);
    if (n <= 0) break;
    buffered.append(buf, static_cast<std::size_t>(n));
    std::size_t eol;
    while ((eol = buffered.find('\n')) != std::string::npos) {
      const std::string line = buffered.substr(0, eol);
      buffered.erase(0, eol + 1);
      if (line == "ready") {
        ready = true;
      } else if (line.rfind("child ", 0) == 0) {
        helper->children.emplace_back(static_cast<pid_t>(std::atoi(line.c_str() + 6)));
      }
    }
  }
  close(spawned.stdout_fd);
  helpers_.push_back(std::move(helper));
  Helper& h = *helpers_.back();
  if (!ready) {
    // EOF came first; the reaper records the death a moment later.
    const auto info = h.proc.wait_reaped(2s);
    // A running agent may rightly kill a hog while it is still filling its
    // memory; the test then sees how it died. Anything else is a failure.
    if (info && info->term_signal() == SIGKILL) return h;
    ADD_FAILURE() << name << " did not get ready"
                  << (info ? " (" + describe(*info) + ")" : std::string(" in time"));
  }
  return h;
}

Helper& IntegrationTest::hog(long mib, const std::vector<std::string>& args) {
  std::vector<std::string> all{"--mib=" + std::to_string(mib)};
  all.insert(all.end(), args.begin(), args.end());
  return spawn_helper("mgt_hog", all);
}

std::string IntegrationTest::match_yaml(const std::string& helper) const {
  return "{ name: '^" + helper + "$', cmdline: '" + token_ + "' }";
}

std::string IntegrationTest::write_config(const std::string& yaml, const std::string& file) {
  const std::string p = path(file);
  write_file(p, yaml);
  return p;
}

Agent& IntegrationTest::launch_agent(const std::string& config_path,
                                     std::vector<std::string> extra_flags,
                                     std::optional<uid_t> uid) {
  agents_.push_back(std::make_unique<Agent>(dir_, config_path, std::move(extra_flags), uid));
  return *agents_.back();
}

Agent& IntegrationTest::start_agent(const std::string& config_path,
                                    std::vector<std::string> extra_flags,
                                    std::optional<uid_t> uid) {
  Agent& agent = launch_agent(config_path, std::move(extra_flags), uid);
  agent.wait_healthy();
  return agent;
}

void IntegrationTest::expect_promtool_accepts(const Scrape& scrape) {
  if (access(kPromtool, X_OK) != 0) {
    std::fprintf(stderr, "note: %s is absent; the exposition was not linted\n", kPromtool);
    return;
  }
  const std::string file = path("metrics.txt");
  write_file(file, scrape.text());
  const RunResult r = run({kPromtool, "check", "metrics"}, dir(), 20s, file);
  EXPECT_EQ(r.exit_code(), 0) << "promtool check metrics:\n" << r.out << r.err;
}

}  // namespace mgt
