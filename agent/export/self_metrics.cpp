#include "export/self_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace mg {
namespace {

struct SelfStat {
  double cpu_seconds = 0;
  double virtual_bytes = 0;
  double resident_bytes = 0;
  double threads = 0;
  double start_ticks = 0;  // since boot
};

bool read_self_stat(SelfStat& out) {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  // comm may hold spaces and parentheses; the fields start after the last ')'.
  const auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream fields(line.substr(close + 1));
  std::vector<std::string> f;
  for (std::string tok; fields >> tok;) f.push_back(tok);
  // f[0] is field 3 (state) of proc(5).
  auto field = [&](int n) { return std::stod(f.at(static_cast<std::size_t>(n - 3))); };
  try {
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    out.cpu_seconds = (field(14) + field(15)) / ticks;
    out.threads = field(20);
    out.start_ticks = field(22);
    out.virtual_bytes = field(23);
    out.resident_bytes = field(24) * page;
  } catch (const std::exception&) {
    return false;
  }
  return true;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  double value = 0;
  while (in >> key) {
    if (key == "btime") {
      in >> value;
      return value;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

double count_open_fds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  double n = 0;
  while (const dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n;
}

prometheus::MetricFamily family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  prometheus::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  prometheus::ClientMetric m;
  if (type == prometheus::MetricType::Counter) {
    m.counter.value = value;
  } else {
    m.gauge.value = value;
  }
  f.metric.push_back(std::move(m));
  return f;
}

}  // namespace

SelfMetrics::SelfMetrics() {
  SelfStat st;
  if (read_self_stat(st)) {
    start_time_seconds_ =
        boot_time_seconds() + st.start_ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
}

std::vector<prometheus::MetricFamily> SelfMetrics::Collect() const {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  SelfStat st;
  if (read_self_stat(st)) {
    out.push_back(family("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", MetricType::Counter,
                         st.cpu_seconds));
    out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::Gauge, st.resident_bytes));
    out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, st.virtual_bytes));
    out.push_back(family("process_threads", "Number of OS threads in the process.",
                         MetricType::Gauge, st.threads));
  }
  if (const double fds = count_open_fds(); fds >= 0) {
    out.push_back(
        family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge, fds));
  }
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    const double max = lim.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(lim.rlim_cur);
    if (max >= 0) {
      out.push_back(family("process_max_fds", "Maximum number of open file descriptors.",
                           MetricType::Gauge, max));
    }
  }
  if (start_time_seconds_ > 0) {
    out.push_back(family("process_start_time_seconds",
                         "Start time of the process since unix epoch in seconds.",
                         MetricType::Gauge, start_time_seconds_));
  }
  return out;
}

}  // namespace mg
