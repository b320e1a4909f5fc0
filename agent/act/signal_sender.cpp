#include "act/signal_sender.h"

namespace mg {

const char* to_string(SendOutcome o) {
  switch (o) {
    case SendOutcome::kSent:
      return "sent";
    case SendOutcome::kGone:
      return "gone";
    case SendOutcome::kReused:
      return "reused";
    case SendOutcome::kRefused:
      return "refused";
    case SendOutcome::kPermission:
      return "permission";
    case SendOutcome::kError:
      return "error";
  }
  return "error";
}

}  // namespace mg
