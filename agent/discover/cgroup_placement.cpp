#include "discover/cgroup_placement.h"

namespace mg {

void CgroupPlacements::set_container_runtime(std::string runtime) {
  identities_.set_bare_runtime(std::move(runtime));
  by_text_.clear();
}

std::shared_ptr<const CgroupPlacement> CgroupPlacements::of(std::string_view cgroup_file) {
  if (auto it = by_text_.find(cgroup_file); it != by_text_.end()) return it->second;
  auto memberships = ProcFs::parse_cgroups(cgroup_file);
  if (!memberships) return nullptr;
  auto placement = std::make_shared<CgroupPlacement>();
  placement->primary = cgroups_.primary(*memberships);
  placement->memory = cgroups_.memory_cgroup(*memberships);
  placement->identity = identities_.of(*memberships);
  placement->memberships = std::move(*memberships);
  std::shared_ptr<const CgroupPlacement> shared = std::move(placement);
  by_text_.emplace(std::string(cgroup_file), shared);
  return shared;
}

void CgroupPlacements::prune() {
  std::erase_if(by_text_, [](const auto& kv) { return kv.second.use_count() == 1; });
  identities_.prune();
}

}  // namespace mg
