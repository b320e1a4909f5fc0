// /proc/PID/status through ProcFs::read_ids (the Uid: line).
#include "fuzz_tree.h"
#include "procfs/proc_fs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static mg_fuzz::Tree tree;
  static mg::ProcFs procfs = [] {
    tree.mkdir("1");
    return mg::ProcFs(tree.root());
  }();
  const std::string_view input = mg_fuzz::as_view(data, size);
  tree.write("1/status", input);
  auto ids = procfs.read_ids(1);
  // Ids come only from a line that starts with "Uid:".
  if (ids) MG_FUZZ_CHECK(input.starts_with("Uid:") || input.find("\nUid:") != input.npos);
  return 0;
}
