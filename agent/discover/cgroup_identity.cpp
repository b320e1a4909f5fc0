#include "discover/cgroup_identity.h"

#include <algorithm>

#include "procfs/proc_fs.h"

namespace mg {
namespace {

bool is_hex(std::string_view s, std::size_t n) {
  return s.size() == n && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// A pod UID as the kubelet writes it in a path: '-' (cgroupfs driver) or
// '_' (systemd driver, where '-' separates a slice's parents) between the
// 8-4-4-4-12 hex groups. Returned with '-', as the API writes it.
std::string uuid(std::string_view s) {
  if (s.size() != 36) return {};
  std::string out(s);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash) {
      if (out[i] != '-' && out[i] != '_') return {};
      out[i] = '-';
    } else if (!is_hex(std::string_view(&out[i], 1), 1)) {
      return {};
    }
  }
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A container's own scope (systemd driver, Docker or Podman under systemd),
// as "<runtime>://<id>"; empty for anything else, conmon's scopes included:
// they watch a container but are not it.
std::string container_scope(std::string_view c) {
  static constexpr std::pair<std::string_view, std::string_view> kScopes[] = {
      {"cri-containerd-", "containerd://"},
      {"crio-", "cri-o://"},
      {"docker-", "docker://"},
      {"libpod-", "podman://"},
  };
  if (!ends_with(c, ".scope")) return {};
  c.remove_suffix(6);
  for (const auto& [prefix, scheme] : kScopes) {
    if (starts_with(c, prefix) && is_hex(c.substr(prefix.size()), 64))
      return std::string(scheme) + std::string(c.substr(prefix.size()));
  }
  return {};
}

bool is_unit(std::string_view c) {
  return (ends_with(c, ".service") || ends_with(c, ".scope")) && c.size() > 6;
}

}  // namespace

CgroupIdentity parse_cgroup_identity(std::string_view path, std::string_view bare_runtime) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    if (!part.empty()) parts.push_back(part);
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  CgroupIdentity id;
  bool under_kubepods = false;  // a pod is only ever below the kubelet's own cgroup
  std::size_t pod_at = parts.size();
  std::string unit, enclosing_unit;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string_view c = parts[i];
    if (c == "kubepods" || c == "kubepods.slice" ||
        (starts_with(c, "kubepods-") && ends_with(c, ".slice")))
      under_kubepods = true;
    if (under_kubepods && id.pod_uid.empty()) {
      // cgroupfs driver: pod<uid>; systemd driver: kubepods[-qos]-pod<uid>.slice
      std::string uid;
      if (starts_with(c, "pod")) {
        uid = uuid(c.substr(3));
      } else if (starts_with(c, "kubepods-") && ends_with(c, ".slice")) {
        const std::size_t at = c.rfind("-pod");
        if (at != std::string_view::npos) uid = uuid(c.substr(at + 4, c.size() - 6 - (at + 4)));
      }
      if (!uid.empty()) {
        id.pod_uid = std::move(uid);
        pod_at = i;
        continue;
      }
    }
    if (std::string scoped = container_scope(c); !scoped.empty()) {
      id.container_id = std::move(scoped);
      continue;
    }
    // The cgroupfs drivers name a container by its bare ID, right below its
    // pod (Kubernetes) or below Docker's own cgroup (/docker/<id>, or
    // <cgroup-parent>/docker/<id>).
    const bool below_docker = i > 0 && parts[i - 1] == "docker";
    if (is_hex(c, 64) && (i == pod_at + 1 || below_docker)) {
      id.container_id =
          std::string(below_docker ? "docker" : bare_runtime) + "://" + std::string(c);
      continue;
    }
    if (is_unit(c)) {
      enclosing_unit = unit;
      unit = std::string(c);
    }
  }
  // A unit's own processes may sit in its init.scope (a user manager, a
  // container running systemd): the unit is the one around it.
  if (unit == "init.scope" && !enclosing_unit.empty()) unit = enclosing_unit;
  id.systemd_unit = std::move(unit);
  return id;
}

void CgroupIdentities::set_bare_runtime(std::string runtime) {
  if (runtime == bare_runtime_) return;
  bare_runtime_ = std::move(runtime);
  by_path_.clear();
}

std::shared_ptr<const CgroupIdentity> CgroupIdentities::of_path(const std::string& path) {
  auto [it, inserted] = by_path_.try_emplace(path);
  if (inserted) {
    CgroupIdentity id = parse_cgroup_identity(path, bare_runtime_);
    if (!id.empty()) it->second = std::make_shared<const CgroupIdentity>(std::move(id));
  }
  return it->second;
}

std::shared_ptr<const CgroupIdentity> CgroupIdentities::of(
    const std::vector<CgroupMembership>& memberships) {
  auto find = [&](auto&& pick) -> const CgroupMembership* {
    for (const auto& m : memberships) {
      if (pick(m)) return &m;
    }
    return nullptr;
  };
  const CgroupMembership* candidates[] = {
      find([](const CgroupMembership& m) { return m.hierarchy_id == 0 && m.controllers.empty(); }),
      find([](const CgroupMembership& m) {
        return m.hierarchy_id != 0 &&
               ("," + m.controllers + ",").find(",memory,") != std::string::npos;
      }),
      find([](const CgroupMembership& m) { return m.controllers == "name=systemd"; }),
  };
  for (const CgroupMembership* m : candidates) {
    if (m == nullptr || m->path == "/" || m->path.empty()) continue;
    if (auto id = of_path(m->path)) return id;
  }
  return nullptr;
}

void CgroupIdentities::prune() {
  std::erase_if(by_path_, [](const auto& kv) { return kv.second && kv.second.use_count() == 1; });
  // Paths that said nothing cost a key each: bounded by dropping them all
  // once they outnumber the rest.
  const auto empty =
      std::count_if(by_path_.begin(), by_path_.end(), [](const auto& kv) { return !kv.second; });
  if (empty > 4096) std::erase_if(by_path_, [](const auto& kv) { return !kv.second; });
}

}  // namespace mg
