#include "reload/config_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/config_loader.h"
#include "util/log.h"

namespace mg {

ConfigWatcher::ConfigWatcher(std::string path, std::function<void()> on_change,
                             std::string loaded_hash, Duration poll)
    : ConfigWatcher([path = std::move(path)] { return std::vector<std::string>{path}; },
                    std::move(on_change), std::move(loaded_hash), poll) {}

ConfigWatcher::ConfigWatcher(std::function<std::vector<std::string>()> paths,
                             std::function<void()> on_change, std::string loaded_hash,
                             Duration poll)
    : paths_(std::move(paths)),
      on_change_(std::move(on_change)),
      poll_(poll),
      last_hash_(std::move(loaded_hash)) {}

ConfigWatcher::~ConfigWatcher() {
  stop();
}

std::string ConfigWatcher::content_hash(
    const std::vector<std::pair<std::string, std::string>>& files) {
  // One file: the loader's hash, so both agree on what "the same content"
  // means.
  if (files.size() == 1) return config_content_hash(files.front().second);
  std::string all;
  for (const auto& [path, content] : files) {
    all += path + '\0' + config_content_hash(content) + '\n';
  }
  return config_content_hash(all);
}

std::string ConfigWatcher::current_hash() const {
  std::vector<std::pair<std::string, std::string>> files;
  for (const std::string& path : paths_()) {
    std::ifstream in(path, std::ios::binary);
    // A file missing for a moment (replaced by delete and create) is no change yet.
    if (!in) return {};
    std::ostringstream ss;
    ss << in.rdbuf();
    files.emplace_back(path, ss.str());
  }
  return content_hash(files);
}

void ConfigWatcher::add_watches() {
  constexpr uint32_t kMask =
      IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MODIFY;
  namespace fs = std::filesystem;
  for (const std::string& path : paths_()) {
    std::error_code ec;
    fs::path p = fs::absolute(path, ec);
    // The same directory twice is one watch: inotify hands back the first.
    inotify_add_watch(inotify_fd_, p.parent_path().c_str(), kMask);
    // The directory the symlinks finally point into (e.g. ConfigMap ..data).
    fs::path real = fs::canonical(p, ec);
    if (!ec && real.parent_path() != p.parent_path()) {
      inotify_add_watch(inotify_fd_, real.parent_path().c_str(), kMask);
    }
  }
}

void ConfigWatcher::start() {
  if (last_hash_.empty()) last_hash_ = current_hash();
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) {
    // Without a way to wake the thread it could not be stopped; the explicit
    // reloads (SIGHUP, /-/reload) still work.
    const auto paths = paths_();
    log::warn("config file watching disabled: eventfd failed",
              {{"file", paths.empty() ? std::string() : paths.front()}});
    return;
  }
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ >= 0) add_watches();
  thread_ = std::thread([this] { run(); });
}

void ConfigWatcher::stop() {
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof one) < 0) { /* the thread also polls; it will see it */
    }
    thread_.join();
  }
  if (inotify_fd_ >= 0) close(inotify_fd_);
  if (stop_fd_ >= 0) close(stop_fd_);
  inotify_fd_ = stop_fd_ = -1;
}

void ConfigWatcher::run() {
  const int timeout_ms =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(poll_).count());
  alignas(inotify_event) char buf[4096];
  for (;;) {
    pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {inotify_fd_, POLLIN, 0}};
    int n = poll(fds, inotify_fd_ >= 0 ? 2 : 1, timeout_ms);
    if (n > 0 && (fds[0].revents & POLLIN)) return;
    if (n > 0 && inotify_fd_ >= 0 && (fds[1].revents & POLLIN)) {
      while (read(inotify_fd_, buf, sizeof buf) > 0) {
      }
      // A swap may have created a new target directory: watch it too.
      add_watches();
      // Writers often land in several steps; let them finish.
      usleep(50 * 1000);
    }
    std::string h = current_hash();
    if (!h.empty() && h != last_hash_) {
      // Two reads a moment apart must agree. A writer that truncates and
      // then writes (shell redirection, a plain save) can be caught halfway,
      // and half a config may be a valid one with fewer rules. If it is
      // still moving, the next event or poll comes back to it.
      usleep(50 * 1000);
      if (current_hash() != h) continue;
      last_hash_ = h;
      on_change_();
    }
  }
}

}  // namespace mg
