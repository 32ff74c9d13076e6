// File writes that survive a crash whole or not at all: temp file, fsync, rename, fsync dir.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>

#include "ledger/status.h"

namespace rollbook::cli {

// Creates or replaces `path` with what `write` puts into the stream. The data goes to a temp
// file in the same directory, which is fsynced and renamed to `path`, and then the directory is
// fsynced. On any failure the temp file is removed and `path` is left as it was. Fails with
// kAlreadyExists when `path` exists and `replace` is false.
Status WriteFileAtomically(const std::string& path, bool replace,
                           const std::function<Status(std::ostream&)>& write);

// Fsyncs every regular file and directory under `directory`, and `directory` itself.
Status SyncDirectoryTree(const std::string& directory);

// Fsyncs the entries of one directory (created, renamed or removed names).
Status SyncDirectory(const std::string& directory);

// Renames `from` to `to`, failing with kAlreadyExists instead of replacing an existing `to`.
Status RenameNoReplace(const std::string& from, const std::string& to);

// Returns the parent directory of `path`, "." for a bare file name.
std::string ParentDirectory(const std::string& path);

}  // namespace rollbook::cli
