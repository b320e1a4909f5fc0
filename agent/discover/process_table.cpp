#include "discover/process_table.h"

namespace mg {

void ScanErrors::count(ReadError e) {
  switch (e) {
    case ReadError::kVanished:
      ++vanished;
      break;
    case ReadError::kPermission:
      ++permission;
      break;
    case ReadError::kParse:
      ++parse;
      break;
    case ReadError::kIo:
      ++io;
      break;
  }
}

ProcessTable::ProcessTable(ProcFs& proc, const CgroupFs& cgroups)
    : proc_(proc), cgroups_(cgroups) {}

const Process* ProcessTable::find(pid_t pid) const {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

void ProcessTable::scan(TimePoint now, const AttributeNeeds& needs, Duration attribute_ttl,
                        ScanErrors& errors) {
  ++scan_;
  auto listed = proc_.list_pids(pids_);
  if (!listed) {
    errors.count(listed.error());
    return;
  }
  for (pid_t pid : pids_) {
    auto stat = proc_.read_stat(pid);
    if (!stat) {
      // A pid listed a moment ago that is gone now is the normal churn of a
      // busy host; only the other failures say something about the agent.
      errors.count(stat.error());
      continue;
    }
    auto [it, inserted] = processes_.try_emplace(pid);
    Process& p = it->second;
    const bool reused = !inserted && p.id.start_time != stat->start_time;
    if (inserted || reused) {
      p = Process{};
      p.id = {pid, stat->start_time};
      p.first_seen_scan = scan_;
    } else if (p.stat.comm != stat->comm) {
      p.attrs.valid = false;  // an exec: cmdline, exe, maybe uid changed with it
    }
    p.stat = std::move(*stat);
    p.seen_in_scan = scan_;
    if (p.stat.is_kernel_thread()) continue;
    if (!p.attrs.valid || now - p.attrs.read_at >= attribute_ttl) {
      p.attrs = read_attributes(proc_, cgroups_, p.id.pid, needs, now, errors);
    } else {
      // Rules may have started to need an attribute since the last read.
      if ((needs.cmdline && !p.attrs.cmdline) || (needs.exe && !p.attrs.exe) ||
          (needs.user && !p.attrs.uid) || (needs.cgroups && !p.attrs.cgroups)) {
        p.attrs = read_attributes(proc_, cgroups_, p.id.pid, needs, now, errors);
      }
    }
  }
  std::erase_if(processes_, [this](const auto& kv) { return kv.second.seen_in_scan != scan_; });
}

ProcessAttributes read_attributes(ProcFs& proc, const CgroupFs& cgroups, pid_t pid,
                                  const AttributeNeeds& needs, TimePoint now, ScanErrors& errors) {
  ProcessAttributes a;
  a.read_at = now;
  a.valid = true;
  if (needs.cmdline) {
    auto v = proc.read_cmdline(pid);
    if (v)
      a.cmdline = std::move(*v);
    else
      errors.count(v.error());
  }
  if (needs.exe) {
    auto v = proc.read_exe(pid);
    if (v)
      a.exe = std::move(*v);
    else if (v.error() != ReadError::kVanished)
      errors.count(v.error());
  }
  if (needs.user) {
    auto v = proc.read_ids(pid);
    if (v)
      a.uid = v->effective_uid;
    else
      errors.count(v.error());
  }
  if (needs.cgroups) {
    auto v = proc.read_cgroups(pid);
    if (v) {
      a.primary_cgroup = cgroups.primary(*v);
      a.cgroups = std::move(*v);
    } else {
      errors.count(v.error());
    }
  }
  return a;
}

}  // namespace mg
