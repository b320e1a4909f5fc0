#pragma once
// Builds the files of one fake process for a fixture /proc tree.
#include <cstdint>
#include <string>
#include <vector>

#include "fixture_tree.h"

namespace mg::testutil {

struct FakeProcess {
  int pid = 100;
  std::string comm = "worker";
  int ppid = 1;
  int pgrp = 0;  // 0: its own pid
  std::uint64_t start_time = 5000;
  unsigned flags = 0x400000;
  std::string cmdline = "worker --serve";
  std::string exe = "/usr/bin/worker";
  int uid = 0;
  std::string cgroup = "0::/app\n";
  std::uint64_t rss_kib = 10240;
  std::uint64_t pss_kib = 5120;
  std::uint64_t private_kib = 4096;

  std::vector<FixtureTree::Entry> entries() const {
    const std::string d = std::to_string(pid) + "/";
    std::string stat = std::to_string(pid) + " (" + comm + ") S " + std::to_string(ppid) + " " +
                       std::to_string(pgrp ? pgrp : pid) + " " + std::to_string(pid) + " 0 -1 " +
                       std::to_string(flags) + " 0 0 0 0 1 1 0 0 20 0 1 0 " +
                       std::to_string(start_time) + " 100000 " + std::to_string(rss_kib / 4) +
                       " 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
    std::string status = "Name:\t" + comm + "\nUid:\t" + std::to_string(uid) + "\t" +
                         std::to_string(uid) + "\t" + std::to_string(uid) + "\t" +
                         std::to_string(uid) + "\n";
    std::string argv = cmdline;
    for (char& c : argv)
      if (c == ' ') c = '\0';
    argv.push_back('\0');
    std::string statm = "2000 " + std::to_string(rss_kib / 4) + " 100 10 0 500 0\n";
    std::string rollup =
        "00400000-7fff00000000 ---p 00000000 00:00 0  [rollup]\nRss: " + std::to_string(rss_kib) +
        " kB\nPss: " + std::to_string(pss_kib) +
        " kB\nShared_Clean: 0 kB\nShared_Dirty: 0 kB\n"
        "Private_Clean: 0 kB\nPrivate_Dirty: " +
        std::to_string(private_kib) + " kB\n";
    return {
        FixtureTree::file(d + "stat", stat),           FixtureTree::file(d + "status", status),
        FixtureTree::file(d + "cmdline", argv),        FixtureTree::symlink(d + "exe", exe),
        FixtureTree::file(d + "cgroup", cgroup),       FixtureTree::file(d + "statm", statm),
        FixtureTree::file(d + "smaps_rollup", rollup),
    };
  }
};

}  // namespace mg::testutil
