#pragma once
#include <string>
#include <string_view>

namespace mg {

// A process chooses the bytes of its own name, and comm is cut at 15 bytes,
// often mid-character. Label values and JSON logs must be valid UTF-8, so
// every invalid sequence becomes U+FFFD.
std::string to_valid_utf8(std::string_view bytes);

}  // namespace mg
