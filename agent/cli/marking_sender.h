#pragma once
// The kill marker of `run` and `--pid`: the engine's signals all leave
// through one SignalSender, so wrapping it tells, without a word to the
// engine, whether memoryguard's own action signalled the guarded process.
// Forwarded signals do not pass here: they are the caller's, not ours.
#include <mutex>
#include <optional>

#include "act/signal_sender.h"

namespace mg {

class MarkingSender final : public SignalSender {
 public:
  explicit MarkingSender(SignalSender& inner) : inner_(inner) {}
  void watch(const ProcessIdentity& id);
  // The last signal an action sent to the watched process, if any.
  std::optional<int> signalled_with() const;

  SendOutcome send(const ProcessIdentity& id, int signal) override;
  std::optional<Duration> wait_exit(const ProcessIdentity& id, Duration timeout) override {
    return inner_.wait_exit(id, timeout);
  }

 private:
  SignalSender& inner_;
  mutable std::mutex mu_;
  std::optional<ProcessIdentity> watched_;
  std::optional<int> signal_;
};

}  // namespace mg
