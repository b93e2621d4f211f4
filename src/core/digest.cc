#include "core/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace berth {
namespace {

size_t HexLength(DigestAlgorithm a) { return a == DigestAlgorithm::kSha256 ? 64 : 128; }

const EVP_MD* Md(DigestAlgorithm a) {
  return a == DigestAlgorithm::kSha256 ? EVP_sha256() : EVP_sha512();
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string_view AlgorithmName(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::kSha256 ? "sha256" : "sha512";
}

Result<Digest> Digest::Parse(std::string_view text) {
  auto quoted = [&] { return "invalid digest \"" + std::string(text.substr(0, 200)) + "\": "; };
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return InvalidArgument(quoted() + "missing ':'");
  std::string_view alg = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  DigestAlgorithm algorithm;
  if (alg == "sha256") {
    algorithm = DigestAlgorithm::kSha256;
  } else if (alg == "sha512") {
    algorithm = DigestAlgorithm::kSha512;
  } else {
    return InvalidArgument(quoted() + "unsupported algorithm \"" + std::string(alg.substr(0, 32)) +
                           "\"");
  }
  if (hex.size() != HexLength(algorithm)) {
    return InvalidArgument(quoted() + std::string(alg) + " needs " +
                           std::to_string(HexLength(algorithm)) + " hex characters, got " +
                           std::to_string(hex.size()));
  }
  for (char c : hex) {
    if (!IsLowerHex(c)) return InvalidArgument(quoted() + "hex must be lower-case [0-9a-f]");
  }
  return Digest(algorithm, std::string(text));
}

Digest Digest::Of(std::string_view data, DigestAlgorithm algorithm) {
  Hasher h(algorithm);
  h.Update(data);
  return h.Finish();
}

struct Hasher::State {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~State() { EVP_MD_CTX_free(ctx); }
};

Hasher::Hasher(DigestAlgorithm algorithm) : algorithm_(algorithm), state_(new State) {
  // Allocation failure or a missing default provider is not recoverable.
  if (state_->ctx == nullptr || EVP_DigestInit_ex(state_->ctx, Md(algorithm), nullptr) != 1) {
    std::abort();
  }
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::Update(const void* data, size_t size) {
  EVP_DigestUpdate(state_->ctx, data, size);
}

Digest Hasher::Finish() const {
  State copy;
  if (EVP_MD_CTX_copy_ex(copy.ctx, state_->ctx) != 1) std::abort();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(copy.ctx, md, &len);
  std::string text(AlgorithmName(algorithm_));
  text += ':';
  text += HexEncode(std::span<const uint8_t>(md, len));
  return Digest(algorithm_, std::move(text));
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xf];
  }
  return out;
}

}  // namespace berth
