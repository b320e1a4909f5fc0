#pragma once
// The config `run` and `--pid` guard with when given --limit: one rule whose
// match is everything, the tree filter of the check loop (match/tree_filter.h)
// then narrowing it to the guarded tree. Built as plain structs, as the
// loader would build them, so the engine cannot tell the difference.
#include <string>

#include "cli/guard_flags.h"
#include "config/config.h"

namespace mg {

// `rule_name` names the rule in logs and metric labels.
Config guard_config(const GuardFlags& flags, const std::string& rule_name, bool dry_run);

// A rule name from what the guarded process is called: CMD's basename or the
// process's comm; "run" when that says nothing.
std::string guard_rule_name(const std::string& program);

}  // namespace mg
