// The driver interface: how a runbook step acts on a real system.
//
// A driver offers named actions (flagd: backup, disable, verify, restore). Each action declares
// its parameters and its defaults for role, mutation and idempotency, which the runbook
// validator checks steps against. The orchestrator calls Run() on its own worker thread; a driver
// must return by the step's timeout and should check `cancelled` between sub-operations.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "commands/backup_store.h"
#include "ledger/status.h"

namespace rollbook::commands {

class Redactor;

enum class StepRole { kBackup, kChange, kVerify, kOther };
std::string_view StepRoleName(StepRole role);

enum class ParamType { kString, kInteger, kBoolean, kStringList, kStringMap, kAny };

struct ParamSpec {
  std::string name;
  ParamType type = ParamType::kString;
  bool required = false;
  std::string help;
};

struct ActionSpec {
  std::string name;
  StepRole role = StepRole::kOther;
  bool mutates = false;
  bool idempotent = false;  // safe to re-run after a crash left its outcome unknown
  std::vector<ParamSpec> params;
  std::string help;
};

// Everything a step's run may use. The orchestrator owns all pointed-to objects for the call.
struct StepContext {
  std::string rollback_id;
  std::string component;
  std::string step;
  std::string action;
  StepRole role = StepRole::kOther;        // the step's role after runbook overrides
  const nlohmann::json* params = nullptr;  // secrets resolved; never log or record these
  bool dry_run = false;
  std::chrono::milliseconds timeout{60000};
  int64_t target_time_ns = 0;              // point-in-time target, 0 when none
  BackupStore* backups = nullptr;
  BackupCatalog* catalog = nullptr;
  const Redactor* redactor = nullptr;      // removes secret values from captured text
  std::function<bool()> cancelled = [] { return false; };
};

struct CapturedOutput {
  std::string stdout_text;
  std::string stderr_text;
  int exit_code = 0;
  bool truncated = false;
};

struct ChangeRecord {
  std::string target;
  std::string before;
  std::string after;
  std::string summary;
};

struct VerificationRecord {
  std::string check;
  std::string expected;
  std::string actual;
  bool passed = false;
};

struct KeyRotationRecord {
  std::string key_id;
  std::string fingerprint;
  std::string destination;
  std::string previous_backup_id;
};

// What a step did. Filled as far as the step got, also when it failed.
struct StepResult {
  std::string summary;  // one line for the terminal and the ledger
  CapturedOutput output;
  std::vector<BackupRecord> backups;
  std::vector<ChangeRecord> changes;
  std::optional<VerificationRecord> verification;
  std::optional<KeyRotationRecord> key_rotation;
  std::string host;  // remote host contacted, for retry analysis
};

struct StepOutcome {
  Status status;  // ok, or what failed; a failed verification is kFailedPrecondition
  StepResult result;
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual std::string_view name() const = 0;
  virtual const std::vector<ActionSpec>& actions() const = 0;

  // Returns one line saying what the step would do with these parameters; touches nothing.
  virtual std::string Describe(const StepContext& context) const = 0;

  // Runs the step. In dry-run mode it reports what it would do and touches nothing.
  virtual StepOutcome Run(const StepContext& context) = 0;

  // Returns the action spec, or nullptr when the driver has no such action.
  const ActionSpec* FindAction(std::string_view action) const;
};

// The drivers known to rollbook, by name.
class DriverRegistry {
 public:
  // Returns the registry with every built-in driver.
  static const DriverRegistry& BuiltIn();

  const Driver* Find(std::string_view name) const;
  Driver* FindMutable(std::string_view name) const;
  std::vector<std::string> Names() const;

  void Add(std::unique_ptr<Driver> driver);

 private:
  std::vector<std::unique_ptr<Driver>> drivers_;
};

}  // namespace rollbook::commands
