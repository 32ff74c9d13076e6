#include "tools/server/url.h"

#include <array>

namespace rollbook::server {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int Base64Value(char c) {
  size_t index = kAlphabet.find(c);
  return index == std::string_view::npos ? -1 : static_cast<int>(index);
}

}  // namespace

Result<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string decoded;
  decoded.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      decoded.push_back(' ');
      continue;
    }
    if (c != '%') {
      decoded.push_back(c);
      continue;
    }
    int high = i + 1 < text.size() ? HexValue(text[i + 1]) : -1;
    int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return InvalidArgument("invalid percent-encoding at offset " + std::to_string(i) + " of '" +
                             std::string(text) + "': '%' must be followed by two hex digits");
    }
    char byte = static_cast<char>(high * 16 + low);
    if (byte == '\0') {
      return InvalidArgument("invalid percent-encoding in '" + std::string(text) +
                             "': %00 (a NUL byte) is not accepted");
    }
    decoded.push_back(byte);
    i += 2;
  }
  return decoded;
}

Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  while (!query.empty()) {
    size_t end = query.find('&');
    std::string_view part = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    if (part.empty()) continue;
    size_t equals = part.find('=');
    auto key = PercentDecode(part.substr(0, equals), /*plus_is_space=*/true);
    if (!key.ok()) return key.status();
    std::string value;
    if (equals != std::string_view::npos) {
      auto decoded = PercentDecode(part.substr(equals + 1), /*plus_is_space=*/true);
      if (!decoded.ok()) return decoded.status();
      value = std::move(decoded).value();
    }
    pairs.emplace_back(std::move(key).value(), std::move(value));
  }
  return pairs;
}

std::string Base64UrlEncode(std::string_view bytes) {
  std::string text;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      text.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) text.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return text;
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  if (text.size() % 4 == 1) {
    return InvalidArgument("invalid base64url text of length " + std::to_string(text.size()));
  }
  std::string bytes;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int value = Base64Value(c);
    if (value < 0) return InvalidArgument(std::string("invalid base64url character '") + c + "'");
    buffer = (buffer << 6) | static_cast<uint32_t>(value);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((buffer >> bits) & 0xff));
    }
  }
  return bytes;
}

}  // namespace rollbook::server
