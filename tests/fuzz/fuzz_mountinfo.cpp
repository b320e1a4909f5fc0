// /proc/self/mountinfo through CgroupFs: where each hierarchy's mount starts,
// and how /proc/PID/cgroup paths are then made relative to it. Inputs say
// /sys/fs/cgroup; the harness points that at its private tree.
#include "fuzz_tree.h"
#include "procfs/cgroup_fs.h"

namespace {

struct World {
  mg_fuzz::Tree tree;
  World() {
    tree.mkdir("cg/unified/a/b");
    tree.write("cg/unified/cgroup.controllers", "memory\n");
    tree.write("cg/unified/a/memory.max", "4096\n");
    tree.mkdir("cg/memory/a");
    tree.write("cg/memory/a/memory.limit_in_bytes", "8192\n");
  }
};

std::string replace_all(std::string_view text, std::string_view from, const std::string& to) {
  std::string out;
  for (std::size_t at = 0;;) {
    const std::size_t hit = text.find(from, at);
    out.append(text.substr(at, hit == text.npos ? text.npos : hit - at));
    if (hit == text.npos) return out;
    out += to;
    at = hit + from.size();
  }
}

void probe(const mg::CgroupFs& fs, bool v2, const std::string& path) {
  const mg::CgroupRef ref{v2, path};
  const std::string local = fs.local_path(ref);
  // A path below the mount stays an absolute path below it.
  if (path.starts_with("/")) MG_FUZZ_CHECK(local.starts_with("/"));
  const std::string dir = fs.dir_of(ref);
  MG_FUZZ_CHECK(dir.empty() || dir.starts_with(fs.root()));
  (void)fs.memory_limit(ref);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  const std::string mountinfo =
      replace_all(mg_fuzz::as_view(data, size), "/sys/fs/cgroup", w.tree.path("cg"));
  w.tree.write("mountinfo", mountinfo);
  const mg::CgroupFs fs(w.tree.path("cg"), w.tree.path("mountinfo"));
  MG_FUZZ_CHECK(fs.layout() == mg::CgroupLayout::kHybrid);
  for (const bool v2 : {true, false}) {
    const std::string mount_root = mg::CgroupFs::mount_root_of(
        w.tree.path("mountinfo"), w.tree.path(v2 ? "cg/unified" : "cg/memory"));
    MG_FUZZ_CHECK(!mount_root.empty());
    for (const std::string& path :
         {std::string("/"), std::string("/a"), std::string("/a/b"), mount_root, mount_root + "/a",
          mount_root + "/", "/x" + mount_root}) {
      probe(fs, v2, path);
    }
  }
  return 0;
}
