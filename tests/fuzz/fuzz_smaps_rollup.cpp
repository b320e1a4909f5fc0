// /proc/PID/smaps_rollup through ProcFs::read_memory, the path every kernel
// since 4.14 takes.
#include "fuzz_tree.h"
#include "procfs/proc_fs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static mg_fuzz::Tree tree;
  static mg::ProcFs procfs = [] {
    tree.mkdir("1");
    return mg::ProcFs(tree.root());
  }();
  const std::string input = mg_fuzz::expand(mg_fuzz::as_view(data, size), 'x');
  tree.write("1/smaps_rollup", input);
  auto mem = procfs.read_memory(1);
  // A rollup never falls back to smaps (there is none here: that would be kVanished).
  MG_FUZZ_CHECK(mem.ok() || mem.error() == mg::ReadError::kParse);
  MG_FUZZ_CHECK(procfs.has_smaps_rollup());
  return 0;
}
