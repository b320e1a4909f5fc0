#include "measure/pss_drift.h"

#include <algorithm>

namespace mg {

namespace {

// Within 1% of PSS: `bytes` * 100 <= pss, without overflow for any size.
bool under_one_percent(std::uint64_t bytes, std::uint64_t pss) {
  return bytes <= pss / 100;
}

// Any process may map a file page next, unseen: a library's code path it
// had not run yet, a program outside the pool opening the same file. Such
// pages are mapped by (resident file bytes) / (their PSS) processes on
// average, and one more mapper moves their PSS by about a share of one in
// that many plus one: it must fit in half the budget. A library page mapped
// by most of the host moves by nothing; the code of a program that runs as
// three processes moves by a quarter. Where the kernel does not split PSS
// by kind, every shared page counts as a file page.
bool few_more_mappers_move_little(const WalkBasis& walk) {
  const MemoryUsage& u = walk.usage;
  std::uint64_t resident = 0, pss = 0;
  if (u.pss_file) {
    resident = walk.statm.shared;
    pss = *u.pss_file;
  } else {
    resident = u.rss > u.uss ? u.rss - u.uss : 0;
    pss = u.pss > u.uss ? u.pss - u.uss : 0;
  }
  // Clean private pages are judged on their own (above): here, the shared.
  resident -= std::min(resident, u.private_clean);
  pss -= std::min(pss, u.private_clean);
  if (pss == 0 || resident == 0) return true;
  const long double mappers = static_cast<long double>(resident) / static_cast<long double>(pss);
  const long double moved = static_cast<long double>(pss) / (mappers + 1);
  return moved * 200 <= static_cast<long double>(u.pss);
}

}  // namespace

bool pss_within_one_percent(const WalkBasis& walk, const Statm& statm_now, const PoolMark& pool_now,
                            TimePoint now, Duration stats_frequency) {
  if (stats_frequency <= Duration::zero() || walk.at == TimePoint{}) return false;
  if (now - walk.at >= stats_frequency * kMaxSkippedFor) return false;
  // A young process is still mapping and touching what it will keep.
  if (!walk.settled) return false;
  if (statm_now != walk.statm) return false;
  const MemoryUsage& u = walk.usage;
  if (u.pss == 0) return false;
  // Clean private pages are mostly file pages no one else has touched yet:
  // any process, of any program, that touches one halves its share, and
  // nothing but a walk shows it. Their worst case, half of them, must fit in
  // half the budget.
  if (u.private_clean > u.pss / 100) return false;
  if (!few_more_mappers_move_little(walk)) return false;
  // A fork shares every page of the parent, private ones too.
  if (pool_now.forks != walk.pool.forks) return false;
  const std::uint64_t shared_share = u.pss > u.uss ? u.pss - u.uss : 0;
  const std::uint64_t unshared_room = u.rss > u.pss ? u.rss - u.pss : 0;
  if (under_one_percent(shared_share, u.pss) && under_one_percent(unshared_room, u.pss)) {
    return true;
  }
  if (pool_now.ppid != walk.pool.ppid || pool_now.program != walk.pool.program) return false;
  // Copy-on-write pages are shared with parent, siblings and children only
  // after a fork without exec. A process with none of them (an exec'd
  // daemon among pid 1's children) does not care what its family does.
  const bool shares_anonymous = !u.shared_anon || !under_one_percent(*u.shared_anon, u.pss);
  if (shares_anonymous &&
      (pool_now.siblings != walk.pool.siblings || pool_now.children != walk.pool.children)) {
    return false;
  }
  // Host-wide sharing: each birth or exit moves a page mapped by m processes
  // by a share of about 1/m of its share. Libraries are mapped by most of the
  // host; the pool (checked above) holds the pages shared by few. Counted
  // against half the budget, with the smaller population of the two.
  const std::uint64_t churn = pool_now.host_churn - walk.pool.host_churn;
  if (churn == 0) return true;
  const std::size_t population = std::min(walk.pool.population, pool_now.population);
  if (population == 0) return false;
  const long double moved = static_cast<long double>(shared_share) *
                            static_cast<long double>(churn) / static_cast<long double>(population);
  return moved * 200 <= static_cast<long double>(u.pss);
}

}  // namespace mg
