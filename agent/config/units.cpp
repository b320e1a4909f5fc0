#include "config/units.h"

#include <csignal>
#include <cstdio>
#include <limits>
#include <utility>

namespace mg {
namespace {

// Case-insensitive ASCII compare; signal names are written every which way.
bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
    if (y >= 'a' && y <= 'z') y = static_cast<char>(y - 'a' + 'A');
    if (x != y) return false;
  }
  return true;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Reads a decimal number with an optional fraction ("12", "1.5", ".5") as an
// integer mantissa and the count of fraction digits, so that unit scaling
// stays exact (1.5GB is 1500000000, not 1499999999.9998).
struct Decimal {
  unsigned __int128 mantissa = 0;
  int fraction_digits = 0;
};

std::optional<Decimal> read_decimal(std::string_view& text) {
  Decimal d;
  bool any_digit = false;
  bool dot = false;
  std::size_t i = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (is_digit(c)) {
      any_digit = true;
      // Digits past what any sane value needs would only overflow.
      if (d.mantissa > (std::numeric_limits<std::uint64_t>::max() / 10)) return std::nullopt;
      d.mantissa = d.mantissa * 10 + static_cast<unsigned>(c - '0');
      if (dot) ++d.fraction_digits;
      // No unit needs more than 18 decimals, and 10^n would wrap past 38
      // (a division by zero at 128: found by tests/fuzz).
      if (d.fraction_digits > 18) return std::nullopt;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      break;
    }
  }
  if (!any_digit) return std::nullopt;
  if (dot && i > 0 && text[i - 1] == '.') return std::nullopt;  // "1." is a typo, not a number
  text.remove_prefix(i);
  return d;
}

unsigned __int128 pow10(int n) {
  unsigned __int128 p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

struct SizeUnit {
  std::string_view suffix;
  std::uint64_t multiplier;
};

// K, M, G and T alone are deliberately absent: Kubernetes reads them as
// powers of 1000 and docker as powers of 1024, and a memory limit is the
// wrong place to guess which one the operator meant.
constexpr std::uint64_t kKi = 1024;
constexpr SizeUnit kSizeUnits[] = {
    {"", 1},
    {"B", 1},
    {"Ki", kKi},
    {"Mi", kKi* kKi},
    {"Gi", kKi* kKi* kKi},
    {"Ti", kKi* kKi* kKi* kKi},
    {"KiB", kKi},
    {"MiB", kKi* kKi},
    {"GiB", kKi* kKi* kKi},
    {"TiB", kKi* kKi* kKi* kKi},
    {"KB", 1000},
    {"kB", 1000},
    {"MB", 1000 * 1000},
    {"GB", 1000 * 1000 * 1000},
    {"TB", 1000ull * 1000 * 1000 * 1000},
};

struct DurationUnit {
  std::string_view suffix;
  std::int64_t nanos;
};

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr DurationUnit kDurationUnits[] = {
    {"ns", 1},
    {"us", 1000},
    {"\xC2\xB5s", 1000},  // µs (micro sign), as Go accepts it
    {"\xCE\xBCs", 1000},  // μs (Greek mu)
    {"ms", 1000 * 1000},
    {"s", kSecond},
    {"m", 60 * kSecond},
    {"h", 3600 * kSecond},
    {"d", 24 * 3600 * kSecond},
    {"w", 7 * 24 * 3600 * kSecond},
    {"y", 365 * 24 * 3600 * kSecond},
};

struct SignalEntry {
  int number;
  std::string_view name;  // without the SIG prefix
};

// The first entry for a number is its canonical name; the rest are aliases.
const SignalEntry kSignals[] = {
    {SIGHUP, "HUP"},   {SIGINT, "INT"},       {SIGQUIT, "QUIT"}, {SIGILL, "ILL"},
    {SIGTRAP, "TRAP"}, {SIGABRT, "ABRT"},     {SIGBUS, "BUS"},   {SIGFPE, "FPE"},
    {SIGKILL, "KILL"}, {SIGUSR1, "USR1"},     {SIGSEGV, "SEGV"}, {SIGUSR2, "USR2"},
    {SIGPIPE, "PIPE"}, {SIGALRM, "ALRM"},     {SIGTERM, "TERM"}, {SIGSTKFLT, "STKFLT"},
    {SIGCHLD, "CHLD"}, {SIGCONT, "CONT"},     {SIGSTOP, "STOP"}, {SIGTSTP, "TSTP"},
    {SIGTTIN, "TTIN"}, {SIGTTOU, "TTOU"},     {SIGURG, "URG"},   {SIGXCPU, "XCPU"},
    {SIGXFSZ, "XFSZ"}, {SIGVTALRM, "VTALRM"}, {SIGPROF, "PROF"}, {SIGWINCH, "WINCH"},
    {SIGIO, "IO"},     {SIGPWR, "PWR"},       {SIGSYS, "SYS"},   {SIGABRT, "IOT"},
    {SIGIO, "POLL"},   {SIGCHLD, "CLD"},
};

std::optional<int> parse_small_int(std::string_view text) {
  if (text.empty() || text.size() > 3) return std::nullopt;
  int v = 0;
  for (char c : text) {
    if (!is_digit(c)) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// RTMIN, RTMIN+3, RTMAX, RTMAX-2, as kill(1) and bash spell them.
std::optional<int> parse_realtime(std::string_view name) {
  if (name.size() < 5) return std::nullopt;
  std::string_view base = name.substr(0, 5);
  std::string_view rest = name.substr(5);
  int sig;
  int sign;
  if (iequals(base, "RTMIN")) {
    sig = SIGRTMIN;
    sign = 1;
  } else if (iequals(base, "RTMAX")) {
    sig = SIGRTMAX;
    sign = -1;
  } else {
    return std::nullopt;
  }
  if (!rest.empty()) {
    if (rest[0] != (sign > 0 ? '+' : '-')) return std::nullopt;
    auto off = parse_small_int(rest.substr(1));
    if (!off) return std::nullopt;
    sig += sign * *off;
  }
  if (sig < SIGRTMIN || sig > SIGRTMAX) return std::nullopt;
  return sig;
}

std::string trim_fraction(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", value);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::optional<std::uint64_t> parse_size(std::string_view text) {
  std::string_view rest = text;
  auto number = read_decimal(rest);
  if (!number) return std::nullopt;
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  for (const auto& unit : kSizeUnits) {
    if (rest != unit.suffix) continue;
    // A fraction of a byte makes no sense; a fraction of a unit does (1.5Gi).
    if (unit.multiplier == 1 && number->fraction_digits > 0) return std::nullopt;
    unsigned __int128 bytes = number->mantissa * unit.multiplier / pow10(number->fraction_digits);
    if (bytes > std::numeric_limits<std::uint64_t>::max()) return std::nullopt;
    return static_cast<std::uint64_t>(bytes);
  }
  return std::nullopt;
}

std::optional<double> parse_percent(std::string_view text) {
  if (text.empty() || text.back() != '%') return std::nullopt;
  std::string_view rest = text.substr(0, text.size() - 1);
  while (!rest.empty() && rest.back() == ' ') rest.remove_suffix(1);
  auto number = read_decimal(rest);
  if (!number || !rest.empty()) return std::nullopt;
  double value =
      static_cast<double>(number->mantissa) / static_cast<double>(pow10(number->fraction_digits));
  if (!(value > 0 && value <= 100)) return std::nullopt;
  return value;
}

std::optional<Duration> parse_duration(std::string_view text) {
  if (text == "0") return Duration{0};
  if (text.empty()) return std::nullopt;
  unsigned __int128 total = 0;
  const auto max = static_cast<unsigned __int128>(std::numeric_limits<Duration::rep>::max());
  std::string_view rest = text;
  while (!rest.empty()) {
    auto number = read_decimal(rest);
    if (!number) return std::nullopt;
    std::size_t unit_len = 0;
    while (unit_len < rest.size() && !is_digit(rest[unit_len]) && rest[unit_len] != '.') {
      ++unit_len;
    }
    std::string_view suffix = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    const DurationUnit* unit = nullptr;
    for (const auto& u : kDurationUnits) {
      if (u.suffix == suffix) unit = &u;
    }
    if (unit == nullptr) return std::nullopt;
    if (number->mantissa > max) return std::nullopt;
    total += number->mantissa * static_cast<unsigned __int128>(unit->nanos) /
             pow10(number->fraction_digits);
    if (total > max) return std::nullopt;
  }
  return Duration{static_cast<Duration::rep>(total)};
}

std::optional<int> parse_signal(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (is_digit(text[0])) {
    auto n = parse_small_int(text);
    // 0 only probes whether a process exists; it is not an action.
    if (!n || *n < 1 || *n > SIGRTMAX) return std::nullopt;
    return n;
  }
  std::string_view name = text;
  if (name.size() > 3 && iequals(name.substr(0, 3), "SIG")) name.remove_prefix(3);
  for (const auto& entry : kSignals) {
    if (iequals(name, entry.name)) return entry.number;
  }
  return parse_realtime(name);
}

std::string signal_name(int signal) {
  for (const auto& entry : kSignals) {
    if (entry.number == signal) return "SIG" + std::string(entry.name);
  }
  if (signal >= SIGRTMIN && signal <= SIGRTMAX) {
    // The same split as `kill -l`: the lower half counts up from RTMIN, the
    // upper half down from RTMAX.
    int from_min = signal - SIGRTMIN;
    int from_max = SIGRTMAX - signal;
    if (from_min == 0) return "SIGRTMIN";
    if (from_max == 0) return "SIGRTMAX";
    if (from_min <= (SIGRTMAX - SIGRTMIN) / 2) return "SIGRTMIN+" + std::to_string(from_min);
    return "SIGRTMAX-" + std::to_string(from_max);
  }
  return std::to_string(signal);
}

std::string format_bytes(std::uint64_t bytes) {
  static constexpr std::string_view kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + "B";
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  value /= 1024;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return trim_fraction(value) + std::string(kUnits[unit]);
}

std::string format_duration(Duration d) {
  if (d.count() == 0) return "0s";
  // Unsigned so that the most negative value can be negated too.
  std::string out = d.count() < 0 ? "-" : "";
  std::uint64_t left = d.count() < 0 ? 0 - static_cast<std::uint64_t>(d.count())
                                     : static_cast<std::uint64_t>(d.count());
  // Prometheus' own spelling: the largest units first, zero parts left out.
  static constexpr std::pair<std::string_view, std::uint64_t> kParts[] = {
      {"w", 7 * 24 * 3600 * kSecond},
      {"d", 24 * 3600 * kSecond},
      {"h", 3600 * kSecond},
      {"m", 60 * kSecond},
      {"s", kSecond},
      {"ms", 1000 * 1000},
      {"us", 1000},
      {"ns", 1},
  };
  for (const auto& [suffix, nanos] : kParts) {
    if (left >= nanos) {
      out += std::to_string(left / nanos);
      out += suffix;
      left %= nanos;
    }
  }
  return out;
}

}  // namespace mg
