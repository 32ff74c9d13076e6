// Running PostgreSQL's client programs (pg_dump, pg_restore) as child processes.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "ledger/status.h"

namespace rollbook::commands {

// Returns the directory holding pg_dump and pg_restore: `configured` when it is not empty,
// otherwise the newest /usr/lib/postgresql/<major>/bin that has both. pg_dump must be at least
// as new as the server, so the newest installed version is the safe choice. Fails with
// kNotFound naming the places searched and the fix.
Result<std::string> FindPostgresBinDir(const std::string& configured);

struct ChildRun {
  int exit_code = 0;        // the exit status, or 128 + signal when a signal ended the process
  std::string stderr_text;  // capped at 64 KiB
};

// Runs `argv` without a shell (argv[0] is a path) in its own process group. stdin and stdout are
// /dev/null and stderr is captured. The environment is the parent's plus `extra_env`, whose
// "NAME=value" entries replace variables of the same name. On `timeout` or when `cancelled` returns
// true, the group gets SIGTERM and, 3 s later, SIGKILL; the call then fails with kTimeout or
// kCancelled. A non-zero exit is not an error here: callers read exit_code.
Result<ChildRun> RunChildProcess(const std::vector<std::string>& argv,
                                 const std::vector<std::string>& extra_env,
                                 std::chrono::milliseconds timeout,
                                 const std::function<bool()>& cancelled);

}  // namespace rollbook::commands
