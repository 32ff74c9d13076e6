// Helpers for projections that store one JSON entry per key, so that a checkpoint writes only
// the entries that changed. Include only from projection sources: it pulls in nlohmann/json.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "projections/projection.h"

namespace rollbook::projections {

// Writes `value` as JSON under `prefix` + `suffix`.
template <typename T>
void PutJsonEntry(StateWriter& writer, std::string_view prefix, std::string_view suffix,
                  const T& value) {
  std::string key(prefix);
  key += suffix;
  writer.Put(key, nlohmann::json(value).dump());
}

// Reads every entry under `prefix` as a T and calls `insert(suffix, value)` for each, in key
// order. Fails with kCorruption naming the projection and the key of an entry that does not parse.
template <typename T, typename Insert>
Status LoadJsonEntries(StateReader& reader, std::string_view projection, std::string_view prefix,
                       Insert insert) {
  Status failure;
  ROLLBOOK_RETURN_IF_ERROR(
      reader.Scan(prefix, "", [&](std::string_view key, std::string_view value) {
        try {
          insert(key.substr(prefix.size()), nlohmann::json::parse(value).get<T>());
          return true;
        } catch (const nlohmann::json::exception& e) {
          failure = Corruption(std::string(projection) + " projection entry '" + std::string(key) +
                               "' is not valid: " + e.what());
          return false;
        }
      }));
  return failure;
}

}  // namespace rollbook::projections
