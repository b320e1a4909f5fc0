// memoryguard: picks the way in the command line asks for; each lives in
// cli/ and wires the steps of agent/ together (see engine/check_loop.h for
// the data flow). Nothing here decides anything.
#include <malloc.h>

#include "cli/agent_command.h"
#include "cli/flags.h"
#include "cli/pid_command.h"
#include "cli/run_command.h"
#include "util/log.h"

int main(int argc, char** argv) {
  // glibc gives each thread that allocates an arena of its own, up to 8 per
  // core; with 128 HTTP workers that was a third of the agent's resident
  // memory (21 MiB against 15 with two arenas, in the benchmark).
  mallopt(M_ARENA_MAX, 2);
  mg::ParsedFlags parsed = mg::parse_flags(argc, argv);
  if (parsed.exit_code) return *parsed.exit_code;
  const mg::Flags& flags = parsed.flags;
  mg::log::setup(flags.log_level, flags.log_format);
  switch (flags.mode) {
    case mg::Mode::kRun:
      return mg::run_command(flags);
    case mg::Mode::kPid:
      return mg::pid_command(flags);
    case mg::Mode::kAgent:
      break;
  }
  return mg::run_agent(flags);
}
