#include "util/utf8.h"

#include <gtest/gtest.h>

namespace mg {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, ValidTextIsKept) {
  EXPECT_EQ(to_valid_utf8("gunicorn"), "gunicorn");
  EXPECT_EQ(to_valid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x8D"),
            "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x90\x8D");
}

TEST(Utf8, EveryInvalidSequenceBecomesAReplacement) {
  EXPECT_EQ(to_valid_utf8("\xff\xfe"), kFffd + kFffd);
  // comm is cut at 15 bytes, often inside a character.
  EXPECT_EQ(to_valid_utf8("abc\xE2\x82"), "abc" + kFffd + kFffd);
  EXPECT_EQ(to_valid_utf8("\xC0\xAF"), kFffd + kFffd);                          // overlong '/'
  EXPECT_EQ(to_valid_utf8("\xED\xA0\x80"), kFffd + kFffd + kFffd);              // a surrogate
  EXPECT_EQ(to_valid_utf8("\xF4\x90\x80\x80"), kFffd + kFffd + kFffd + kFffd);  // > U+10FFFF
  EXPECT_EQ(to_valid_utf8(std::string("a\0b", 3)), std::string("a\0b", 3));
}

}  // namespace
}  // namespace mg
