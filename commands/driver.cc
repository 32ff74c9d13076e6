#include "commands/driver.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>

#include "commands/drivers/drivers.h"
#include "commands/secrets.h"

namespace rollbook::commands {

std::string_view StepRoleName(StepRole role) {
  switch (role) {
    case StepRole::kBackup:
      return "backup";
    case StepRole::kChange:
      return "change";
    case StepRole::kVerify:
      return "verify";
    case StepRole::kOther:
      return "other";
  }
  return "other";
}

const ActionSpec* Driver::FindAction(std::string_view action) const {
  for (const ActionSpec& spec : actions()) {
    if (spec.name == action) return &spec;
  }
  return nullptr;
}

const Driver* DriverRegistry::Find(std::string_view name) const { return FindMutable(name); }

Driver* DriverRegistry::FindMutable(std::string_view name) const {
  for (const std::unique_ptr<Driver>& driver : drivers_) {
    if (driver->name() == name) return driver.get();
  }
  return nullptr;
}

std::vector<std::string> DriverRegistry::Names() const {
  std::vector<std::string> names;
  names.reserve(drivers_.size());
  for (const std::unique_ptr<Driver>& driver : drivers_) names.emplace_back(driver->name());
  std::sort(names.begin(), names.end());
  return names;
}

// A driver whose name is already registered replaces the earlier one, so tests can swap in a
// driver of their own under a built-in name.
void DriverRegistry::Add(std::unique_ptr<Driver> driver) {
  for (std::unique_ptr<Driver>& existing : drivers_) {
    if (existing->name() == driver->name()) {
      existing = std::move(driver);
      return;
    }
  }
  drivers_.push_back(std::move(driver));
}

namespace {

// Runbook variables are substituted as text, so "30" is read as the integer 30.
std::optional<int64_t> AsInteger(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (!value.is_string()) return std::nullopt;
  const std::string& text = value.get_ref<const std::string&>();
  int64_t parsed = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return parsed;
}

}  // namespace

ParamReader::ParamReader(const StepContext& context) : context_(context) {
  if (context.params != nullptr && !context.params->is_null() && !context.params->is_object()) {
    Fail("the parameters must be a mapping of names to values");
  }
}

const nlohmann::json* ParamReader::Find(std::string_view name) const {
  if (context_.params == nullptr || !context_.params->is_object()) return nullptr;
  auto it = context_.params->find(name);
  if (it == context_.params->end() || it->is_null()) return nullptr;
  return &*it;
}

bool ParamReader::Has(std::string_view name) const { return Find(name) != nullptr; }

void ParamReader::Fail(const std::string& message) {
  if (!status_.ok()) return;
  status_ = InvalidArgument("step " + context_.component + "/" + context_.step + " (" +
                            context_.action + "): " + message);
}

void ParamReader::WrongType(std::string_view name, std::string_view expected) {
  const nlohmann::json* value = Find(name);
  std::string found = value == nullptr ? "nothing" : value->type_name();
  Fail("parameter '" + std::string(name) + "' must be " + std::string(expected) + ", found " +
       found);
}

std::string ParamReader::String(std::string_view name) {
  if (!Has(name)) {
    Fail("parameter '" + std::string(name) + "' is required");
    return "";
  }
  return String(name, "");
}

std::string ParamReader::String(std::string_view name, std::string fallback) {
  const nlohmann::json* value = Find(name);
  if (value == nullptr) return fallback;
  if (!value->is_string()) {
    WrongType(name, "a string");
    return fallback;
  }
  return value->get<std::string>();
}

int64_t ParamReader::Integer(std::string_view name, int64_t fallback) {
  const nlohmann::json* value = Find(name);
  if (value == nullptr) return fallback;
  std::optional<int64_t> parsed = AsInteger(*value);
  if (!parsed) {
    WrongType(name, "an integer");
    return fallback;
  }
  return *parsed;
}

int64_t ParamReader::Integer(std::string_view name, int64_t fallback, int64_t min, int64_t max) {
  int64_t value = Integer(name, fallback);
  if (value < min || value > max) {
    Fail("parameter '" + std::string(name) + "' is " + std::to_string(value) +
         "; it must be between " + std::to_string(min) + " and " + std::to_string(max));
    return fallback;
  }
  return value;
}

bool ParamReader::Boolean(std::string_view name, bool fallback) {
  const nlohmann::json* value = Find(name);
  if (value == nullptr) return fallback;
  if (value->is_boolean()) return value->get<bool>();
  if (value->is_string() && (*value == "true" || *value == "false")) return *value == "true";
  WrongType(name, "true or false");
  return fallback;
}

std::vector<std::string> ParamReader::StringList(std::string_view name) {
  std::vector<std::string> values = StringList(name, {});
  if (ok() && values.empty()) {
    Fail("parameter '" + std::string(name) + "' is required and must list at least one value");
  }
  return values;
}

std::vector<std::string> ParamReader::StringList(std::string_view name,
                                                 std::vector<std::string> fallback) {
  const nlohmann::json* value = Find(name);
  if (value == nullptr) return fallback;
  // A single string is accepted as a list of one, which is how people write one flag key.
  if (value->is_string()) return {value->get<std::string>()};
  if (!value->is_array() ||
      !std::all_of(value->begin(), value->end(), [](const auto& e) { return e.is_string(); })) {
    WrongType(name, "a list of strings");
    return fallback;
  }
  return value->get<std::vector<std::string>>();
}

std::map<std::string, std::string> ParamReader::StringMap(std::string_view name) {
  const nlohmann::json* value = Find(name);
  if (value == nullptr) return {};
  std::map<std::string, std::string> values;
  if (!value->is_object()) {
    WrongType(name, "a mapping of names to strings");
    return values;
  }
  for (const auto& [key, element] : value->items()) {
    if (element.is_string()) {
      values[key] = element.get<std::string>();
    } else if (element.is_number() || element.is_boolean()) {
      values[key] = element.dump();
    } else {
      Fail("parameter '" + std::string(name) + "' entry '" + key + "' must be a string, found " +
           element.type_name());
      return {};
    }
  }
  return values;
}

std::vector<int64_t> ParamReader::IntegerList(std::string_view name,
                                              std::vector<int64_t> fallback) {
  const nlohmann::json* value = Find(name);
  if (value == nullptr) return fallback;
  if (!value->is_array()) {
    std::optional<int64_t> single = AsInteger(*value);
    if (single) return {*single};
    WrongType(name, "a list of integers");
    return fallback;
  }
  std::vector<int64_t> values;
  for (const nlohmann::json& element : *value) {
    std::optional<int64_t> parsed = AsInteger(element);
    if (!parsed) {
      WrongType(name, "a list of integers");
      return fallback;
    }
    values.push_back(*parsed);
  }
  return values;
}

std::string ParamReader::JsonText(std::string_view name) const {
  const nlohmann::json* value = Find(name);
  return value == nullptr ? "" : value->dump();
}

std::string RedactText(const StepContext& context, std::string text) {
  if (context.redactor == nullptr) return text;
  return context.redactor->Apply(std::move(text));
}

std::optional<StepOutcome> RejectUnknownAction(const Driver& driver, const StepContext& context) {
  if (driver.FindAction(context.action) != nullptr) return std::nullopt;
  if (context.action.empty() && driver.actions().size() == 1) return std::nullopt;
  std::string known;
  for (const ActionSpec& action : driver.actions()) {
    known += (known.empty() ? "" : ", ") + action.name;
  }
  StepOutcome outcome;
  outcome.status = InvalidArgument("the " + std::string(driver.name()) + " driver has no action '" +
                                   context.action + "'; use " + known);
  return outcome;
}

bool HasUnresolvedReference(std::string_view text) {
  size_t start = text.find("${");
  return start != std::string_view::npos && text.find('}', start) != std::string_view::npos;
}

StepOutcome DryRunOutcome(const Driver& driver, const StepContext& context) {
  StepOutcome outcome;
  outcome.result.summary = RedactText(context, driver.Describe(context));
  return outcome;
}

}  // namespace rollbook::commands
