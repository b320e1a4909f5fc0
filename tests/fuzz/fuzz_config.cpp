// The YAML config through load_config_string: every rule, key and value form
// the loader knows, and its error reporting.
#include "config/config_loader.h"
#include "fuzz_tree.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string yaml(reinterpret_cast<const char*>(data), size);
  const mg::ConfigLoadResult result = mg::load_config_string(yaml, "fuzz.yaml");
  // Either a config or the reasons there is none, never both, never neither.
  MG_FUZZ_CHECK(result.config.has_value() == result.errors.empty());
  for (const mg::ConfigError& e : result.errors) {
    MG_FUZZ_CHECK(!e.reason.empty());
    MG_FUZZ_CHECK(e.to_string().starts_with("fuzz.yaml"));
    MG_FUZZ_CHECK(e.mark.line >= 0 && e.mark.column >= 0);
  }
  MG_FUZZ_CHECK(result.content_hash == mg::config_content_hash(yaml));
  return 0;
}
