// cgroup.procs through CgroupFs::procs: one pid a line.
#include "fuzz_tree.h"
#include "procfs/cgroup_fs.h"

namespace {

struct World {
  mg_fuzz::Tree tree;
  mg::CgroupFs fs;
  World() : fs(setup(tree), tree.path("no-mountinfo")) {}
  static std::string setup(const mg_fuzz::Tree& t) {
    t.mkdir("cg/a");
    t.write("cg/cgroup.controllers", "memory\n");
    return t.path("cg");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  const std::string input = mg_fuzz::expand(mg_fuzz::as_view(data, size), '\n');
  w.tree.write("cg/a/cgroup.procs", input);
  auto pids = w.fs.procs(mg::CgroupRef{true, "/a"});
  if (!pids) {
    MG_FUZZ_CHECK(pids.error() == mg::ReadError::kParse);
    return 0;
  }
  for (const pid_t pid : *pids) MG_FUZZ_CHECK(pid > 0);
  MG_FUZZ_CHECK(pids->size() <= input.size() / 2 + 1);
  return 0;
}
