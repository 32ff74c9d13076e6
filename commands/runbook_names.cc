// Name rules, name lists and "did you mean" hints for runbook messages.
#include <algorithm>
#include <cctype>

#include "commands/runbook_internal.h"

namespace rollbook::commands::runbook_internal {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
}

// Levenshtein distance, enough to catch typos in short names.
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> previous(b.size() + 1);
  std::vector<size_t> current(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) previous[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    current[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      current[j] = std::min({previous[j] + 1, current[j - 1] + 1, substitution});
    }
    std::swap(previous, current);
  }
  return previous[b.size()];
}

}  // namespace

bool IsValidName(std::string_view name) {
  if (name.empty() || !std::isalnum(static_cast<unsigned char>(name[0]))) return false;
  return std::all_of(name.begin(), name.end(), IsNameChar);
}

bool IsValidVariableName(std::string_view name) {
  if (name.empty()) return false;
  char first = name[0];
  if (!std::isalpha(static_cast<unsigned char>(first)) && first != '_') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string joined;
  for (const std::string& name : names) {
    if (!joined.empty()) joined += ", ";
    joined += name;
  }
  return joined;
}

std::string SuggestFrom(std::string_view name, const std::vector<std::string>& known,
                        std::string_view what) {
  if (known.empty()) return "no " + std::string(what) + " is defined";

  const std::string* closest = nullptr;
  size_t best = std::max<size_t>(2, name.size() / 3) + 1;
  for (const std::string& candidate : known) {
    size_t distance = EditDistance(name, candidate);
    if (distance < best) {
      best = distance;
      closest = &candidate;
    }
  }
  std::string hint;
  if (closest != nullptr) hint = "did you mean \"" + *closest + "\"? ";
  return hint + "Known " + std::string(what) + ": " + JoinNames(known);
}

std::optional<size_t> FindInvalidUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t length = byte < 0x80           ? 1
                    : (byte >> 5) == 0x6  ? 2
                    : (byte >> 4) == 0xe  ? 3
                    : (byte >> 3) == 0x1e ? 4
                                          : 0;
    if (length == 0 || i + length > text.size()) return i;

    uint32_t code_point = length == 1 ? byte : byte & (0x7f >> length);
    for (size_t k = 1; k < length; ++k) {
      auto continuation = static_cast<unsigned char>(text[i + k]);
      if ((continuation >> 6) != 0x2) return i;
      code_point = (code_point << 6) | (continuation & 0x3f);
    }
    // Reject overlong forms, UTF-16 surrogates and values above U+10FFFF.
    static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code_point < kMinimum[length] || (code_point >= 0xd800 && code_point <= 0xdfff) ||
        code_point > 0x10ffff) {
      return i;
    }
    i += length;
  }
  return std::nullopt;
}

std::optional<StepRole> ParseStepRole(std::string_view text) {
  if (text == "backup") return StepRole::kBackup;
  if (text == "change") return StepRole::kChange;
  if (text == "verify") return StepRole::kVerify;
  if (text == "other") return StepRole::kOther;
  return std::nullopt;
}

std::string_view ParamTypeName(ParamType type) {
  switch (type) {
    case ParamType::kString:
      return "a string";
    case ParamType::kInteger:
      return "an integer";
    case ParamType::kBoolean:
      return "a boolean (true or false)";
    case ParamType::kStringList:
      return "a list of strings";
    case ParamType::kStringMap:
      return "a mapping of strings to strings";
    case ParamType::kAny:
      return "any value";
  }
  return "a value";
}

}  // namespace rollbook::commands::runbook_internal
