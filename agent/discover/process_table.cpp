#include "discover/process_table.h"

#include <optional>

#include "util/log.h"
#include "util/pid_spread.h"

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
    : proc_(proc), placements_(cgroups) {}

const Process* ProcessTable::find(pid_t pid) const {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

void ProcessTable::suspect(pid_t pid) {
  auto it = processes_.find(pid);
  if (it != processes_.end()) it->second.ino = 0;
}

namespace {

// Where in [ttl/2, ttl) a process's first refresh falls, from its pid, so
// the processes found by one scan (all of them, at start) are not all re-read
// by one later scan.
Duration first_refresh_after(pid_t pid, Duration ttl) {
  return ttl / 2 + spread_by_pid(pid, ttl / 2);
}

}  // namespace

void ProcessTable::scan(TimePoint now, const AttributeNeeds& needs, Duration attribute_ttl,
                        ScanErrors& errors) {
  ++scan_;
  stat_reads_ = 0;
  changes_.clear();
  auto listed = proc_.list_pids(pids_);
  if (!listed) {
    // Not one process vanishing: /proc itself is gone or unreadable, and
    // nothing is guarded until it is back. Counted every scan, said once.
    ++errors.io;
    if (!listing_failed_) {
      listing_failed_ = true;
      log::error("cannot list processes; nothing is guarded until it works again",
                 {{"procfs", proc_.root()}, {"error", to_string(listed.error())}});
    }
    return;
  }
  if (listing_failed_) {
    listing_failed_ = false;
    log::info("listing processes works again", {{"procfs", proc_.root()}});
  }
  const bool inodes_mean_identity = proc_.is_procfs();
  // A young process has its stat re-read at every scan, because an exec that
  // renames it usually follows its fork. Young by its real age where /proc
  // tells it: when the agent starts on a host of old processes, they are not
  // all re-read at every scan for their first attribute_ttl.
  std::optional<std::uint64_t> young_after_ticks;
  uptime_.reset();
  if (auto up = proc_.read_uptime()) {
    uptime_ = *up;
    const double ticks = static_cast<double>(proc_.clock_ticks_per_second());
    const double young = std::chrono::duration<double>(attribute_ttl).count() * ticks;
    const double now_ticks = *up * ticks;
    young_after_ticks =
        now_ticks > young ? static_cast<std::uint64_t>(now_ticks - young) : std::uint64_t{0};
  }
  for (const PidEntry& entry : pids_) {
    const pid_t pid = entry.pid;
    auto found = processes_.find(pid);
    bool read_stat = found == processes_.end() || !inodes_mean_identity;
    if (!read_stat) {
      const Process& known = found->second;
      const bool young = young_after_ticks ? known.id.start_time >= *young_after_ticks
                                           : now - known.first_seen_at < attribute_ttl;
      read_stat = known.ino != entry.ino || now >= known.refresh_due || young;
    }
    if (!read_stat) {
      Process& p = found->second;
      p.seen_in_scan = scan_;
      // Rules may have started to need an attribute since the last read.
      if (!p.stat.is_kernel_thread() &&
          ((needs.cmdline && !p.attrs.cmdline) || (needs.exe && !p.attrs.exe) ||
           (needs.user && !p.attrs.uid) || (needs.cgroups && !p.attrs.cgroups))) {
        refresh_attributes(proc_, placements_, p.id.pid, needs, now, errors, p.attrs);
      }
      continue;
    }
    ++stat_reads_;
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
    if (reused) changes_.gone.push_back({pid, p.stat.ppid, p.stat.comm});
    if ((inserted && scan_ > 1) || reused) changes_.born.push_back({pid, stat->ppid, stat->comm});
    if (inserted || reused) {
      p = Process{};
      p.id = {pid, stat->start_time};
      p.first_seen_scan = scan_;
      p.first_seen_at = now;
      p.refresh_due = now + first_refresh_after(pid, attribute_ttl);
    } else if (p.stat.comm != stat->comm) {
      p.attrs.valid = false;  // an exec: cmdline, exe, maybe uid changed with it
      changes_.renamed.push_back({pid, p.stat.ppid, p.stat.comm});
    }
    p.ino = entry.ino;
    p.stat = std::move(*stat);
    p.seen_in_scan = scan_;
    const bool due = now >= p.refresh_due;
    if (due) p.refresh_due = now + attribute_ttl;
    if (p.stat.is_kernel_thread()) continue;
    if (!p.attrs.valid || due ||
        (!inodes_mean_identity && now - p.attrs.read_at >= attribute_ttl)) {
      refresh_attributes(proc_, placements_, p.id.pid, needs, now, errors, p.attrs);
    } else {
      // Rules may have started to need an attribute since the last read.
      if ((needs.cmdline && !p.attrs.cmdline) || (needs.exe && !p.attrs.exe) ||
          (needs.user && !p.attrs.uid) || (needs.cgroups && !p.attrs.cgroups)) {
        refresh_attributes(proc_, placements_, p.id.pid, needs, now, errors, p.attrs);
      }
    }
  }
  std::erase_if(processes_, [this](const auto& kv) {
    if (kv.second.seen_in_scan == scan_) return false;
    changes_.gone.push_back({kv.first, kv.second.stat.ppid, kv.second.stat.comm});
    return true;
  });
  placements_.prune();
}

void ProcessTable::ensure_cgroups(pid_t pid, ScanErrors& errors) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) return;
  ProcessAttributes& a = it->second.attrs;
  if (a.cgroups || it->second.stat.is_kernel_thread()) return;
  auto text = proc_.read_cgroup_text(pid);
  if (!text) {
    if (text.error() != ReadError::kVanished) errors.count(text.error());
    return;
  }
  a.cgroups = placements_.of(*text);
  if (!a.cgroups) errors.count(ReadError::kParse);
}

ProcessAttributes read_attributes(ProcFs& proc, CgroupPlacements& placements, pid_t pid,
                                  const AttributeNeeds& needs, TimePoint now, ScanErrors& errors) {
  ProcessAttributes a;
  refresh_attributes(proc, placements, pid, needs, now, errors, a);
  return a;
}

void refresh_attributes(ProcFs& proc, CgroupPlacements& placements, pid_t pid,
                        const AttributeNeeds& needs, TimePoint now, ScanErrors& errors,
                        ProcessAttributes& a) {
  a.read_at = now;
  a.valid = true;
  // Strings are read into the ones already there, so a periodic refresh
  // reuses their storage.
  auto read_into = [&](bool needed, std::optional<std::string>& slot, auto read,
                       bool count_vanished) {
    if (!needed) {
      slot.reset();
      return;
    }
    if (!slot) slot.emplace();
    auto ok = read(*slot);
    if (ok) return;
    slot.reset();
    if (count_vanished || ok.error() != ReadError::kVanished) errors.count(ok.error());
  };
  read_into(
      needs.cmdline, a.cmdline, [&](std::string& out) { return proc.read_cmdline(pid, out); },
      true);
  // A user process shows an empty command line only while an exec sets up
  // its new one (comm and exe are already the new program's by then) or once
  // it has exited. Kept as read, the first would hide the new program from
  // every cmdline rule until the next refresh, seconds later: read again at
  // the next stat read, which a young process gets at every scan.
  if (a.cmdline && a.cmdline->empty()) a.valid = false;
  read_into(
      needs.exe, a.exe, [&](std::string& out) { return proc.read_exe(pid, out); }, false);
  a.uid.reset();
  if (needs.user) {
    auto v = proc.read_ids(pid);
    if (v)
      a.uid = v->effective_uid;
    else
      errors.count(v.error());
  }
  a.cgroups.reset();
  if (needs.cgroups) {
    auto text = proc.read_cgroup_text(pid);
    if (!text) {
      errors.count(text.error());
    } else if (!(a.cgroups = placements.of(*text))) {
      errors.count(ReadError::kParse);
    }
  }
}

}  // namespace mg
