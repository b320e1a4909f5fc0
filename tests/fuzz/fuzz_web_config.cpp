// --web.config.file through WebConfig::load (exporter-toolkit format).
#include "export/web_config.h"
#include "fuzz_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static mg_fuzz::Tree tree;
  static const std::string path = tree.path("web.yaml");
  tree.write("web.yaml", mg_fuzz::as_view(data, size));
  auto loaded = mg::WebConfig::load(path);
  if (auto* config = std::get_if<mg::WebConfig>(&loaded)) {
    // Header values go out verbatim on every response: a line break would
    // let the file inject headers or split the response.
    for (const auto& [name, value] : config->headers()) {
      MG_FUZZ_CHECK(value.find_first_of("\r\n") == std::string::npos);
      MG_FUZZ_CHECK(!name.empty());
    }
  } else {
    const auto& errors = std::get<std::vector<std::string>>(loaded);
    MG_FUZZ_CHECK(!errors.empty());
    for (const std::string& e : errors) MG_FUZZ_CHECK(e.starts_with(path));
  }
  return 0;
}
