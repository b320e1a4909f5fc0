#include "util/version.h"

#ifndef MEMORYGUARD_VERSION
#define MEMORYGUARD_VERSION "dev"
#endif
#ifndef MEMORYGUARD_REVISION
#define MEMORYGUARD_REVISION "unknown"
#endif

namespace mg {

const char* const kVersion = MEMORYGUARD_VERSION;
const char* const kRevision = MEMORYGUARD_REVISION;

}  // namespace mg
