#include "registry/testing/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/file.h"

namespace berth::registry::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return addr;
}

}  // namespace

Result<int> PickFreePort() {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError("socket", errno);
  sockaddr_in addr = Loopback(0);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoError("bind 127.0.0.1:0", errno);
  }
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return ErrnoError("getsockname", errno);
  }
  return static_cast<int>(ntohs(addr.sin_port));
}

Result<int> HttpGetStatus(int port, const std::string& path) {
  std::string where = "GET http://127.0.0.1:" + std::to_string(port) + path;
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError("socket", errno);
  timeval timeout{.tv_sec = 1, .tv_usec = 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  sockaddr_in addr = Loopback(port);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Unavailable(where + ": connect: " + std::strerror(errno));
  }
  BERTH_RETURN_IF_ERROR(
      WriteAll(fd.get(), "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", where));
  // "HTTP/1.x NNN" is all we need; it arrives in the first segment.
  char buf[64] = {};
  size_t got = 0;
  while (got < 12) {
    ssize_t n = ::read(fd.get(), buf + got, sizeof buf - 1 - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  int major = 0, minor = 0, status = 0;
  if (std::sscanf(buf, "HTTP/%d.%d %d", &major, &minor, &status) != 3) {
    return Unavailable(where + ": no HTTP status line in the answer");
  }
  return status;
}

}  // namespace berth::registry::testing
