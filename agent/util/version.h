#pragma once
// What this binary is, for --version and memoryguard_build_info. The values
// are compiled into version.cpp alone: the revision changes with every
// commit, and as a definition on every file it would make ccache rebuild the
// whole tree each time.

namespace mg {

extern const char* const kVersion;
extern const char* const kRevision;

}  // namespace mg
