// /proc/PID/cmdline through ProcFs::read_cmdline: NUL-separated argv.
#include "fuzz_tree.h"
#include "procfs/proc_fs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static mg_fuzz::Tree tree;
  static mg::ProcFs procfs = [] {
    tree.mkdir("1");
    return mg::ProcFs(tree.root());
  }();
  const std::string input = mg_fuzz::expand(mg_fuzz::as_view(data, size), 'a');
  tree.write("1/cmdline", input);
  auto cmdline = procfs.read_cmdline(1);
  MG_FUZZ_CHECK(cmdline.ok());  // any bytes are a valid argv
  // Regexes see text, never NULs; the read is capped, never grows with argv.
  MG_FUZZ_CHECK(cmdline->find('\0') == std::string::npos);
  MG_FUZZ_CHECK(cmdline->size() <= input.size() && cmdline->size() <= 64 * 1024);
  return 0;
}
