#include "tools/server/tokens.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ledger/event.h"
#include "ledger/time_format.h"
#include "tools/server/url.h"

namespace rollbook::server {
namespace {

// How often a running server looks at the tokens file's modification time.
constexpr std::chrono::seconds kReloadCheckInterval{1};
constexpr size_t kTokenRandomBytes = 32;

Status ErrnoStatus(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

// Writes `content` to `path` through a temporary file in the same directory, so readers see the
// old or the new file, never a partial one. The file gets mode 0600.
Status WriteFileAtomically(const std::string& path, const std::string& content) {
  std::filesystem::path target(path);
  std::filesystem::path directory = target.has_parent_path() ? target.parent_path() : ".";
  std::string temp = (directory / ("." + target.filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(temp.data());
  if (fd < 0) return ErrnoStatus("cannot create a temporary file next to " + path);

  bool written = ::fchmod(fd, 0600) == 0;
  size_t offset = 0;
  while (written && offset < content.size()) {
    ssize_t n = ::write(fd, content.data() + offset, content.size() - offset);
    if (n < 0 && errno == EINTR) continue;
    written = n > 0;
    if (written) offset += static_cast<size_t>(n);
  }
  written = written && ::fsync(fd) == 0;
  Status status = written ? Status::Ok() : ErrnoStatus("cannot write " + temp);
  ::close(fd);
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus("cannot rename " + temp + " to " + path);
  }
  if (!status.ok()) {
    ::unlink(temp.c_str());
    return status;
  }
  int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir_fd < 0) return ErrnoStatus("cannot open " + directory.string() + " to sync it");
  int synced = ::fsync(dir_fd);
  ::close(dir_fd);
  if (synced != 0) return ErrnoStatus("cannot sync directory " + directory.string());
  return Status::Ok();
}

Result<std::vector<TokenEntry>> ParseTokens(const std::string& path, const std::string& text) {
  std::vector<TokenEntry> tokens;
  try {
    nlohmann::json document = nlohmann::json::parse(text);
    for (const auto& item : document.at("tokens")) {
      TokenEntry entry;
      entry.name = item.at("name").get<std::string>();
      entry.sha256_hex = item.at("sha256").get<std::string>();
      entry.created_at = item.value("created_at", "");
      std::transform(entry.sha256_hex.begin(), entry.sha256_hex.end(), entry.sha256_hex.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      if (entry.sha256_hex.size() != 64) {
        return InvalidArgument("tokens file " + path + ": token '" + entry.name +
                               "' has a sha256 that is not 64 hex digits");
      }
      bool any_scope = false;
      for (const auto& scope_name : item.at("scopes")) {
        auto scope = ParseScope(scope_name.get<std::string>());
        if (!scope.ok()) return scope.status().WithContext("tokens file " + path);
        if (!any_scope || *scope > entry.scope) entry.scope = *scope;
        any_scope = true;
      }
      if (!any_scope) {
        return InvalidArgument("tokens file " + path + ": token '" + entry.name + "' has no scope");
      }
      tokens.push_back(std::move(entry));
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument("tokens file " + path + " is not valid: " + e.what() +
                           "; expected {\"tokens\": [{\"name\", \"sha256\", \"scopes\"}]}");
  }
  return tokens;
}

std::string SerializeTokens(const std::vector<TokenEntry>& tokens) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& entry : tokens) {
    list.push_back({{"name", entry.name},
                    {"sha256", entry.sha256_hex},
                    {"scopes", {ScopeName(entry.scope)}},
                    {"created_at", entry.created_at}});
  }
  return nlohmann::json{{"tokens", list}}.dump(2) + "\n";
}

Result<std::vector<TokenEntry>> ReadTokensOrEmpty(const std::string& path) {
  auto tokens = ReadTokens(path);
  if (!tokens.ok() && tokens.status().code() == StatusCode::kNotFound) {
    return std::vector<TokenEntry>();
  }
  return tokens;
}

// Returns a value that changes whenever the file is rewritten. The modification time alone can
// repeat for two writes within one timestamp tick, but every atomic rewrite renames a new inode
// into place, so the inode number is mixed in.
int64_t ModificationTimeNs(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) return -1;
  uint64_t mtime = static_cast<uint64_t>(info.st_mtim.tv_sec) * 1000000000 + info.st_mtim.tv_nsec;
  return static_cast<int64_t>(mtime ^ (static_cast<uint64_t>(info.st_ino) * 0x9E3779B97F4A7C15ull));
}

}  // namespace

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kRead:
      return "read";
    case Scope::kOperate:
      return "operate";
    case Scope::kAdmin:
      return "admin";
  }
  return "read";
}

Result<Scope> ParseScope(std::string_view text) {
  if (text == "read") return Scope::kRead;
  if (text == "operate") return Scope::kOperate;
  if (text == "admin") return Scope::kAdmin;
  return InvalidArgument("unknown scope '" + std::string(text) + "'; use read, operate or admin");
}

std::string TokenHash(std::string_view token) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(token.data(), token.size(), digest, &length, EVP_sha256(), nullptr);
  return ledger::ToHex(std::string(reinterpret_cast<char*>(digest), length));
}

Result<std::vector<TokenEntry>> ReadTokens(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    if (!std::filesystem::exists(path)) {
      return NotFound("tokens file " + path +
                      " does not exist; create it with `rollbook token add`");
    }
    return IoError("cannot read tokens file " + path + ": " + std::strerror(errno));
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseTokens(path, text.str());
}

Result<std::string> AddToken(const std::string& path, const std::string& name, Scope scope) {
  if (name.empty() || name.size() > 64 ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos) {
    return InvalidArgument("invalid token name '" + name +
                           "': use 1 to 64 letters, digits, '.', '_' or '-'");
  }
  auto tokens = ReadTokensOrEmpty(path);
  if (!tokens.ok()) return tokens.status();
  for (const auto& entry : *tokens) {
    if (entry.name == name) {
      return Status(StatusCode::kAlreadyExists, "a token named '" + name + "' already exists in " +
                                                    path +
                                                    "; remove it first or pick another name");
    }
  }

  unsigned char random[kTokenRandomBytes];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return Internal("cannot generate a token: OpenSSL RAND_bytes failed");
  }
  std::string token =
      "rbk_" + Base64UrlEncode(std::string_view(reinterpret_cast<char*>(random), sizeof(random)));
  OPENSSL_cleanse(random, sizeof(random));

  tokens->push_back(
      TokenEntry{name, TokenHash(token), scope, ledger::FormatTimestamp(ledger::NowNs())});
  ROLLBOOK_RETURN_IF_ERROR(WriteFileAtomically(path, SerializeTokens(*tokens)));
  spdlog::info("added token '{}' with scope {} to {}", name, ScopeName(scope), path);
  return token;
}

Status RemoveToken(const std::string& path, const std::string& name) {
  auto tokens = ReadTokens(path);
  if (!tokens.ok()) return tokens.status();
  auto found = std::find_if(tokens->begin(), tokens->end(),
                            [&](const TokenEntry& entry) { return entry.name == name; });
  if (found == tokens->end()) return NotFound("no token named '" + name + "' in " + path);
  tokens->erase(found);
  ROLLBOOK_RETURN_IF_ERROR(WriteFileAtomically(path, SerializeTokens(*tokens)));
  spdlog::info("removed token '{}' from {}", name, path);
  return Status::Ok();
}

Result<std::unique_ptr<TokenAuthenticator>> TokenAuthenticator::Open(const std::string& path) {
  auto tokens = ReadTokens(path);
  if (!tokens.ok()) return tokens.status();
  std::unique_ptr<TokenAuthenticator> authenticator(new TokenAuthenticator(path));
  authenticator->tokens_ = std::move(tokens).value();
  authenticator->loaded_mtime_ns_ = ModificationTimeNs(path);
  authenticator->checked_at_ = std::chrono::steady_clock::now();
  return authenticator;
}

void TokenAuthenticator::ReloadIfChanged() {
  auto now = std::chrono::steady_clock::now();
  if (now - checked_at_ < kReloadCheckInterval) return;
  checked_at_ = now;
  int64_t mtime = ModificationTimeNs(path_);
  if (mtime == loaded_mtime_ns_) return;
  auto tokens = ReadTokens(path_);
  if (!tokens.ok()) {
    // Keep the tokens loaded before, so a half-edited file does not lock everyone out.
    spdlog::error("cannot reload tokens file, keeping {} loaded tokens: {}", tokens_.size(),
                  tokens.status().ToString());
    loaded_mtime_ns_ = mtime;
    return;
  }
  tokens_ = std::move(tokens).value();
  loaded_mtime_ns_ = mtime;
  spdlog::info("reloaded tokens file {}: {} tokens", path_, tokens_.size());
}

std::optional<TokenEntry> TokenAuthenticator::Authenticate(std::string_view token) {
  std::string hash = TokenHash(token);
  std::lock_guard<std::mutex> lock(mutex_);
  ReloadIfChanged();
  std::optional<TokenEntry> match;
  for (const auto& entry : tokens_) {
    // Compare every entry in constant time, so timing does not reveal a matching prefix.
    if (entry.sha256_hex.size() == hash.size() &&
        CRYPTO_memcmp(entry.sha256_hex.data(), hash.data(), hash.size()) == 0) {
      match = entry;
    }
  }
  return match;
}

size_t TokenAuthenticator::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return tokens_.size();
}

}  // namespace rollbook::server
