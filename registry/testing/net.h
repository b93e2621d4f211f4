// Loopback networking helpers for the peer fixtures: a free port, and the
// status code of one plain-HTTP GET (enough to see whether a server is up).
#pragma once

#include <string>

#include "core/status.h"

namespace berth::registry::testing {

// A TCP port on 127.0.0.1 that was free a moment ago: binds port 0, reads the
// port back and releases it. Another process may take it before the caller
// does, so callers retry on "address already in use".
Result<int> PickFreePort();

// Sends "GET path HTTP/1.0" to 127.0.0.1:port and returns the response's
// status code (e.g. 200, 401). Unavailable if nothing listens or the answer
// is not HTTP within a second.
Result<int> HttpGetStatus(int port, const std::string& path);

}  // namespace berth::registry::testing
