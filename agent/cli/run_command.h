#pragma once
// memoryguard run [flags] -- CMD [ARGS...] (SPEC §2a): starts CMD as its
// child and guards it, and its whole tree, with the agent's engine; passes
// signals on to it; reaps every orphan as pid 1 or subreaper; and exits
// with CMD's status (128+N for signal N, 126/127 when it could not start),
// or with --kill-exit-code when memoryguard's own action ended it.
#include "cli/flags.h"

namespace mg {

int run_command(const Flags& flags);

}  // namespace mg
