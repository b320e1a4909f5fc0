#pragma once
// Whose process it is, from its cgroup path alone: the Kubernetes pod's UID,
// the container's ID as kube-state-metrics writes it (so that a join with
// kube_pod_container_info works as is), and the systemd unit. Every layout
// the kubelet, the container runtimes and systemd make:
//   systemd driver:  kubepods.slice/kubepods-burstable.slice/
//                      kubepods-burstable-pod<uid, '_' for '-'>.slice/
//                      cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
//   cgroupfs driver: /kubepods/burstable/pod<uid>/<id>, /kubepods/pod<uid>/<id>
//   outside Kubernetes: docker-<id>.scope, [/parent]/docker/<id>, libpod-<id>.scope
//   systemd:         system.slice/<unit>.service, user.slice/user-1000.slice/
//                      session-3.scope, .../user@1000.service/app.slice/<unit>
// A UID must be a UUID and an ID 64 hex digits, so a unit that merely looks
// like a pod's is not one. Parsed once per distinct path (CgroupIdentities).
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mg {

struct CgroupMembership;

struct CgroupIdentity {
  std::string pod_uid;       // 8-4-4-4-12 hex with '-', as the API writes it
  std::string container_id;  // containerd://<id>, cri-o://<id>, docker://<id>, podman://<id>
  std::string systemd_unit;  // nginx.service, session-3.scope, user@1000.service
  bool empty() const { return pod_uid.empty() && container_id.empty() && systemd_unit.empty(); }
  bool operator==(const CgroupIdentity&) const = default;
};

// How a bare container ID (the kubelet's cgroupfs driver does not say the
// runtime) is written: "containerd", "cri-o" or "docker".
CgroupIdentity parse_cgroup_identity(std::string_view path,
                                     std::string_view bare_runtime = "containerd");

// One identity per distinct cgroup path, shared by every process in it.
class CgroupIdentities {
 public:
  explicit CgroupIdentities(std::string bare_runtime = "containerd")
      : bare_runtime_(std::move(bare_runtime)) {}
  void set_bare_runtime(std::string runtime);
  // From the v2 path when it says something, else the v1 memory controller's,
  // else systemd's v1 hierarchy (a hybrid host's processes often sit in the
  // v2 root while their v1 paths name their pod). nullptr when none does.
  std::shared_ptr<const CgroupIdentity> of(const std::vector<CgroupMembership>& memberships);
  // Forgets the paths no process holds any more.
  void prune();
  std::size_t size() const { return by_path_.size(); }

 private:
  std::shared_ptr<const CgroupIdentity> of_path(const std::string& path);
  std::string bare_runtime_;
  std::unordered_map<std::string, std::shared_ptr<const CgroupIdentity>> by_path_;
};

}  // namespace mg
