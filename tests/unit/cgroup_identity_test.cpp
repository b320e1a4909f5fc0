// Whose process a cgroup path says it is, for every layout of the kubelet,
// the container runtimes and systemd, and the paths that only look alike.
#include "discover/cgroup_identity.h"

#include <gtest/gtest.h>

#include "procfs/proc_fs.h"

namespace mg {
namespace {

const std::string kId = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kUid = "8f1e3c7a-1b2c-4d5e-9f00-aabbccddeeff";
const std::string kUidUnderscores = "8f1e3c7a_1b2c_4d5e_9f00_aabbccddeeff";

CgroupIdentity id(const std::string& path, const std::string& runtime = "containerd") {
  return parse_cgroup_identity(path, runtime);
}

TEST(CgroupIdentity, KubeletSystemdDriver) {
  const auto a = id("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" +
                    kUidUnderscores + ".slice/cri-containerd-" + kId + ".scope");
  EXPECT_EQ(a.pod_uid, kUid) << "underscores become the API's dashes";
  EXPECT_EQ(a.container_id, "containerd://" + kId);
  EXPECT_EQ(a.systemd_unit, "") << "a container's scope is its container, not a unit to name";

  const auto crio = id("/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" +
                       kUidUnderscores + ".slice/crio-" + kId + ".scope");
  EXPECT_EQ(crio.container_id, "cri-o://" + kId);
  EXPECT_EQ(crio.pod_uid, kUid);
  const auto docker =
      id("/kubepods.slice/kubepods-pod" + kUidUnderscores + ".slice/docker-" + kId + ".scope");
  EXPECT_EQ(docker.pod_uid, kUid) << "a guaranteed pod sits right under kubepods.slice";
  EXPECT_EQ(docker.container_id, "docker://" + kId);
}

TEST(CgroupIdentity, KubeletCgroupfsDriver) {
  const auto a = id("/kubepods/burstable/pod" + kUid + "/" + kId);
  EXPECT_EQ(a.pod_uid, kUid);
  EXPECT_EQ(a.container_id, "containerd://" + kId) << "the runtime the operator configured";
  EXPECT_EQ(id("/kubepods/pod" + kUid + "/" + kId, "cri-o").container_id, "cri-o://" + kId)
      << "a guaranteed pod, with another runtime";
  const auto pod_only = id("/kubepods/besteffort/pod" + kUid);
  EXPECT_EQ(pod_only.pod_uid, kUid);
  EXPECT_EQ(pod_only.container_id, "") << "the pod's own cgroup is no container";
}

TEST(CgroupIdentity, ContainersOutsideKubernetes) {
  EXPECT_EQ(id("/system.slice/docker-" + kId + ".scope").container_id, "docker://" + kId);
  EXPECT_EQ(id("/system.slice/docker-" + kId + ".scope").systemd_unit, "");
  EXPECT_EQ(id("/docker/" + kId).container_id, "docker://" + kId) << "whatever the runtime setting";
  EXPECT_EQ(id("/ci-runners/docker/" + kId).container_id, "docker://" + kId)
      << "below a --cgroup-parent";
  EXPECT_EQ(id("/machine.slice/libpod-" + kId + ".scope").container_id, "podman://" + kId);
  const auto conmon = id("/machine.slice/libpod-conmon-" + kId + ".scope");
  EXPECT_EQ(conmon.container_id, "") << "conmon watches a container, it is not one";
  EXPECT_EQ(conmon.systemd_unit, "libpod-conmon-" + kId + ".scope");
}

TEST(CgroupIdentity, AContainersInitScopeAndSystemdInside) {
  // A container running systemd: its processes sit in units below the
  // container's scope, whose ID still names the container.
  const auto inner = id("/system.slice/docker-" + kId + ".scope/system.slice/nginx.service");
  EXPECT_EQ(inner.container_id, "docker://" + kId);
  EXPECT_EQ(inner.systemd_unit, "nginx.service");
  const auto init = id("/kubepods.slice/kubepods-pod" + kUidUnderscores + ".slice/cri-containerd-" +
                       kId + ".scope/init.scope");
  EXPECT_EQ(init.container_id, "containerd://" + kId);
  EXPECT_EQ(init.pod_uid, kUid);
  EXPECT_EQ(init.systemd_unit, "init.scope") << "no unit around it but the container's";
}

TEST(CgroupIdentity, SystemdUnitsSessionsAndUserServices) {
  EXPECT_EQ(id("/system.slice/php8.2-fpm.service").systemd_unit, "php8.2-fpm.service");
  EXPECT_EQ(id("/system.slice/system-getty.slice/getty@tty1.service").systemd_unit,
            "getty@tty1.service")
      << "nested slices";
  EXPECT_EQ(id("/user.slice/user-1000.slice/session-3.scope").systemd_unit, "session-3.scope");
  EXPECT_EQ(id("/user.slice/user-1000.slice/user@1000.service/app.slice/gnome-terminal.service")
                .systemd_unit,
            "gnome-terminal.service");
  EXPECT_EQ(id("/user.slice/user-1000.slice/user@1000.service/init.scope").systemd_unit,
            "user@1000.service")
      << "the user manager itself";
  EXPECT_EQ(id("/init.scope").systemd_unit, "init.scope") << "pid 1 of systemd";
}

TEST(CgroupIdentity, ThingsThatOnlyLookLikePodsOrContainers) {
  EXPECT_TRUE(id("/system.slice/podman.service").pod_uid.empty());
  EXPECT_TRUE(id("/pods/pod" + kUid).pod_uid.empty()) << "a pod only below the kubelet's cgroup";
  EXPECT_TRUE(id("/kubepods/burstable/podnot-a-uuid-at-all-00000000000000").pod_uid.empty());
  EXPECT_TRUE(id("/kubepods/burstable/pod" + kUid.substr(0, 35) + "g").pod_uid.empty());
  EXPECT_TRUE(id("/system.slice/docker-" + kId.substr(1) + ".scope").container_id.empty())
      << "63 hex digits";
  EXPECT_TRUE(id("/system.slice/docker-" + kId + "0.scope").container_id.empty());
  EXPECT_TRUE(id("/" + kId).container_id.empty()) << "a bare ID needs its pod or /docker above";
  EXPECT_TRUE(id("/").empty());
  EXPECT_TRUE(id("").empty());
  EXPECT_TRUE(id("/user.slice").empty()) << "a slice is no unit of its own processes";
  const auto upper = id("/system.slice/docker-" + std::string(64, 'A') + ".scope");
  EXPECT_TRUE(upper.container_id.empty()) << "IDs are lower-case hex";
}

TEST(CgroupIdentities, OnePerPathFromTheMostTellingHierarchy) {
  CgroupIdentities ids;
  const std::string pod = "/kubepods/burstable/pod" + kUid + "/" + kId;
  // A hybrid host: the v2 path is the root, the v1 memory path names the pod.
  const std::vector<CgroupMembership> hybrid{
      {9, "name=systemd", "/system.slice/containerd.service"}, {4, "memory", pod}, {0, "", "/"}};
  auto a = ids.of(hybrid);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->pod_uid, kUid);
  auto b = ids.of(hybrid);
  EXPECT_EQ(a.get(), b.get()) << "parsed once, shared";
  // v2 when it says something.
  const std::vector<CgroupMembership> unified{{0, "", "/system.slice/nginx.service"}};
  auto nginx = ids.of(unified);
  EXPECT_EQ(nginx->systemd_unit, "nginx.service");
  // Only systemd's v1 hierarchy says anything.
  const std::vector<CgroupMembership> legacy{{9, "name=systemd", "/system.slice/cron.service"},
                                             {4, "memory", "/"}};
  EXPECT_EQ(ids.of(legacy)->systemd_unit, "cron.service");
  EXPECT_EQ(ids.of({{0, "", "/"}}), nullptr);

  a.reset();
  b.reset();
  ids.prune();
  EXPECT_EQ(ids.size(), 1u) << "what no process holds is forgotten; nginx's is held";
  ids.set_bare_runtime("cri-o");
  EXPECT_EQ(ids.of(hybrid)->container_id, "cri-o://" + kId);
}

}  // namespace
}  // namespace mg
