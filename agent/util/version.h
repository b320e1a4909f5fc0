#pragma once
// What this binary is, for --version and memoryguard_build_info. The values
// come from CMake; a direct compile (tests, tools) says "dev".
#ifndef MEMORYGUARD_VERSION
#define MEMORYGUARD_VERSION "dev"
#endif
#ifndef MEMORYGUARD_REVISION
#define MEMORYGUARD_REVISION "unknown"
#endif

namespace mg {

inline constexpr const char* kVersion = MEMORYGUARD_VERSION;
inline constexpr const char* kRevision = MEMORYGUARD_REVISION;

}  // namespace mg
