// Content digests ("sha256:<64 hex>", "sha512:<128 hex>") and the streaming
// hasher that computes them.
//
// A Digest is always valid: the only ways to get one are Parse() (which checks
// algorithm, length and lower-case hex) and Hasher::Finish().
#pragma once

#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/status.h"

namespace berth {

enum class DigestAlgorithm { kSha256, kSha512 };

// "sha256" / "sha512".
std::string_view AlgorithmName(DigestAlgorithm algorithm);

class Digest {
 public:
  // Parses "algorithm:hex". Rejects unknown algorithms, upper-case or non-hex
  // characters and a hex part of the wrong length, with a message quoting the
  // input.
  static Result<Digest> Parse(std::string_view text);

  // The digest of `data` (one-shot convenience over Hasher).
  static Digest Of(std::string_view data, DigestAlgorithm algorithm = DigestAlgorithm::kSha256);

  DigestAlgorithm algorithm() const { return algorithm_; }
  std::string_view algorithm_name() const { return AlgorithmName(algorithm_); }
  // The hex part, lower case.
  std::string_view hex() const { return std::string_view(text_).substr(text_.find(':') + 1); }
  // The whole "algorithm:hex" text.
  const std::string& str() const { return text_; }

  friend bool operator==(const Digest&, const Digest&) = default;
  friend auto operator<=>(const Digest& a, const Digest& b) { return a.text_ <=> b.text_; }

 private:
  Digest(DigestAlgorithm algorithm, std::string text)
      : algorithm_(algorithm), text_(std::move(text)) {}
  friend class Hasher;

  DigestAlgorithm algorithm_;
  std::string text_;
};

// Streaming hash over OpenSSL EVP (SHA-NI accelerated where the CPU has it).
// Not thread-safe; one Hasher per stream.
class Hasher {
 public:
  explicit Hasher(DigestAlgorithm algorithm = DigestAlgorithm::kSha256);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }

  // The digest of everything passed to Update() so far. The hasher can keep
  // going afterwards (Finish works on a copy of the state).
  Digest Finish() const;

 private:
  DigestAlgorithm algorithm_;
  struct State;
  std::unique_ptr<State> state_;
};

// Lower-case hex of `bytes`.
std::string HexEncode(std::span<const uint8_t> bytes);

}  // namespace berth

template <>
struct std::hash<berth::Digest> {
  size_t operator()(const berth::Digest& d) const noexcept {
    return std::hash<std::string>()(d.str());
  }
};
