#include "reload/config_watcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "fixture_tree.h"

namespace mg {
namespace {

using testutil::FixtureTree;
namespace fs = std::filesystem;

bool wait_for(const std::atomic<int>& n, int want) {
  for (int i = 0; i < 100 && n.load() < want; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  return n.load() >= want;
}

TEST(ConfigWatcher, AContentChangeTriggersAndATouchDoesNot) {
  FixtureTree t({{"mg.yaml", "interval: 1s\n"}});
  std::atomic<int> changes{0};
  ConfigWatcher w(
      t.root() + "/mg.yaml", [&] { ++changes; }, "", std::chrono::milliseconds(200));
  w.start();
  // Same bytes written again: no reload.
  std::ofstream(t.root() + "/mg.yaml") << "interval: 1s\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(changes.load(), 0);
  std::ofstream(t.root() + "/mg.yaml") << "interval: 2s\n";
  EXPECT_TRUE(wait_for(changes, 1));
}

TEST(ConfigWatcher, SeesAConfigMapStyleSymlinkSwap) {
  // Kubernetes: mg.yaml -> ..data/mg.yaml, ..data -> ..2026_01; an update
  // writes ..2026_02 and renames a new ..data symlink over the old one.
  // FixtureTree refuses paths starting with "..", so this tree is made by hand.
  FixtureTree t;
  const std::string r = t.root();
  fs::create_directory(r + "/..2026_01");
  std::ofstream(r + "/..2026_01/mg.yaml") << "interval: 1s\n";
  fs::create_directory_symlink("..2026_01", r + "/..data");
  fs::create_symlink("..data/mg.yaml", r + "/mg.yaml");
  std::atomic<int> changes{0};
  ConfigWatcher w(
      t.root() + "/mg.yaml", [&] { ++changes; }, "", std::chrono::seconds(30));
  w.start();
  fs::create_directory(r + "/..2026_02");
  std::ofstream(r + "/..2026_02/mg.yaml") << "interval: 5s\n";
  fs::create_directory_symlink("..2026_02", t.root() + "/..data_tmp");
  fs::rename(t.root() + "/..data_tmp", t.root() + "/..data");
  // The poll is 30s, so only inotify can see it this fast.
  EXPECT_TRUE(wait_for(changes, 1));
}

}  // namespace
}  // namespace mg
