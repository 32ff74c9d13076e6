// The flagd driver: backs up, switches off, verifies and restores flags in an OpenFeature flagd
// flag-definition file.
//
// The file is a JSON object whose `flags` object maps each flag key to an object with `state`
// (ENABLED or DISABLED), `variants`, `defaultVariant` and optional `targeting`. Members such as
// `$evaluators` and `metadata`, and any unknown ones, are kept as they are and in their order.
// Every write replaces the file atomically and keeps its mode and owner.
//
// Switching a flag off pins it by default: state ENABLED, defaultVariant set to the off variant
// and targeting removed, so flagd itself serves the off variant. State DISABLED only makes flagd
// tell the application to use its code default, which may be "on", so it is used only when the
// step asks for it with `method: state-disabled`.
#include <fnmatch.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "commands/drivers/drivers.h"

namespace rollbook::commands {
namespace {

using OrderedJson = nlohmann::ordered_json;

constexpr size_t kListedFlagsInError = 20;

enum class DisableMethod { kPinOffVariant, kStateDisabled };

struct FlagdOptions {
  std::string file;
  std::string origin;  // the absolute path, as recorded on backups
  std::vector<std::string> flags;
  std::string off_variant = "off";
  DisableMethod method = DisableMethod::kPinOffVariant;
  std::string backup_id;
};

Result<FlagdOptions> ParseOptions(const StepContext& context) {
  ParamReader params(context);
  FlagdOptions options;
  options.file = params.String("file");
  bool selects_flags = context.action == "disable" || context.action == "verify";
  if (selects_flags) {
    options.flags = params.StringList("flags");
    options.off_variant = params.String("off_variant", "off");
    std::string method = params.String("method", "pin-off-variant");
    if (method == "state-disabled") {
      options.method = DisableMethod::kStateDisabled;
    } else if (method != "pin-off-variant") {
      params.Fail("parameter 'method' is '" + method +
                  "'; use pin-off-variant (the default) or state-disabled");
    }
  }
  if (context.action == "restore") options.backup_id = params.String("backup_id", "");
  if (!params.ok()) return params.status();
  if (options.file.empty()) return InvalidArgument("parameter 'file' is empty; name the flag file");
  options.origin = std::filesystem::absolute(options.file).lexically_normal().string();
  return options;
}

std::string JoinNames(const std::vector<std::string>& names, size_t limit = SIZE_MAX) {
  std::string text;
  for (size_t i = 0; i < names.size() && i < limit; ++i) {
    if (!text.empty()) text += ", ";
    text += names[i];
  }
  if (names.size() > limit) text += " and " + std::to_string(names.size() - limit) + " more";
  return text;
}

std::string DescribeAction(const std::string& action, const FlagdOptions& options) {
  std::string flags = JoinNames(options.flags);
  bool pin = options.method == DisableMethod::kPinOffVariant;
  if (action == "backup")
    return "would back up flag file " + options.origin + " into the backup store";
  if (action == "disable" && pin) {
    return "would pin flags " + flags + " in " + options.origin + " to variant '" +
           options.off_variant + "' and remove their targeting";
  }
  if (action == "disable")
    return "would set state DISABLED on flags " + flags + " in " + options.origin;
  if (action == "verify" && pin) {
    return "would check that flags " + flags + " in " + options.origin + " evaluate to variant '" +
           options.off_variant + "'";
  }
  if (action == "verify")
    return "would check that flags " + flags + " in " + options.origin + " are DISABLED";
  if (options.backup_id.empty()) {
    return "would restore " + options.origin + " from its latest backup taken in this rollback";
  }
  return "would restore " + options.origin + " from backup " + options.backup_id;
}

// --- Reading and writing the flag file ---------------------------------------------------

struct FlagFile {
  std::string bytes;
  OrderedJson document;
};

Result<FlagFile> LoadFlagFile(const std::string& path) {
  Result<std::string> bytes = ReadFileBytes(path);
  if (!bytes.ok()) {
    return Status(bytes.status().code(), "cannot read flag file: " + bytes.status().message());
  }
  FlagFile file{std::move(bytes).value(), {}};
  try {
    file.document = OrderedJson::parse(file.bytes);
  } catch (const nlohmann::json::parse_error& error) {
    // what() reads "[json.exception.parse_error.101] parse error at line 3, column 11: ...".
    std::string description = error.what();
    size_t prefix_end = description.find("] ");
    if (prefix_end != std::string::npos) description = description.substr(prefix_end + 2);
    return InvalidArgument("invalid JSON in flag file " + path + ": " + description +
                           "; fix the file or restore it from a backup (nothing was written)");
  }
  if (!file.document.is_object() || !file.document.contains("flags") ||
      !file.document["flags"].is_object()) {
    return InvalidArgument("flag file " + path +
                           " has no top-level \"flags\" object, so it is not a flagd flag file");
  }
  return file;
}

// Returns the indentation the file was written with, so a rewrite keeps its look: -1 for
// compact JSON on one line.
std::pair<int, char> DetectIndent(const std::string& bytes) {
  size_t newline = bytes.find('\n');
  if (newline == std::string::npos || newline + 1 >= bytes.size()) return {-1, ' '};
  char indent_char = bytes[newline + 1] == '\t' ? '\t' : ' ';
  size_t width = bytes.find_first_not_of(indent_char, newline + 1) - (newline + 1);
  return {width == 0 ? 2 : static_cast<int>(width), indent_char};
}

Status SaveFlagFile(const std::string& path, const FlagFile& file) {
  auto [indent, indent_char] = DetectIndent(file.bytes);
  std::string bytes;
  try {
    bytes = file.document.dump(indent, indent_char);
  } catch (const nlohmann::json::exception& error) {
    return InvalidArgument("cannot write flag file " + path + ": " + error.what());
  }
  if (!file.bytes.empty() && file.bytes.back() == '\n') bytes += '\n';
  return WriteFileAtomically(path, bytes);
}

// Returns the keys of the flags matching `patterns` (exact keys, or fnmatch globs), in file
// order. Fails naming every pattern that matched nothing.
Result<std::vector<std::string>> SelectFlags(const OrderedJson& flags,
                                             const std::vector<std::string>& patterns,
                                             const std::string& path) {
  std::vector<std::string> selected;
  std::vector<std::string> unmatched;
  std::vector<bool> pattern_matched(patterns.size(), false);
  std::vector<std::string> all_keys;
  for (const auto& [key, flag] : flags.items()) {
    all_keys.push_back(key);
    bool match = false;
    for (size_t i = 0; i < patterns.size(); ++i) {
      bool is_glob = patterns[i].find_first_of("*?[") != std::string::npos;
      bool hit = is_glob ? ::fnmatch(patterns[i].c_str(), key.c_str(), 0) == 0 : patterns[i] == key;
      if (hit) pattern_matched[i] = true;
      match = match || hit;
    }
    if (match) selected.push_back(key);
  }
  for (size_t i = 0; i < patterns.size(); ++i) {
    if (!pattern_matched[i]) unmatched.push_back(patterns[i]);
  }
  if (!unmatched.empty()) {
    return NotFound("flag file " + path + " has no flag matching " + JoinNames(unmatched) +
                    " (its flags: " + JoinNames(all_keys, kListedFlagsInError) +
                    "); fix the step's 'flags' (nothing was written)");
  }
  return selected;
}

bool HasTargeting(const OrderedJson& flag) {
  auto it = flag.find("targeting");
  return it != flag.end() && !it->is_null() && !(it->is_object() && it->empty());
}

std::string StringMember(const OrderedJson& flag, const char* name) {
  auto it = flag.find(name);
  if (it == flag.end() || it->is_null()) return "(none)";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string FlagSummary(const OrderedJson& flag) {
  return "state=" + StringMember(flag, "state") +
         " defaultVariant=" + StringMember(flag, "defaultVariant") +
         " targeting=" + (HasTargeting(flag) ? "present" : "absent");
}

std::vector<std::string> VariantNames(const OrderedJson& flag) {
  std::vector<std::string> names;
  auto it = flag.find("variants");
  if (it == flag.end() || !it->is_object()) return names;
  for (const auto& [name, value] : it->items()) names.push_back(name);
  return names;
}

// --- Evaluation, as flagd does it for a request without targeting context -----------------

struct Evaluation {
  std::string outcome;  // what flagd would return, in words
  bool passed = false;
};

Evaluation Evaluate(const OrderedJson& flag, const FlagdOptions& options) {
  std::string state = StringMember(flag, "state");
  if (state == "DISABLED") {
    return {"flag disabled, code default", options.method == DisableMethod::kStateDisabled};
  }
  if (state != "ENABLED") return {"invalid state '" + state + "'", false};
  if (options.method == DisableMethod::kStateDisabled) return {"state ENABLED", false};

  std::string default_variant = StringMember(flag, "defaultVariant");
  if (HasTargeting(flag)) {
    return {"targeting present, which can override defaultVariant '" + default_variant + "'",
            false};
  }
  std::vector<std::string> variants = VariantNames(flag);
  if (std::find(variants.begin(), variants.end(), default_variant) == variants.end()) {
    return {"defaultVariant '" + default_variant + "' is not one of its variants", false};
  }
  return {"variant '" + default_variant + "'", default_variant == options.off_variant};
}

// --- The driver --------------------------------------------------------------------------

std::vector<ActionSpec> FlagdActions() {
  ParamSpec file{"file", ParamType::kString, true, "path of the flagd flag-definition JSON file"};
  ParamSpec flags{"flags", ParamType::kStringList, true, "flag keys or glob patterns (fnmatch)"};
  ParamSpec off_variant{"off_variant", ParamType::kString, false,
                        "variant that switches a flag off (default \"off\")"};
  ParamSpec method{"method", ParamType::kString, false,
                   "pin-off-variant (default) or state-disabled"};
  ParamSpec backup_id{"backup_id", ParamType::kString, false,
                      "backup to restore (default: the latest of this file in this rollback)"};
  return {
      {"backup",
       StepRole::kBackup,
       false,
       true,
       {file},
       "copy the flag file into the backup store"},
      {"disable",
       StepRole::kChange,
       true,
       true,
       {file, flags, off_variant, method},
       "switch the selected flags off"},
      {"verify",
       StepRole::kVerify,
       false,
       true,
       {file, flags, off_variant, method},
       "check that the selected flags evaluate to off"},
      {"restore",
       StepRole::kChange,
       true,
       true,
       {file, backup_id},
       "put a backed-up flag file back"},
  };
}

class FlagdDriver : public Driver {
 public:
  std::string_view name() const override { return "flagd"; }
  const std::vector<ActionSpec>& actions() const override { return actions_; }

  std::string Describe(const StepContext& context) const override {
    Result<FlagdOptions> options = ParseOptions(context);
    if (!options.ok())
      return "would run flagd " + context.action + ", but " + options.status().message();
    return DescribeAction(context.action, *options);
  }

  StepOutcome Run(const StepContext& context) override {
    if (std::optional<StepOutcome> rejected = RejectUnknownAction(*this, context)) return *rejected;
    if (context.dry_run) return DryRunOutcome(*this, context);
    StepOutcome outcome;
    Result<FlagdOptions> options = ParseOptions(context);
    if (!options.ok()) {
      outcome.status = options.status();
      return outcome;
    }
    if (context.action == "backup") outcome.status = Backup(context, *options, outcome.result);
    if (context.action == "disable") outcome.status = Disable(*options, outcome.result);
    if (context.action == "verify") outcome.status = Verify(*options, outcome.result);
    if (context.action == "restore") outcome.status = Restore(context, *options, outcome.result);
    return outcome;
  }

 private:
  static Status Backup(const StepContext& context, const FlagdOptions& options,
                       StepResult& result) {
    if (context.backups == nullptr) return Internal("the step has no backup store");
    BackupRecord record;
    record.driver = "flagd";
    record.origin = options.origin;
    record.format = "flagd-json";
    record.rollback_id = context.rollback_id;
    record.component = context.component;
    record.step = context.step;
    Result<BackupRecord> stored = context.backups->PutFile(options.origin, std::move(record));
    if (!stored.ok()) return stored.status();
    result.backups.push_back(*stored);
    result.summary = "backed up " + options.origin + " as " + stored->id + " (" +
                     std::to_string(stored->size_bytes) + " bytes)";
    return Status::Ok();
  }

  static Status Disable(const FlagdOptions& options, StepResult& result) {
    Result<FlagFile> file = LoadFlagFile(options.origin);
    if (!file.ok()) return file.status();
    OrderedJson& flags = file->document["flags"];
    Result<std::vector<std::string>> selected = SelectFlags(flags, options.flags, options.origin);
    if (!selected.ok()) return selected.status();
    ROLLBOOK_RETURN_IF_ERROR(CheckOffVariants(flags, *selected, options));

    bool changed = false;
    for (const std::string& key : *selected) {
      OrderedJson& flag = flags[key];
      ChangeRecord change{options.origin + "#" + key, FlagSummary(flag), "", ""};
      if (options.method == DisableMethod::kPinOffVariant) {
        flag["state"] = "ENABLED";
        flag["defaultVariant"] = options.off_variant;
        flag.erase("targeting");
      } else {
        flag["state"] = "DISABLED";
      }
      change.after = FlagSummary(flag);
      change.summary = change.before == change.after
                           ? "flag " + key + " already off (" + change.after + ")"
                           : "flag " + key + ": " + change.before + " -> " + change.after;
      changed = changed || change.before != change.after;
      result.changes.push_back(std::move(change));
    }

    if (changed) ROLLBOOK_RETURN_IF_ERROR(SaveFlagFile(options.origin, *file));
    result.summary = (changed ? "switched off " : "already off: ") +
                     std::to_string(selected->size()) + " flags in " + options.origin + " (" +
                     JoinNames(*selected, 10) + ")";
    spdlog::info("flagd: {} {} flags in {}", changed ? "switched off" : "found already off",
                 selected->size(), options.origin);
    return Status::Ok();
  }

  // Checks every selected flag before any is changed, so a bad one leaves the file untouched.
  static Status CheckOffVariants(const OrderedJson& flags, const std::vector<std::string>& keys,
                                 const FlagdOptions& options) {
    std::vector<std::string> problems;
    for (const std::string& key : keys) {
      const OrderedJson& flag = flags[key];
      if (!flag.is_object()) {
        problems.push_back("flag '" + key + "' is not a JSON object");
        continue;
      }
      if (options.method == DisableMethod::kStateDisabled) continue;
      std::vector<std::string> variants = VariantNames(flag);
      if (std::find(variants.begin(), variants.end(), options.off_variant) == variants.end()) {
        problems.push_back("flag '" + key + "' has no variant '" + options.off_variant +
                           "' (its variants: " + JoinNames(variants) + ")");
      }
    }
    if (problems.empty()) return Status::Ok();
    std::string message = "cannot switch flags off in " + options.origin + ": ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i == 0 ? "" : "; ") + problems[i];
    return InvalidArgument(message +
                           ". Set off_variant to a variant every selected flag has, or add the "
                           "variant to the file (nothing was written)");
  }

  static Status Verify(const FlagdOptions& options, StepResult& result) {
    Result<FlagFile> file = LoadFlagFile(options.origin);
    if (!file.ok()) return file.status();
    const OrderedJson& flags = file->document["flags"];
    Result<std::vector<std::string>> selected = SelectFlags(flags, options.flags, options.origin);
    if (!selected.ok()) return selected.status();

    VerificationRecord record;
    bool pin = options.method == DisableMethod::kPinOffVariant;
    record.check =
        "flags " + JoinNames(options.flags) + " in " + options.origin +
        (pin ? " evaluate to variant '" + options.off_variant + "' with no targeting context"
             : " are DISABLED");
    record.expected = (pin ? "variant '" + options.off_variant + "'" : "flag disabled") + " for " +
                      std::to_string(selected->size()) + " flags";
    record.passed = true;
    for (const std::string& key : *selected) {
      const OrderedJson& flag = flags[key];
      Evaluation evaluation =
          flag.is_object() ? Evaluate(flag, options) : Evaluation{"not a JSON object", false};
      if (!record.actual.empty()) record.actual += "; ";
      record.actual += key + ": " + evaluation.outcome;
      record.passed = record.passed && evaluation.passed;
    }
    result.verification = record;
    result.summary = std::string(record.passed ? "verified " : "verification failed for ") +
                     std::to_string(selected->size()) + " flags in " + options.origin;
    if (!record.passed) {
      return FailedPrecondition("flag verification failed in " + options.origin + ": expected " +
                                record.expected + ", got " + record.actual);
    }
    return Status::Ok();
  }

  static Result<BackupRecord> FindBackup(const StepContext& context, const FlagdOptions& options) {
    if (context.catalog == nullptr) return Internal("the step has no backup catalogue");
    Result<BackupRecord> record =
        options.backup_id.empty()
            ? context.catalog->LatestInRollback(context.rollback_id, options.origin)
            : context.catalog->FindById(options.backup_id);
    if (!record.ok()) {
      return Status(record.status().code(),
                    record.status().message() + "; run a flagd backup step first or set backup_id");
    }
    if (record->origin != options.origin) {
      return InvalidArgument("backup " + record->id + " is of " + record->origin + ", not of " +
                             options.origin + "; choose a backup of this file");
    }
    if (!record->format.empty() && record->format != "flagd-json") {
      return InvalidArgument("backup " + record->id + " has format " + record->format +
                             ", not flagd-json; choose a backup taken by the flagd driver");
    }
    return record;
  }

  static Status Restore(const StepContext& context, const FlagdOptions& options,
                        StepResult& result) {
    if (context.backups == nullptr) return Internal("the step has no backup store");
    Result<BackupRecord> record = FindBackup(context, options);
    if (!record.ok()) return record.status();
    Result<std::string> bytes = context.backups->ReadChecked(*record);
    if (!bytes.ok()) return bytes.status();

    Result<std::string> current = ReadFileBytes(options.origin);
    std::string before = current.ok() ? "sha256:" + Sha256Hex(*current).substr(0, 16) : "absent";
    std::string after = "sha256:" + record->sha256.substr(0, 16);
    bool same = current.ok() && *current == *bytes;
    if (!same) ROLLBOOK_RETURN_IF_ERROR(WriteFileAtomically(options.origin, *bytes));

    std::string summary = same ? options.origin + " already matches backup " + record->id
                               : "restored " + options.origin + " from backup " + record->id;
    result.changes.push_back({options.origin, before, after, summary});
    result.summary = summary;
    return Status::Ok();
  }

  std::vector<ActionSpec> actions_ = FlagdActions();
};

}  // namespace

std::unique_ptr<Driver> MakeFlagdDriver() { return std::make_unique<FlagdDriver>(); }

}  // namespace rollbook::commands
