// /proc/PID/stat through ProcFs::read_stat: comm may hold any byte, ')' too.
#include "fuzz_tree.h"
#include "procfs/proc_fs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static mg_fuzz::Tree tree;
  static mg::ProcFs procfs = [] {
    tree.mkdir("1");
    return mg::ProcFs(tree.root());
  }();
  tree.write("1/stat", mg_fuzz::as_view(data, size));
  auto st = procfs.read_stat(1);
  if (st) {
    // comm sits between the first '(' and the last ')', so it is shorter than the file.
    MG_FUZZ_CHECK(st->comm.size() + 2 <= size);
    (void)st->is_kernel_thread();
  }
  return 0;
}
