// /proc/PID/statm through ProcFs::read_rss (resident pages).
#include "fuzz_tree.h"
#include "procfs/proc_fs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static mg_fuzz::Tree tree;
  static mg::ProcFs procfs = [] {
    tree.mkdir("1");
    return mg::ProcFs(tree.root());
  }();
  tree.write("1/statm", mg_fuzz::as_view(data, size));
  (void)procfs.read_rss(1);
  return 0;
}
