// --web.config.file through WebConfig::load (exporter-toolkit format),
// tls_server_config included: its keys, and the certificates and keys it
// names or holds inline, which OpenSSL parses.
#include <cstring>

#include "export/tls_context.h"
#include "export/web_config.h"
#include "fuzz_tree.h"

namespace {

// A self-signed P-256 certificate (valid until 2126) and its key, beside the
// input as server.crt, server.key and ca.crt, so that a config naming them
// gets as far as building the TLS context.
constexpr const char* kCert =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBhjCCASygAwIBAgIUb2g//vfxE97giInqD1XHskKLLSQwCgYIKoZIzj0EAwIw\n"
    "DzENMAsGA1UEAwwEZnV6ejAgFw0yNjEyMDQyMDQzNDhaGA8yMTI2MTExMDIwNDM0\n"
    "OFowDzENMAsGA1UEAwwEZnV6ejBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEjI\n"
    "j8WyZTO6gK8USAg0HIAUNK+pxXICF3ac5jY0OBAI/B811ncBlSxNvk0FlT6Exqsb\n"
    "7qGb+DnhlacELYl32fajZDBiMB0GA1UdDgQWBBQJloJL4c6Kd6IUbauA/OyhrxyF\n"
    "LjAfBgNVHSMEGDAWgBQJloJL4c6Kd6IUbauA/OyhrxyFLjAPBgNVHRMBAf8EBTAD\n"
    "AQH/MA8GA1UdEQQIMAaCBGZ1enowCgYIKoZIzj0EAwIDSAAwRQIgBtbuIr/4BTnB\n"
    "B8JMoruR+M98MPpYufkKcwjd95ZfC0YCIQCm35PmIypwpXyJa5k/30CLkpRbEMTh\n"
    "eTu3km0D8kkkEg==\n"
    "-----END CERTIFICATE-----\n";
constexpr const char* kKey =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgCNFNW7J1eU/NmiVQ\n"
    "1Au6LMD2W0kIDT5Nb5NJ3Espy3qhRANCAARIyI/FsmUzuoCvFEgINByAFDSvqcVy\n"
    "Ahd2nOY2NDgQCPwfNdZ3AZUsTb5NBZU+hMarG+6hm/g54ZWnBC2Jd9n2\n"
    "-----END PRIVATE KEY-----\n";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static mg_fuzz::Tree tree;
  static const std::string path = tree.path("web.yaml");
  static const bool certs = [] {
    tree.write("server.crt", kCert);
    tree.write("ca.crt", kCert);
    tree.write("server.key", kKey);
    return true;
  }();
  (void)certs;
  tree.write("web.yaml", mg_fuzz::as_view(data, size));
  auto loaded = mg::WebConfig::load(path);
  if (auto* config = std::get_if<mg::WebConfig>(&loaded)) {
    // Header values go out verbatim on every response: a line break would
    // let the file inject headers or split the response.
    for (const auto& [name, value] : config->headers()) {
      MG_FUZZ_CHECK(value.find_first_of("\r\n") == std::string::npos);
      MG_FUZZ_CHECK(!name.empty());
    }
    // TLS asked for means TLS built: never a config that quietly serves
    // plain HTTP.
    MG_FUZZ_CHECK(config->tls_config().enabled == (config->tls() != nullptr));
    if (const auto& tls = config->tls()) {
      MG_FUZZ_CHECK(tls->native() != nullptr);
      MG_FUZZ_CHECK(tls->config().min_version <= tls->config().max_version);
    }
  } else {
    const auto& errors = std::get<std::vector<std::string>>(loaded);
    MG_FUZZ_CHECK(!errors.empty());
    for (const std::string& e : errors) MG_FUZZ_CHECK(e.starts_with(path));
  }
  return 0;
}
