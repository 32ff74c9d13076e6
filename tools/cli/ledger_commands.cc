// The ledger subcommands that write: init, note and ledger-backup.
#include "tools/cli/ledger_commands.h"

#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "ledger/payload.h"
#include "tools/cli/cli.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/ledger_access.h"
#include "tools/cli/rollback_commands.h"

namespace rollbook::cli {
namespace {

namespace fs = std::filesystem;

struct NoteArguments {
  std::string stream;
  std::string text;
  std::string rollback;
  std::string component;
  std::string idempotency_key;
};

void PrintJson(const nlohmann::json& value) { fmt::print("{}\n", value.dump()); }

int RunInit(const GlobalOptions& options) {
  auto created =
      ledger::Ledger::Create(LedgerOptions(options, LedgerAccess::kWrite, "init"), options.actor);
  if (!created.ok()) return ReportFailure(created.status());
  auto info = (*created)->Info();
  if (!info.ok()) return ReportFailure(info.status());

  if (options.json) {
    PrintJson({{"directory", info->directory},
               {"ledgerId", info->ledger_id},
               {"headPosition", info->head_position},
               {"headHash", ledger::ToHex(info->head_hash)}});
  } else {
    fmt::print("Created ledger {} with id {}.\n", info->directory, info->ledger_id);
  }
  return kExitOk;
}

int RunNote(const GlobalOptions& options, const NoteArguments& arguments) {
  if (arguments.text.empty()) {
    return ReportFailure(kExitUsage, "the note text is empty; pass the text to record");
  }
  // With --server, or when another process owns the ledger, the note goes to that server or
  // owner as a command. The local route waits briefly when the owner is a short command.
  nlohmann::json args = {{"text", arguments.text},
                         {"stream", arguments.stream},
                         {"idempotency_key", arguments.idempotency_key}};
  if (!arguments.rollback.empty()) args["rollback_id"] = arguments.rollback;
  if (!arguments.component.empty()) args["component"] = arguments.component;
  GlobalOptions routed = options;
  if (!options.server_url.empty()) return RunOperatorCommand(routed, "note", args, false);
  auto opened = OpenLedger(options, LedgerAccess::kWrite, "note");
  if (!opened.ok() && opened.status().code() == StatusCode::kBusy) {
    return RunOperatorCommand(routed, "note", args, /*follow=*/false);
  }
  if (!opened.ok()) return ReportFailure(opened.status());

  ledger::AppendRequest request;
  request.stream = arguments.stream;
  request.actor = options.actor;
  request.correlation_id = arguments.rollback;
  request.command_id = arguments.idempotency_key;
  request.events.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
    auto note = payload.initAnnotation();
    note.setText(arguments.text);
    if (!arguments.component.empty()) note.setComponent(arguments.component);
  }));
  auto appended = (*opened)->Append(request);
  if (!appended.ok()) return ReportFailure(appended.status());

  if (options.json) {
    PrintJson({{"position", appended->last_position},
               {"stream", arguments.stream},
               {"streamVersion", appended->last_stream_version},
               {"duplicate", appended->duplicate}});
  } else if (appended->duplicate) {
    fmt::print(
        "Idempotency key '{}' was used before: the note is at position {}; nothing was "
        "written.\n",
        arguments.idempotency_key, appended->last_position);
  } else {
    fmt::print("Appended note at position {} ({}@{}).\n", appended->last_position, arguments.stream,
               appended->last_stream_version);
  }
  return kExitOk;
}

// Describes the process that owns `directory`, such as "pid 42 (rollbook serve by alice)".
std::string DescribeOwner(const std::string& directory) {
  std::string pid;
  std::string owner;
  for (const auto& [key, value] : ledger::ReadOwnerDetails(directory)) {
    if (key == "pid") pid = value;
    if (key == "owner") owner = value;
  }
  if (pid.empty()) return "another process";
  return "pid " + pid + (owner.empty() ? "" : " (" + owner + ")");
}

int RunBackup(const GlobalOptions& options, const std::string& target) {
  std::string parent = fs::path(target).parent_path().string();
  std::error_code error;
  if (!parent.empty() && !fs::is_directory(parent, error)) {
    return ReportFailure(kExitNotFound,
                         "backup parent directory " + parent + " does not exist; create it first");
  }

  // A RocksDB checkpoint flushes the memtable, which needs the writer's database handle.
  auto opened = OpenLedger(options, LedgerAccess::kWrite, "ledger-backup");
  if (!opened.ok() && opened.status().code() == StatusCode::kBusy) {
    return ReportFailure(
        kExitBusy, "cannot back up ledger " + options.ledger_dir + ": it is open for writing by " +
                       DescribeOwner(options.ledger_dir) +
                       "; a checkpoint needs the writer's handle, so stop that process "
                       "and run ledger-backup again");
  }
  if (!opened.ok()) return ReportFailure(opened.status());
  Status checkpointed = (*opened)->Checkpoint(target);
  if (!checkpointed.ok()) return ReportFailure(checkpointed);
  opened->reset();

  // Check the copy before calling it a backup.
  ledger::Options copy_options;
  copy_options.directory = target;
  copy_options.read_only = true;
  auto copy = ledger::Ledger::Open(copy_options);
  if (!copy.ok()) return ReportFailure(copy.status().WithContext("cannot open the backup"));
  auto report = (*copy)->Verify(ledger::VerifyOptions{});
  if (!report.ok()) return ReportFailure(report.status().WithContext("cannot verify the backup"));
  if (!report->intact) {
    return ReportFailure(kExitFailed,
                         fmt::format("the backup in {} is broken at position {}: {}; keep the "
                                     "source ledger and run `rollbook verify` on it",
                                     target, report->first_bad_position, report->problem));
  }
  auto info = (*copy)->Info();
  if (!info.ok()) return ReportFailure(info.status());

  if (options.json) {
    PrintJson({{"backup", target},
               {"headPosition", info->head_position},
               {"headHash", ledger::ToHex(info->head_hash)},
               {"intact", true}});
  } else {
    fmt::print("Backed up {} events to {}; the copy's chain verifies (head hash {}).\n",
               info->head_position, target, ledger::ToHex(info->head_hash));
  }
  return kExitOk;
}

}  // namespace

void AddInitCommand(CLI::App& app, GlobalOptions& options) {
  CLI::App* init = app.add_subcommand(
      "init", "Create a new ledger in the --ledger directory; an existing ledger is never touched");
  SetAction(*init, options, [&options] { return RunInit(options); });
}

void AddNoteCommand(CLI::App& app, GlobalOptions& options) {
  auto note_arguments = std::make_shared<NoteArguments>();
  CLI::App* note = app.add_subcommand("note", "Append a note (an annotation event) to a stream");
  note->add_option("STREAM", note_arguments->stream, "Stream to append to, such as incident-7")
      ->required();
  note->add_option("TEXT", note_arguments->text, "Text of the note")->required();
  note->add_option("--rollback", note_arguments->rollback,
                   "Rollback id (correlation id) the note belongs to, such as rb-3");
  note->add_option("--component", note_arguments->component, "Component the note is about");
  note->add_option("--idempotency-key", note_arguments->idempotency_key,
                   "Key that makes a retried note a no-op: a repeated key appends nothing");
  SetAction(*note, options,
            [&options, note_arguments] { return RunNote(options, *note_arguments); });
}

void AddBackupCommand(CLI::App& app, GlobalOptions& options) {
  auto backup_target = std::make_shared<std::string>();
  CLI::App* backup = app.add_subcommand(
      "ledger-backup",
      "Write a consistent copy of the ledger (RocksDB checkpoint) to a new directory");
  backup->add_option("DIR", *backup_target, "New directory for the copy; must not exist")
      ->required();
  SetAction(*backup, options,
            [&options, backup_target] { return RunBackup(options, *backup_target); });
}

void AddLedgerCommands(CLI::App& app, GlobalOptions& options) {
  AddInitCommand(app, options);
  AddInfoCommand(app, options);
  AddLogCommand(app, options);
  AddNoteCommand(app, options);
  AddVerifyCommand(app, options);
  AddExportCommand(app, options);
  AddImportCommand(app, options);
  AddBackupCommand(app, options);
}

}  // namespace rollbook::cli
