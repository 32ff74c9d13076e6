// Checking a Mustache template against the data it will be rendered with, before rendering, so
// that a placeholder missing from the data is an error naming it instead of an empty string.
// Analyzer-internal.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "ledger/status.h"

namespace rollbook::analyzer::internal {

// Fails with kInvalidArgument, naming the template, line and placeholder, when a tag of
// `text` names nothing in `data` at that point of the section nesting, when sections are not
// closed in order, or when the template uses a partial ({{>name}}), which is not supported.
//
// A list in `data` that is empty says nothing about its items' fields, so `item_shapes` gives,
// by the list's member name, an object with every field an item has.
Status CheckTemplate(std::string_view template_name, std::string_view text,
                     const nlohmann::json& data,
                     const std::map<std::string, nlohmann::json>& item_shapes);

}  // namespace rollbook::analyzer::internal
