// Bearer tokens for the HTTP API.
//
// The tokens file is JSON, written with mode 0600 and replaced atomically on every change:
//   {"tokens": [{"name": "ci", "sha256": "<hex of SHA-256(token)>", "scopes": ["read"],
//                "created_at": "2026-12-04T10:00:00.000Z"}]}
// Only the hash of a token is stored; the token itself is printed once, when it is created.
// Scopes nest: `admin` includes `operate`, which includes `read`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace rollbook::server {

enum class Scope { kRead = 0, kOperate = 1, kAdmin = 2 };

std::string_view ScopeName(Scope scope);
// Fails with kInvalidArgument naming the accepted scopes.
Result<Scope> ParseScope(std::string_view text);

struct TokenEntry {
  std::string name;
  std::string sha256_hex;
  Scope scope = Scope::kRead;  // the highest scope granted
  std::string created_at;
};

// Returns the lower-case hex SHA-256 of `token`.
std::string TokenHash(std::string_view token);

// Reads a tokens file. Fails with kNotFound when it is missing and kInvalidArgument, naming the
// file and the problem, when it is malformed.
Result<std::vector<TokenEntry>> ReadTokens(const std::string& path);

// Creates a random token for `name`, stores its hash in `path` (creating the file when missing)
// and returns the token. Fails with kAlreadyExists when the name is taken.
Result<std::string> AddToken(const std::string& path, const std::string& name, Scope scope);

// Removes the token called `name`. Fails with kNotFound when there is none.
Status RemoveToken(const std::string& path, const std::string& name);

// Checks bearer tokens against a tokens file, reloading the file when it changes on disk, so
// `rollbook token add` takes effect on a running server. Thread-safe.
class TokenAuthenticator {
 public:
  // Fails like ReadTokens().
  static Result<std::unique_ptr<TokenAuthenticator>> Open(const std::string& path);

  // Returns the entry whose hash matches `token`, or nullopt.
  std::optional<TokenEntry> Authenticate(std::string_view token);

  size_t size();

 private:
  explicit TokenAuthenticator(std::string path) : path_(std::move(path)) {}
  void ReloadIfChanged();

  std::string path_;
  std::mutex mutex_;
  std::vector<TokenEntry> tokens_;                    // guarded by mutex_
  int64_t loaded_mtime_ns_ = 0;                       // guarded by mutex_
  std::chrono::steady_clock::time_point checked_at_;  // guarded by mutex_
};

}  // namespace rollbook::server
