#pragma once
// A value or the reason there is none. Reading /proc fails all the time for
// ordinary reasons (a process exits mid-read, another user's file is
// unreadable), so those failures are values the caller counts, not exceptions.
#include <string_view>
#include <utility>
#include <variant>

namespace mg {

enum class ReadError {
  kVanished,    // ENOENT/ESRCH: the process exited; normal, not worth a log line
  kPermission,  // EACCES/EPERM: needs CAP_SYS_PTRACE or the same uid
  kParse,       // the file did not have the expected shape
  kIo,          // anything else the kernel said
};

std::string_view to_string(ReadError e);
ReadError read_error_from_errno(int err);

template <typename T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}  // NOLINT: implicit on purpose
  Expected(ReadError error) : v_(error) {}     // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  ReadError error() const { return std::get<1>(v_); }

 private:
  std::variant<T, ReadError> v_;
};

}  // namespace mg
