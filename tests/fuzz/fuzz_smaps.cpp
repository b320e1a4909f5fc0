// /proc/PID/smaps through ProcFs::read_memory on a kernel without
// smaps_rollup: the streaming line reader and the per-mapping sums.
#include "fuzz_tree.h"
#include "procfs/proc_fs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static mg_fuzz::Tree tree;
  static mg::ProcFs procfs = [] {
    tree.mkdir("1");
    return mg::ProcFs(tree.root());
  }();
  const std::string input = mg_fuzz::expand(mg_fuzz::as_view(data, size), 'x');
  tree.write("1/smaps", input);
  auto mem = procfs.read_memory(1);
  MG_FUZZ_CHECK(!procfs.has_smaps_rollup());
  MG_FUZZ_CHECK(mem.ok() || mem.error() == mg::ReadError::kParse);
  // An empty smaps is a process without mappings, not an error.
  if (input.empty()) MG_FUZZ_CHECK(mem.ok() && mem->rss == 0 && mem->pss == 0);
  return 0;
}
