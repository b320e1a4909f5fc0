#pragma once
// reload: notices when the config file's content changes. Watches the
// directory (not the file) with inotify, because editors and Kubernetes
// replace files rather than write them: a ConfigMap update swaps the `..data`
// symlink, so the path resolves to a new file without the old one changing.
// A slow poll backs inotify up (some filesystems send no events), and only a
// change of content, not of mtime, triggers a reload.
#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "util/clock.h"

namespace mg {

class ConfigWatcher {
 public:
  // `loaded_hash` is the hash of the content the agent runs with, so a change
  // made between loading and start() is not missed.
  ConfigWatcher(std::string path, std::function<void()> on_change, std::string loaded_hash = {},
                Duration poll = std::chrono::seconds(2));
  ~ConfigWatcher();
  void start();
  void stop();

 private:
  void run();
  std::string current_hash() const;
  void add_watches();

  std::string path_;
  std::function<void()> on_change_;
  Duration poll_;
  std::string last_hash_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the thread to stop
  std::thread thread_;
};

}  // namespace mg
