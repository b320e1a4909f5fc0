#pragma once
// What --check-config and --once print: for an operator's first look, so
// plain aligned text, not logs.
#include <ostream>

#include "config/config.h"
#include "engine/check_loop.h"

namespace mg {

// `now`: each rule's conditions as they are (CheckLoop::conditions_now).
void print_config_summary(std::ostream& out, const Config& config,
                          const std::vector<ConditionRow>& now = {});
void print_check_table(std::ostream& out, const CheckReport& report);

}  // namespace mg
