// Runs the real berth binary ($BERTH_BINARY, set by CTest) end to end.
#include <gtest/gtest.h>
