// cgroup memory.max (v2) and memory.limit_in_bytes (v1) through
// CgroupFs::memory_limit's walk up the tree.
#include <cstdint>

#include "fuzz_tree.h"
#include "procfs/cgroup_fs.h"

namespace {

struct World {
  mg_fuzz::Tree tree;
  mg::CgroupFs fs;
  World() : fs(setup(tree), tree.path("no-mountinfo")) {}
  static std::string setup(const mg_fuzz::Tree& t) {
    t.mkdir("cg/unified/a");
    t.write("cg/unified/cgroup.controllers", "memory\n");
    t.mkdir("cg/memory/a");
    return t.path("cg");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  const std::string_view input = mg_fuzz::as_view(data, size);
  w.tree.write("cg/unified/a/memory.max", input);
  w.tree.write("cg/memory/a/memory.limit_in_bytes", input);
  const auto v2 = w.fs.memory_limit(mg::CgroupRef{true, "/a"});
  const auto v1 = w.fs.memory_limit(mg::CgroupRef{false, "/a"});
  // Both files hold the same text; v1 only adds its "unlimited" sentinel.
  if (v1) MG_FUZZ_CHECK(v2 && *v1 == *v2 && *v1 < (std::uint64_t{1} << 62));
  if (v2) {
    // Only a number is a limit: "max", garbage and "" limit nothing. The
    // files are a few bytes, so only the first 64 are read.
    std::string_view head = input.substr(0, 64);
    const std::size_t first = head.find_first_not_of(" \t\n");
    const std::size_t last = head.find_last_not_of(" \t\n");
    MG_FUZZ_CHECK(first != head.npos);
    head = head.substr(first, last - first + 1);
    MG_FUZZ_CHECK(head.find_first_not_of("0123456789") == head.npos);
  }
  return 0;
}
