#pragma once
// The matcher keys of SPEC §3 (name, cmdline, exe, user, cgroup, pid_file,
// not) and whose process it is (pod_uid, container_id, systemd_unit), shared by a rule's match:,
// its not: and the entries of protect:. Private to agent/config.
#include <optional>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace mg::config_internal {

std::optional<MatchSpec> read_matcher(Reader& r, const Value& at, bool allow_not);

}  // namespace mg::config_internal
