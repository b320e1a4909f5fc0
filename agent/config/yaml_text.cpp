#include "config/yaml_text.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdio>
#include <sstream>
#include <vector>

#include "config/yaml_reader.h"

namespace mg::config_internal {

// Where the bytes stop being text YAML can hold: a NUL byte or an invalid
// UTF-8 sequence. yaml-cpp accepts both silently (or with a baffling
// message), and a rule name with invalid UTF-8 would break every scrape.
std::optional<BadByte> first_bad_byte(std::string_view text) {
  int line = 1;
  std::size_t line_start = 0;
  std::size_t i = 0;
  auto at = [&](std::size_t pos, std::string reason) {
    return BadByte{Mark{line, static_cast<int>(pos - line_start) + 1}, std::move(reason)};
  };
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (c == 0) return at(i, "a NUL byte: the file is not text");
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    std::uint32_t cp = len ? (c & (0x7F >> len)) : 0;
    bool valid = len != 0 && i + len <= text.size();
    for (std::size_t k = 1; valid && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      valid = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
    if (!valid || cp < kLeast[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      return at(i, std::string("invalid UTF-8 (byte ") + hex + "): a config file must be UTF-8");
    }
    i += len;
  }
  return std::nullopt;
}

namespace {

// Where a second YAML document starts, if there is one. yaml-cpp 0.7's
// LoadAll() never returns on some inputs (a lone ',': jbeder/yaml-cpp#1040,
// found by tests/fuzz): its parser hands out empty documents without moving
// on. So documents are counted here, and a parser that stops moving is an
// error, not a second document.
class DocumentStarts : public YAML::EventHandler {
 public:
  std::vector<YAML::Mark> starts;
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

std::optional<Mark> second_document_start(const std::string& yaml) {
  std::istringstream in(yaml);
  YAML::Parser parser(in);
  DocumentStarts documents;
  while (documents.starts.size() < 2 && parser.HandleNextDocument(documents)) {
  }
  if (documents.starts.size() < 2) return std::nullopt;
  const YAML::Mark& first = documents.starts[0];
  const YAML::Mark& second = documents.starts[1];
  if (second.pos == first.pos) {
    throw YAML::ParserException(first, "cannot be parsed: the YAML parser makes no progress here");
  }
  return mark_of(second);
}

}  // namespace mg::config_internal
