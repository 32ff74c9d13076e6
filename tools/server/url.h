// Request-target parsing and base64url, for the HTTP API. No Beast here, so it is unit-testable.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ledger/status.h"

namespace rollbook::server {

// Decodes %XX escapes. In a query component `plus_is_space` turns '+' into ' '. Fails with
// kInvalidArgument on a truncated or non-hex escape, and on an encoded NUL byte.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Splits "a=1&b=2" into decoded pairs, keeping order and repeats. A key without '=' gets "".
Result<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query);

std::string Base64UrlEncode(std::string_view bytes);  // without padding
// Fails with kInvalidArgument on a character outside the base64url alphabet or a bad length.
Result<std::string> Base64UrlDecode(std::string_view text);

}  // namespace rollbook::server
