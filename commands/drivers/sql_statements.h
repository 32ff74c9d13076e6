// Splitting a SQL script into the statements a server runs one at a time.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ledger/status.h"

namespace rollbook::commands {

struct SqlStatement {
  std::string text;  // from the first token up to, not including, the terminating semicolon
  int line = 0;      // 1-based line of the script where the statement starts

  // Returns the statement's first line, shortened to about 100 characters, for error messages.
  std::string FirstLine() const;
};

// Splits `script` at top-level semicolons, following PostgreSQL's lexical rules closely enough
// for migration files: semicolons inside quoted strings ('...', E'...'), quoted identifiers,
// dollar-quoted bodies ($$...$$, $tag$...$tag$), line and nested block comments, parentheses
// and SQL-standard routine bodies (CREATE FUNCTION ... BEGIN ATOMIC ... END) do not end a
// statement. Comments before a statement are dropped; empty statements are skipped.
// Fails with kInvalidArgument, naming the line, on an unterminated quote, comment or dollar
// quote, and on psql meta-commands such as \connect, which only psql understands.
Result<std::vector<SqlStatement>> SplitSqlStatements(std::string_view script);

}  // namespace rollbook::commands
