#pragma once
// The exit codes of every way in (SPEC §2, §2a).
namespace mg {

constexpr int kExitOk = 0;
constexpr int kExitRuntime = 1;  // e.g. the port is taken
constexpr int kExitUsage = 2;    // bad flags, a bad config, a --pid that does not exist
// run: CMD found but not executable, and not found, as shells and timeout(1).
constexpr int kExitCannotExecute = 126;
constexpr int kExitNotFound = 127;

}  // namespace mg
