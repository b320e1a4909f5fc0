#pragma once
// What the check loop last saw, handed to the exporter as one immutable value
// so a scrape never touches /proc and never waits on a scan.
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mg {

struct ProcessSample {
  pid_t pid = 0;
  std::string name;  // comm as read; the exporter makes it valid UTF-8
  std::uint64_t pss = 0;
  std::uint64_t uss = 0;
  std::uint64_t rss = 0;
  bool has_detail = true;  // pss/uss were read; when false only rss is known
};

struct CgroupSample {
  std::string path;
  std::uint64_t bytes = 0;  // sum of the rule's measure over its processes in that cgroup
};

struct RuleSample {
  std::string rule;
  std::uint64_t pss_bytes = 0;    // sum of PSS over the rule's processes
  std::uint64_t limit_bytes = 0;  // the limit now (a % limit resolves per cgroup; the least)
  std::uint64_t processes = 0;
  std::vector<ProcessSample> top;     // largest first, at most top-N
  std::vector<CgroupSample> cgroups;  // only for scope: cgroup
};

struct Snapshot {
  std::vector<RuleSample> rules;
};

}  // namespace mg
