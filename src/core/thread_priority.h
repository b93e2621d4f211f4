// ThreadPriorityGroup: threads that share one CPU priority, which can be
// raised while they run (Linux keeps a nice value per thread).
//
//   auto group = std::make_shared<ThreadPriorityGroup>(ThreadPriorityGroup::kBackground);
//   std::thread t([&] { ThreadPriorityGroup::Member m(group.get()); ...work... });
//   ...
//   group->Raise();  // t, and threads that join later, at normal priority
//
// A background member runs at its nice value + 10: when the CPU is contended
// it gets about a tenth of the time a normal thread gets, and all of it when
// nothing else wants it. The unpacker uses this for layers that cannot be
// committed before the layers below them (image/unpacker.cc).
//
// Raising a thread back needs CAP_SYS_NICE, or an RLIMIT_NICE that allows
// its old nice value. A thread that could not be raised back is never
// lowered: it joins at its current priority, so no thread stays slowed.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <vector>

namespace berth {

class ThreadPriorityGroup {
 public:
  enum Priority { kNormal, kBackground };
  // How much a background member's nice value is raised.
  static constexpr int kBackgroundNice = 10;

  explicit ThreadPriorityGroup(Priority priority) : priority_(priority) {}
  ThreadPriorityGroup(const ThreadPriorityGroup&) = delete;
  ThreadPriorityGroup& operator=(const ThreadPriorityGroup&) = delete;

  // Sets the group to normal priority: its members return to the nice
  // value they had when they joined; members that join later keep theirs.
  void Raise();

  // Whether the calling thread could be lowered and raised back again.
  static bool CanLowerAndRestore();

  // The calling thread's membership, for this object's lifetime: the thread
  // runs at the group's priority, then at its earlier nice value again.
  // A null group does nothing.
  class Member {
   public:
    explicit Member(ThreadPriorityGroup* group);
    ~Member();
    Member(const Member&) = delete;
    Member& operator=(const Member&) = delete;

   private:
    ThreadPriorityGroup* group_;
  };

 private:
  struct Joined {
    pid_t tid;
    int nice_before;
    bool lowered;
  };

  std::mutex mu_;
  Priority priority_;
  std::vector<Joined> members_;
};

}  // namespace berth
