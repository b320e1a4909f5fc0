#include "util/expected.h"

#include <cerrno>

namespace mg {

std::string_view to_string(ReadError e) {
  switch (e) {
    case ReadError::kVanished:
      return "vanished";
    case ReadError::kPermission:
      return "permission";
    case ReadError::kParse:
      return "parse";
    case ReadError::kIo:
      return "io";
  }
  return "io";
}

ReadError read_error_from_errno(int err) {
  switch (err) {
    case ENOENT:
    case ESRCH:
      return ReadError::kVanished;
    case EACCES:
    case EPERM:
      return ReadError::kPermission;
    default:
      return ReadError::kIo;
  }
}

}  // namespace mg
