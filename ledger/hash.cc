#include "ledger/hash.h"

#include <openssl/evp.h>

#include <cassert>
#include <memory>

#include "ledger/event.h"

namespace rollbook::ledger {
namespace {

struct DigestContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

// One context per thread: creating a context per event costs more than the hash itself.
EVP_MD_CTX* ThreadDigestContext() {
  thread_local std::unique_ptr<EVP_MD_CTX, DigestContextDeleter> context(EVP_MD_CTX_new());
  return context.get();
}

struct DigestDeleter {
  void operator()(EVP_MD* digest) const { EVP_MD_free(digest); }
};

// SHA-256, fetched from the provider once. Passing EVP_sha256() to every EVP_DigestInit_ex makes
// OpenSSL 3 look the algorithm up again per event, which costs about as much as hashing the event.
const EVP_MD* Sha256Algorithm() {
  static const std::unique_ptr<EVP_MD, DigestDeleter> algorithm(
      EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return algorithm != nullptr ? algorithm.get() : EVP_sha256();
}

std::string Digest(std::string_view first, std::string_view second) {
  EVP_MD_CTX* context = ThreadDigestContext();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // These calls fail only on allocation failure inside OpenSSL.
  [[maybe_unused]] int ok = EVP_DigestInit_ex(context, Sha256Algorithm(), nullptr);
  ok &= EVP_DigestUpdate(context, first.data(), first.size());
  ok &= EVP_DigestUpdate(context, second.data(), second.size());
  ok &= EVP_DigestFinal_ex(context, digest, &length);
  assert(ok == 1 && length == kHashBytes);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

}  // namespace

std::string ChainHash(std::string_view previous_hash, std::string_view body) {
  return Digest(previous_hash, body);
}

std::string Sha256(std::string_view data) { return Digest(data, {}); }

const std::string& GenesisHash() {
  static const std::string genesis(kHashBytes, '\0');
  return genesis;
}

std::string ToHex(const std::string& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0f]);
  }
  return hex;
}

std::string FromHex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  if (hex.size() % 2 != 0) return {};
  std::string bytes;
  bytes.reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int high = nibble(hex[i]);
    int low = nibble(hex[i + 1]);
    if (high < 0 || low < 0) return {};
    bytes.push_back(static_cast<char>((high << 4) | low));
  }
  return bytes;
}

}  // namespace rollbook::ledger
