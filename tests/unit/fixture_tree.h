#pragma once
// A throwaway file tree for tests: a fake /proc or cgroupfs in a mkdtemp
// directory, built from a list of entries and removed in the destructor.
//
//   mg::testutil::FixtureTree t({
//       {"42/stat", "42 (sh) S 1 42 ..."},          // a file (parents are created)
//       {"42/cmdline", std::string("a\0b\0", 4)},    // NULs need an explicit length
//       {"memory/"},                                  // an empty directory
//       mg::testutil::FixtureTree::symlink("42/exe", "/usr/bin/sh"),
//   });
//   mg::ProcFs fs(t.root());
//
// Every path is relative to the root; ".." and absolute paths are refused, so
// a typo cannot write outside the tree.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace mg::testutil {

class FixtureTree {
 public:
  enum class Kind { kFile, kDir, kSymlink };

  struct Entry {
    std::string path;
    std::string content;  // file content, or the symlink's target
    Kind kind = Kind::kFile;

    // {"a/b", "text"} is a file; {"a/"} (trailing slash) is a directory.
    Entry(std::string p, std::string c = {}) : path(std::move(p)), content(std::move(c)) {
      if (!path.empty() && path.back() == '/') kind = Kind::kDir;
    }
    Entry(const char* p, std::string c = {}) : Entry(std::string(p), std::move(c)) {}
    Entry(std::string p, std::string c, Kind k)
        : path(std::move(p)), content(std::move(c)), kind(k) {}
  };

  static Entry file(std::string path, std::string content) {
    return {std::move(path), std::move(content), Kind::kFile};
  }
  static Entry dir(std::string path) { return {std::move(path), {}, Kind::kDir}; }
  static Entry symlink(std::string path, std::string target) {
    return {std::move(path), std::move(target), Kind::kSymlink};
  }

  explicit FixtureTree(std::initializer_list<Entry> entries = {}) {
    const char* tmp = ::getenv("TMPDIR");
    std::string tmpl =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/mg-fixture-XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    }
    root_ = tmpl;
    for (const Entry& e : entries) add(e);
  }

  ~FixtureTree() {
    std::error_code ec;
    // A test may have taken permissions away; root gets them back first so
    // remove_all (which never follows symlinks) can empty every directory.
    for (auto it = std::filesystem::recursive_directory_iterator(
             root_, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec) && !it->is_symlink(ec)) {
        std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::add, ec);
      }
    }
    std::filesystem::remove_all(root_, ec);
  }

  FixtureTree(const FixtureTree&) = delete;
  FixtureTree& operator=(const FixtureTree&) = delete;

  const std::string& root() const { return root_; }
  std::string path(std::string_view rel) const { return root_ + "/" + std::string(rel); }

  // Adds (or overwrites) one entry after construction.
  void add(const Entry& e) {
    check_relative(e.path);
    const std::filesystem::path full = path(e.path);
    std::filesystem::create_directories(full.parent_path());
    switch (e.kind) {
      case Kind::kDir:
        std::filesystem::create_directories(full);
        break;
      case Kind::kSymlink: {
        std::error_code ec;
        std::filesystem::remove(full, ec);
        std::filesystem::create_symlink(e.content, full);
        break;
      }
      case Kind::kFile: {
        std::ofstream out(full, std::ios::binary | std::ios::trunc);
        out.write(e.content.data(), static_cast<std::streamsize>(e.content.size()));
        if (!out) throw std::runtime_error("cannot write fixture " + full.string());
        break;
      }
    }
  }
  void write(std::string rel, std::string content) {
    add(file(std::move(rel), std::move(content)));
  }
  void remove(std::string_view rel) {
    check_relative(rel);
    std::filesystem::remove_all(path(rel));
  }

 private:
  static void check_relative(std::string_view rel) {
    if (rel.empty() || rel.front() == '/' || rel.find("..") != std::string_view::npos) {
      throw std::invalid_argument("fixture path must be relative: " + std::string(rel));
    }
  }

  std::string root_;
};

}  // namespace mg::testutil
