#include "core/thread_priority.h"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace berth {
namespace {

bool HasCapSysNice() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capget, &header, data) != 0) return false;
  return (data[CAP_SYS_NICE / 32].effective & (1u << (CAP_SYS_NICE % 32))) != 0;
}

// The calling thread's nice value (getpriority can return -1 as a value).
int CurrentNice() {
  errno = 0;
  int nice = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  return errno == 0 ? nice : 0;
}

bool SetNice(pid_t tid, int nice) {
  return ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), nice) == 0;
}

}  // namespace

bool ThreadPriorityGroup::CanLowerAndRestore() {
  if (HasCapSysNice()) return true;
  // Without the capability, RLIMIT_NICE r lets a thread set nice values down to 20 - r.
  rlimit limit{};
  if (::getrlimit(RLIMIT_NICE, &limit) != 0) return false;
  if (limit.rlim_cur == RLIM_INFINITY) return true;
  return CurrentNice() >= 20 - static_cast<int>(std::min<rlim_t>(limit.rlim_cur, 40));
}

void ThreadPriorityGroup::Raise() {
  std::lock_guard<std::mutex> l(mu_);
  priority_ = kNormal;
  // Members unregister under mu_ before their thread ends, so every tid here
  // is a live thread of this process.
  for (Joined& m : members_) {
    if (m.lowered && SetNice(m.tid, m.nice_before)) m.lowered = false;
  }
}

ThreadPriorityGroup::Member::Member(ThreadPriorityGroup* group) : group_(group) {
  if (!group_) return;
  Joined me{::gettid(), CurrentNice(), false};
  std::lock_guard<std::mutex> l(group_->mu_);
  if (group_->priority_ == kBackground && CanLowerAndRestore()) {
    me.lowered = SetNice(me.tid, std::min(19, me.nice_before + kBackgroundNice));
  }
  group_->members_.push_back(me);
}

ThreadPriorityGroup::Member::~Member() {
  if (!group_) return;
  std::lock_guard<std::mutex> l(group_->mu_);
  const pid_t tid = ::gettid();
  auto it = std::find_if(group_->members_.begin(), group_->members_.end(),
                         [&](const Joined& m) { return m.tid == tid; });
  if (it == group_->members_.end()) return;
  if (it->lowered) SetNice(tid, it->nice_before);
  group_->members_.erase(it);
}

}  // namespace berth
