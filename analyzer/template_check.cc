#include "analyzer/template_check.h"

#include <algorithm>
#include <vector>

namespace rollbook::analyzer::internal {
namespace {

using nlohmann::json;

struct Tag {
  char kind = 0;  // 'v' variable, '#' section, '^' inverted section, '/' section end
  std::string name;
  int line = 1;
};

std::string Trim(std::string_view text) {
  size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

int LineAt(std::string_view text, size_t offset) {
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

// Splits the template into tags, following delimiter changes ({{=<% %>=}}). Comments and
// delimiter changes produce no tag.
Result<std::vector<Tag>> ScanTags(std::string_view name, std::string_view text) {
  std::vector<Tag> tags;
  std::string open = "{{";
  std::string close = "}}";
  size_t position = 0;
  for (;;) {
    size_t start = text.find(open, position);
    if (start == std::string_view::npos) break;
    size_t inner = start + open.size();
    std::string end_marker = close;
    bool triple = open == "{{" && inner < text.size() && text[inner] == '{';
    if (triple) {
      ++inner;
      end_marker = "}" + close;
    }
    size_t end = text.find(end_marker, inner);
    int line = LineAt(text, start);
    if (end == std::string_view::npos) {
      return InvalidArgument("template " + std::string(name) + " line " + std::to_string(line) +
                             ": a tag opened with " + open + " is never closed with " + end_marker);
    }
    std::string content = Trim(text.substr(inner, end - inner));
    position = end + end_marker.size();
    if (content.empty()) {
      return InvalidArgument("template " + std::string(name) + " line " + std::to_string(line) +
                             ": empty tag");
    }

    char sigil = triple ? '&' : content[0];
    if (sigil == '!') continue;
    if (sigil == '=') {
      std::string delimiters = Trim(std::string_view(content).substr(1, content.size() - 2));
      size_t space = delimiters.find_first_of(" \t");
      if (content.back() != '=' || space == std::string::npos) {
        return InvalidArgument("template " + std::string(name) + " line " + std::to_string(line) +
                               ": a delimiter change must look like {{=<% %>=}}");
      }
      open = delimiters.substr(0, space);
      close = Trim(std::string_view(delimiters).substr(space));
      continue;
    }
    if (sigil == '>') {
      return InvalidArgument("template " + std::string(name) + " line " + std::to_string(line) +
                             ": partials ({{>" + Trim(std::string_view(content).substr(1)) +
                             "}}) are not supported; copy the text into the template");
    }
    Tag tag;
    tag.line = line;
    if (sigil == '#' || sigil == '^' || sigil == '/' || (sigil == '&' && !triple)) {
      tag.kind = sigil == '&' ? 'v' : sigil;
      tag.name = Trim(std::string_view(content).substr(1));
    } else {
      tag.kind = 'v';
      tag.name = content;
    }
    tags.push_back(std::move(tag));
  }
  return tags;
}

json Merge(const json& a, const json& b) {
  if (!a.is_object() || !b.is_object()) return a.is_null() ? b : a;
  json merged = a;
  for (const auto& [key, value] : b.items()) {
    merged[key] = merged.contains(key) ? Merge(merged[key], value) : value;
  }
  return merged;
}

// Returns the data's structure: objects keep their members, and a list becomes a one-item list
// holding the union of its items' fields (or the declared shape when the list is empty).
json Shape(const json& value, const std::string& key,
           const std::map<std::string, json>& item_shapes) {
  if (value.is_object()) {
    json shape = json::object();
    for (const auto& [member, child] : value.items())
      shape[member] = Shape(child, member, item_shapes);
    return shape;
  }
  if (value.is_array()) {
    json item = nullptr;
    for (const json& element : value) item = Merge(item, Shape(element, key, item_shapes));
    auto declared = item_shapes.find(key);
    if (declared != item_shapes.end())
      item = Merge(item, Shape(declared->second, key, item_shapes));
    return json::array({item.is_null() ? json::object() : item});
  }
  return value;
}

std::vector<std::string> Split(const std::string& name) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t dot = name.find('.', start);
    parts.push_back(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// Resolves a name the way the renderer does: innermost context first, dotted names member by
// member, falling back to outer contexts.
const json* Lookup(const std::vector<const json*>& stack, const std::string& name) {
  if (name == ".") return stack.back();
  std::vector<std::string> parts = Split(name);
  for (auto frame = stack.rbegin(); frame != stack.rend(); ++frame) {
    const json* value = *frame;
    for (const std::string& part : parts) {
      if (value == nullptr || !value->is_object() || !value->contains(part)) {
        value = nullptr;
        break;
      }
      value = &(*value)[part];
    }
    if (value != nullptr) return value;
  }
  return nullptr;
}

std::string KnownNames(const std::vector<const json*>& stack) {
  std::vector<std::string> names;
  for (const json* frame : stack) {
    if (!frame->is_object()) continue;
    for (const auto& [key, value] : frame->items()) names.push_back(key);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

}  // namespace

Status CheckTemplate(std::string_view template_name, std::string_view text, const json& data,
                     const std::map<std::string, json>& item_shapes) {
  auto tags = ScanTags(template_name, text);
  if (!tags.ok()) return tags.status();
  json shape = Shape(data, "", item_shapes);
  static const json kNoFields = json::object();
  std::vector<const json*> stack = {&shape};
  std::vector<std::string> open_sections;
  auto where = [&](const Tag& tag) {
    return "template " + std::string(template_name) + " line " + std::to_string(tag.line) + ": ";
  };

  for (const Tag& tag : *tags) {
    if (tag.kind == '/') {
      if (open_sections.empty() || open_sections.back() != tag.name) {
        return InvalidArgument(
            where(tag) + "{{/" + tag.name + "}} closes " +
            (open_sections.empty() ? "no open section" : "the section " + open_sections.back()));
      }
      open_sections.pop_back();
      stack.pop_back();
      continue;
    }
    const json* value = Lookup(stack, tag.name);
    if (value == nullptr) {
      return InvalidArgument(where(tag) + "placeholder {{" + tag.name +
                             "}} is not in the data; names available here: " + KnownNames(stack));
    }
    if (tag.kind == 'v') continue;
    open_sections.push_back(tag.name);
    if (tag.kind == '#' && value->is_array()) {
      stack.push_back(&(*value)[0]);
    } else if (tag.kind == '#' && value->is_object()) {
      stack.push_back(value);
    } else {
      stack.push_back(&kNoFields);
    }
  }
  if (!open_sections.empty()) {
    return InvalidArgument("template " + std::string(template_name) + ": section {{#" +
                           open_sections.back() + "}} is never closed with {{/" +
                           open_sections.back() + "}}");
  }
  return Status::Ok();
}

}  // namespace rollbook::analyzer::internal
