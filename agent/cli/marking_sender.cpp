#include "cli/marking_sender.h"

namespace mg {

void MarkingSender::watch(const ProcessIdentity& id) {
  std::lock_guard lock(mu_);
  watched_ = id;
}

std::optional<int> MarkingSender::signalled_with() const {
  std::lock_guard lock(mu_);
  return signal_;
}

SendOutcome MarkingSender::send(const ProcessIdentity& id, int signal) {
  const SendOutcome outcome = inner_.send(id, signal);
  if (outcome == SendOutcome::kSent) {
    std::lock_guard lock(mu_);
    if (watched_ && *watched_ == id) signal_ = signal;
  }
  return outcome;
}

}  // namespace mg
