// RFC 4648 base64, for descriptors' embedded "data".
#include <array>
#include <cstdint>

#include "oci/json_util.h"

namespace berth::oci::internal {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> table{};
  table.fill(-1);
  for (size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  }
  return table;
}
constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable();

}  // namespace

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16 | uint32_t(uint8_t(bytes[i + 1])) << 8 |
                 uint8_t(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(n >> shift) & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return InvalidArgument("invalid base64: length is not a multiple of 4");
  size_t padding = 0;
  if (!text.empty() && text.back() == '=')
    padding = text.size() >= 2 && text[text.size() - 2] == '=' ? 2 : 1;
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    uint32_t n = 0;
    for (size_t k = 0; k < 4; ++k) {
      char c = text[i + k];
      if (last && k >= 4 - padding) {
        n <<= 6;
        continue;
      }
      int8_t v = kDecode[static_cast<unsigned char>(c)];
      if (v < 0)
        return InvalidArgument("invalid base64: unexpected character at offset " +
                               std::to_string(i + k));
      n = n << 6 | uint32_t(v);
    }
    out += char((n >> 16) & 0xff);
    if (!last || padding < 2) out += char((n >> 8) & 0xff);
    if (!last || padding < 1) out += char(n & 0xff);
    // Non-zero bits under the padding would give the same bytes a second spelling.
    if (last && ((padding == 1 && (n & 0xff)) || (padding == 2 && (n & 0xffff)))) {
      return InvalidArgument("invalid base64: non-zero padding bits");
    }
  }
  return out;
}

}  // namespace berth::oci::internal
