// The text table that `log` prints: one event per row.
#pragma once

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "ledger/event.h"

namespace rollbook::cli {

// Returns a one-line summary of an event's payload, at most about 100 characters: the text of a
// note, and otherwise the payload's non-default fields as name=value.
std::string SummarizeEvent(const ledger::RecordedEvent& event);

// Prints rows in chunks, each aligned to its widest cell, so a long listing streams instead of
// waiting for the last event. The header comes before the first row; no rows print nothing.
class EventTable {
 public:
  explicit EventTable(std::FILE* out) : out_(out) {}
  ~EventTable() { Flush(); }
  EventTable(const EventTable&) = delete;
  EventTable& operator=(const EventTable&) = delete;

  void Add(const ledger::RecordedEvent& event);
  void Flush();

 private:
  static constexpr size_t kColumns = 6;
  static constexpr size_t kChunkRows = 256;
  using Row = std::array<std::string, kColumns>;

  std::FILE* out_;
  bool header_printed_ = false;
  std::vector<Row> rows_;
};

}  // namespace rollbook::cli
