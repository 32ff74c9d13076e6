// SHA-256 of the hash chain, with OpenSSL's EVP interface.
#pragma once

#include <string>
#include <string_view>

namespace rollbook::ledger {

// Returns the raw 32-byte SHA-256 of previous_hash || body.
std::string ChainHash(std::string_view previous_hash, std::string_view body);

// Returns the raw 32-byte SHA-256 of data.
std::string Sha256(std::string_view data);

// Returns 32 zero bytes: the previous hash of the first event.
const std::string& GenesisHash();

std::string FromHex(std::string_view hex);  // returns empty on invalid input

}  // namespace rollbook::ledger
