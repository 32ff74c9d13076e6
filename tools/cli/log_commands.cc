// The read-only subcommands that list events: log and export.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "ledger/event_json.h"
#include "ledger/time_format.h"
#include "tools/cli/cli.h"
#include "tools/cli/durable_files.h"
#include "tools/cli/event_filters.h"
#include "tools/cli/event_table.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/ledger_access.h"
#include "tools/cli/ledger_commands.h"

namespace rollbook::cli {
namespace {

constexpr size_t kDefaultLogLimit = 100;

struct ExportArguments {
  EventFilterArguments filters;
  std::string output;
  bool force = false;
};

int RunLog(const GlobalOptions& options, const EventFilterArguments& filters) {
  bool empty = false;
  auto read_options = ToReadOptions(filters, ledger::NowNs(), &empty);
  if (!read_options.ok()) return ReportFailure(read_options.status());
  auto opened = OpenLedger(options, LedgerAccess::kReadOnly, "log");
  if (!opened.ok()) return ReportFailure(opened.status());
  if (empty) read_options->limit = 0;

  auto it = (*opened)->Read(*read_options);
  if (!it.ok()) return ReportFailure(it.status());
  EventTable table(stdout);
  uint64_t printed = 0;
  for (; (*it)->Valid(); (*it)->Next(), ++printed) {
    if (!options.json) {
      table.Add((*it)->event());
      continue;
    }
    auto json = ledger::EventToJson((*it)->event());
    if (!json.ok()) return ReportFailure(json.status());
    fmt::print("{}\n", *json);
  }
  table.Flush();
  if (!(*it)->status().ok()) return ReportFailure((*it)->status());
  if (printed == 0 && !options.json) fmt::print("No events match.\n");
  return kExitOk;
}

int RunExport(const GlobalOptions& options, const ExportArguments& arguments) {
  bool empty = false;
  auto read_options = ToReadOptions(arguments.filters, ledger::NowNs(), &empty);
  if (!read_options.ok()) return ReportFailure(read_options.status());
  if (empty) read_options->limit = 0;
  auto opened = OpenLedger(options, LedgerAccess::kReadOnly, "export");
  if (!opened.ok()) return ReportFailure(opened.status());

  if (arguments.output.empty() || arguments.output == "-") {
    auto exported = ledger::ExportJsonLines(**opened, *read_options, std::cout);
    if (!exported.ok()) return ReportFailure(exported.status());
    return kExitOk;
  }

  uint64_t count = 0;
  Status written = WriteFileAtomically(arguments.output, arguments.force, [&](std::ostream& out) {
    auto exported = ledger::ExportJsonLines(**opened, *read_options, out);
    if (!exported.ok()) return exported.status();
    count = *exported;
    return Status::Ok();
  });
  if (!written.ok()) {
    return ReportFailure(written.WithContext("export to " + arguments.output + " failed"));
  }
  if (options.json) {
    fmt::print("{}\n", nlohmann::json({{"output", arguments.output}, {"events", count}}).dump());
  } else {
    fmt::print("Exported {} events to {}.\n", count, arguments.output);
  }
  return kExitOk;
}

}  // namespace

void AddLogCommand(CLI::App& app, GlobalOptions& options) {
  auto log_filters = std::make_shared<EventFilterArguments>();
  log_filters->limit = kDefaultLogLimit;
  CLI::App* log =
      app.add_subcommand("log", "List events, oldest first: a table, or JSON Lines with --json");
  AddEventFilterOptions(*log, *log_filters);
  SetAction(*log, options, [&options, log_filters] { return RunLog(options, *log_filters); });
}

void AddExportCommand(CLI::App& app, GlobalOptions& options) {
  auto export_arguments = std::make_shared<ExportArguments>();
  CLI::App* export_command = app.add_subcommand(
      "export",
      "Write events as JSON Lines to stdout or a file; only an unfiltered export can be imported");
  AddEventFilterOptions(*export_command, export_arguments->filters);
  export_command->add_option("--output,-o", export_arguments->output,
                             "File to write atomically (temp file, fsync, rename); default stdout");
  export_command->add_flag("--force", export_arguments->force,
                           "Replace the --output file when it exists");
  SetAction(*export_command, options,
            [&options, export_arguments] { return RunExport(options, *export_arguments); });
}

}  // namespace rollbook::cli
