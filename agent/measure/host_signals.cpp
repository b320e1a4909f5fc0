#include "measure/host_signals.h"

namespace mg {

void HostSignals::new_check() {
  meminfo_read_ = pressure_read_ = false;
  meminfo_.reset();
  pressure_.reset();
}

const std::optional<MemInfo>& HostSignals::meminfo(ScanErrors& errors) {
  if (meminfo_read_) return meminfo_;
  meminfo_read_ = true;
  ++reads_;
  auto info = proc_.read_meminfo();
  if (info)
    meminfo_ = *info;
  else
    errors.count(info.error());
  return meminfo_;
}

const std::optional<Pressure>& HostSignals::pressure(ScanErrors& errors) {
  if (pressure_read_) return pressure_;
  pressure_read_ = true;
  ++reads_;
  auto pressure = proc_.read_memory_pressure();
  if (pressure)
    pressure_ = *pressure;
  else
    errors.count(pressure.error());
  return pressure_;
}

}  // namespace mg
