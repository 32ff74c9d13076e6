// The import subcommand: a JSON Lines export becomes a new ledger, or nothing at all.
//
// The events go into a hidden sibling directory, which is verified, fsynced and then renamed to
// the target, so the target never exists half-written. On any failure the sibling is removed.
#include <fmt/core.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "ledger/event_json.h"
#include "tools/cli/cli.h"
#include "tools/cli/durable_files.h"
#include "tools/cli/exit_status.h"
#include "tools/cli/ledger_access.h"
#include "tools/cli/ledger_commands.h"

namespace rollbook::cli {
namespace {

namespace fs = std::filesystem;

struct ImportArguments {
  std::string file;
  std::string into;
};

// Removes the staging directory unless Keep() was called.
class StagingDirectory {
 public:
  explicit StagingDirectory(std::string path) : path_(std::move(path)) {}
  ~StagingDirectory() {
    if (path_.empty()) return;
    std::error_code error;
    fs::remove_all(path_, error);
    if (error) spdlog::error("cannot remove the partial import {}: {}", path_, error.message());
  }
  StagingDirectory(const StagingDirectory&) = delete;
  StagingDirectory& operator=(const StagingDirectory&) = delete;
  const std::string& path() const { return path_; }
  void Keep() { path_.clear(); }

 private:
  std::string path_;
};

std::string StagingPath(const std::string& target) {
  fs::path path(target);
  std::string name = path.filename().string();
  return (path.parent_path() / ("." + name + ".import-" + std::to_string(::getpid()))).string();
}

// Imports into `directory`, verifies the result and makes every file durable. Returns the number
// of events.
Result<uint64_t> ImportAndVerify(std::istream& in, const std::string& directory) {
  // Appends skip the per-event fsync, because SyncDirectoryTree() makes the import durable at once.
  ledger::Options options;
  options.directory = directory;
  options.sync = false;
  options.owner = "rollbook import";
  auto created = ledger::Ledger::CreateForImport(options);
  if (!created.ok()) return created.status();
  std::unique_ptr<ledger::Ledger> ledger = std::move(created).value();

  auto imported = ledger::ImportJsonLines(*ledger, in);
  if (!imported.ok()) return imported.status();
  if (*imported == 0) {
    return InvalidArgument("the file holds no events");
  }
  auto report = ledger->Verify(ledger::VerifyOptions{});
  if (!report.ok()) return report.status();
  if (!report->intact) {
    return Corruption(fmt::format("the imported chain is broken at position {}: {}",
                                  report->first_bad_position, report->problem));
  }

  ledger.reset();
  ROLLBOOK_RETURN_IF_ERROR(SyncDirectoryTree(directory));
  return *imported;
}

int RunImport(const GlobalOptions& options, const ImportArguments& arguments) {
  std::error_code error;
  if (fs::exists(arguments.into, error) || fs::is_symlink(arguments.into, error)) {
    return ReportFailure(kExitConflict, arguments.into +
                                            " already exists; import creates a new ledger, so "
                                            "name a directory that does not exist");
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (arguments.file != "-") {
    file.open(arguments.file, std::ios::binary);
    if (!file) {
      int error_number = errno;
      return ReportFailure(
          error_number == ENOENT ? kExitNotFound : kExitIo,
          "cannot open import file " + arguments.file + ": " + std::strerror(error_number));
    }
    in = &file;
  }

  StagingDirectory staging(StagingPath(arguments.into));
  if (fs::exists(staging.path(), error)) fs::remove_all(staging.path(), error);
  auto imported = ImportAndVerify(*in, staging.path());
  if (!imported.ok()) {
    // Content problems fail the import with status 1, and storage problems keep status 6.
    Status status = imported.status();
    ExitCode code = status.code() == StatusCode::kIoError ? kExitIo : kExitFailed;
    return ReportFailure(code, "import of " + arguments.file + " failed: " + status.message() +
                                   "; nothing was created at " + arguments.into +
                                   ". The file must be a complete, unaltered `rollbook export`");
  }
  Status renamed = RenameNoReplace(staging.path(), arguments.into);
  if (!renamed.ok()) return ReportFailure(renamed);
  staging.Keep();
  renamed = SyncDirectory(ParentDirectory(arguments.into));
  if (!renamed.ok()) return ReportFailure(renamed);
  spdlog::info("imported {} events from {} into {}", *imported, arguments.file, arguments.into);

  if (options.json) {
    fmt::print("{}\n",
               nlohmann::json({{"directory", arguments.into}, {"events", *imported}}).dump());
  } else {
    fmt::print("Imported {} events into {}; the chain verifies.\n", *imported, arguments.into);
  }
  return kExitOk;
}

}  // namespace

void AddImportCommand(CLI::App& app, GlobalOptions& options) {
  auto arguments = std::make_shared<ImportArguments>();
  CLI::App* import = app.add_subcommand(
      "import", "Create a new ledger from a JSON Lines export, checking the whole chain");
  import->add_option("FILE", arguments->file, "Export file to read; - reads stdin")->required();
  import->add_option("--into", arguments->into, "Directory of the new ledger; must not exist")
      ->required();
  SetAction(*import, options, [&options, arguments] { return RunImport(options, *arguments); });
}

}  // namespace rollbook::cli
