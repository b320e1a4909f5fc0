#include "util/log.h"

#include <gtest/gtest.h>

namespace mg::log {
namespace {

std::string logfmt(std::string_view msg, std::vector<Field> fields) {
  return render(Format::kLogfmt, Level::kInfo, msg, fields);
}
std::string json(std::string_view msg, std::vector<Field> fields) {
  return render(Format::kJson, Level::kWarn, msg, fields);
}

TEST(Log, LogfmtQuotesOnlyWhatNeedsIt) {
  EXPECT_EQ(logfmt("action", {{"rule", "web"}, {"pid", 42}, {"dry_run", false}}),
            "level=info msg=action rule=web pid=42 dry_run=false");
  EXPECT_EQ(logfmt("config reloaded", {{"outcome", "exited after 120ms"}, {"empty", ""}}),
            "level=info msg=\"config reloaded\" outcome=\"exited after 120ms\" empty=\"\"");
  EXPECT_EQ(logfmt("m", {{"k", "a=b"}, {"q", "say \"hi\"\n"}}),
            "level=info msg=m k=\"a=b\" q=\"say \\\"hi\\\"\\n\"");
}

TEST(Log, ANameOfBadBytesStaysOneValidLine) {
  // A process picks its own comm: control bytes and broken UTF-8 included.
  const std::string line = logfmt("action", {{"name", std::string("a\x01\xff b", 5)}});
  EXPECT_EQ(line, "level=info msg=action name=\"a\\x01\xEF\xBF\xBD b\"");
  EXPECT_EQ(line.find('\n'), std::string::npos);
}

TEST(Log, JsonIsEscapedAndValidUtf8) {
  EXPECT_EQ(json("stopping", {{"signal", "SIGTERM"}, {"name", std::string("x\"\\\x02\xc3", 5)}}),
            "\"level\":\"warn\",\"msg\":\"stopping\",\"signal\":\"SIGTERM\","
            "\"name\":\"x\\\"\\\\\\u0002\xEF\xBF\xBD\"");
}

TEST(Log, LevelsAndFormatsParse) {
  Level l;
  Format f;
  EXPECT_TRUE(parse_level("warn", l));
  EXPECT_EQ(l, Level::kWarn);
  EXPECT_FALSE(parse_level("warning", l));
  EXPECT_TRUE(parse_format("json", f));
  EXPECT_EQ(f, Format::kJson);
  EXPECT_FALSE(parse_format("text", f));
}

}  // namespace
}  // namespace mg::log
