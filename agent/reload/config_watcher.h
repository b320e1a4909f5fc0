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
#include <utility>
#include <vector>

#include "util/clock.h"

namespace mg {

class ConfigWatcher {
 public:
  // `loaded_hash` is the hash of the content the agent runs with, so a change
  // made between loading and start() is not missed.
  ConfigWatcher(std::string path, std::function<void()> on_change, std::string loaded_hash = {},
                Duration poll = std::chrono::seconds(2));
  // Several files watched as one (a web config and the certificates it
  // names): a change of any is a change. `paths` is asked again at each look,
  // so the set follows what the last load named. `loaded_hash` is then
  // content_hash() of the files as loaded.
  ConfigWatcher(std::function<std::vector<std::string>()> paths, std::function<void()> on_change,
                std::string loaded_hash = {}, Duration poll = std::chrono::seconds(2));
  ~ConfigWatcher();

  // What the watcher compares, from each path and the bytes read there:
  // config_content_hash of one file's bytes; of every path and hash for more.
  static std::string content_hash(const std::vector<std::pair<std::string, std::string>>& files);

  void start();
  void stop();

 private:
  void run();
  std::string current_hash() const;
  void add_watches();

  std::function<std::vector<std::string>()> paths_;
  std::function<void()> on_change_;
  Duration poll_;
  std::string last_hash_;
  int inotify_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that wakes the thread to stop
  std::thread thread_;
};

}  // namespace mg
