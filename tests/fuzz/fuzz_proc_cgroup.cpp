// /proc/PID/cgroup through ProcFs::read_cgroups, and what CgroupFs makes of
// the memberships: the primary cgroup, its directory and the limit walk over
// a hybrid (v1 memory + v2 unified) tree.
#include "fuzz_tree.h"
#include "procfs/cgroup_fs.h"
#include "procfs/proc_fs.h"

namespace {

struct World {
  mg_fuzz::Tree tree;
  mg::ProcFs procfs;
  mg::CgroupFs cgroupfs;

  World() : procfs(setup(tree)), cgroupfs(tree.path("cg"), tree.path("no-mountinfo")) {}

  static std::string setup(const mg_fuzz::Tree& t) {
    t.mkdir("proc/1");
    t.mkdir("cg/unified/a/b");
    t.write("cg/unified/cgroup.controllers", "memory pids\n");
    t.write("cg/unified/a/memory.max", "max\n");
    t.write("cg/unified/a/b/memory.max", "1048576\n");
    t.mkdir("cg/memory/a/b");
    t.write("cg/memory/a/memory.limit_in_bytes", "9223372036854771712\n");
    t.write("cg/memory/a/b/memory.limit_in_bytes", "2097152\n");
    return t.path("proc");
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  w.tree.write("proc/1/cgroup", mg_fuzz::as_view(data, size));
  auto memberships = w.procfs.read_cgroups(1);
  if (!memberships) {
    MG_FUZZ_CHECK(memberships.error() == mg::ReadError::kParse);
    return 0;
  }
  MG_FUZZ_CHECK(memberships->size() <= size);
  (void)w.cgroupfs.memory_limit(*memberships);
  if (auto ref = w.cgroupfs.primary(*memberships)) {
    // Only a path below the mount may become a directory: "/../x" would leave it.
    MG_FUZZ_CHECK(ref->path.starts_with("/"));
    MG_FUZZ_CHECK(ref->path.find("/..") == std::string::npos);
    const std::string dir = w.cgroupfs.dir_of(*ref);
    MG_FUZZ_CHECK(dir.starts_with(w.cgroupfs.root()));
    (void)w.cgroupfs.memory_limit(*ref);
    (void)w.cgroupfs.can_kill(*ref);
  }
  return 0;
}
