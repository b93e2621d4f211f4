#include "core/thread_priority.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <future>
#include <thread>

namespace berth {
namespace {

int MyNice() {
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, static_cast<id_t>(gettid()));
  EXPECT_EQ(errno, 0);
  return nice;
}

constexpr char kCannotRestore[] = "cannot raise a thread's priority back here";

// Runs `body` on a new thread (a fresh nice value to play with) and waits.
void OnThread(const std::function<void()>& body) { std::thread(body).join(); }

TEST(ThreadPriorityGroupTest, BackgroundMembersRunLowerUntilRaised) {
  if (!ThreadPriorityGroup::CanLowerAndRestore()) GTEST_SKIP() << kCannotRestore;
  ThreadPriorityGroup group(ThreadPriorityGroup::kBackground);
  std::promise<void> joined, raised, checked;
  int before = 0, while_member = 0, after_raise = 0;
  std::thread member([&] {
    before = MyNice();
    ThreadPriorityGroup::Member m(&group);
    while_member = MyNice();
    joined.set_value();
    raised.get_future().wait();
    after_raise = MyNice();
    checked.set_value();
  });
  joined.get_future().wait();
  group.Raise();  // from another thread, as the unpacker does
  raised.set_value();
  checked.get_future().wait();
  member.join();
  EXPECT_EQ(while_member, std::min(19, before + ThreadPriorityGroup::kBackgroundNice));
  EXPECT_EQ(after_raise, before);
}

TEST(ThreadPriorityGroupTest, LeavingRestoresTheEarlierNiceValue) {
  if (!ThreadPriorityGroup::CanLowerAndRestore()) GTEST_SKIP() << kCannotRestore;
  ThreadPriorityGroup group(ThreadPriorityGroup::kBackground);
  OnThread([&] {
    int before = MyNice();
    {
      ThreadPriorityGroup::Member m(&group);
      EXPECT_GT(MyNice(), before);
    }
    EXPECT_EQ(MyNice(), before);
  });
}

TEST(ThreadPriorityGroupTest, JoiningARaisedOrNormalGroupChangesNothing) {
  ThreadPriorityGroup raised(ThreadPriorityGroup::kBackground);
  raised.Raise();
  ThreadPriorityGroup normal(ThreadPriorityGroup::kNormal);
  OnThread([&] {
    int before = MyNice();
    ThreadPriorityGroup::Member a(&raised);
    EXPECT_EQ(MyNice(), before);
    ThreadPriorityGroup::Member b(&normal);
    EXPECT_EQ(MyNice(), before);
    ThreadPriorityGroup::Member none(nullptr);
    EXPECT_EQ(MyNice(), before);
  });
}

TEST(ThreadPriorityGroupTest, OnlyMembersAreLowered) {
  if (!ThreadPriorityGroup::CanLowerAndRestore()) GTEST_SKIP() << kCannotRestore;
  ThreadPriorityGroup group(ThreadPriorityGroup::kBackground);
  int mine = MyNice();
  OnThread([&] { ThreadPriorityGroup::Member m(&group); });
  EXPECT_EQ(MyNice(), mine);
  group.Raise();  // no members left: nothing to do, no stale thread ids touched
  EXPECT_EQ(MyNice(), mine);
}

}  // namespace
}  // namespace berth
