// The `audit` projection: indexes from actor, event type, component and rollback id to event
// positions, and counts per actor, type, component and UTC day.
//
// Stored entries (column family "audit"):
//   "a:" actor     NUL BE64(position) -> empty
//   "t:" type      NUL BE64(position) -> empty
//   "c:" component NUL BE64(position) -> empty
//   "r:" rollback  NUL BE64(position) -> empty   (the event's correlation id)
//   "summary"                          -> JSON counts, as ToJson() returns
// Time ranges need no index here: the ledger keeps one (ReadOptions::since_ns/until_ns).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "projections/projection.h"

namespace rollbook::projections {

enum class AuditIndex { kActor, kType, kComponent, kRollback };

class AuditProjection final : public Projection {
 public:
  static constexpr std::string_view kName = "audit";

  // `keep_index` false skips collecting index entries, for detached evaluation.
  explicit AuditProjection(bool keep_index = true) : keep_index_(keep_index) {}

  std::string_view name() const override { return kName; }
  uint32_t format_version() const override { return 1; }
  void Apply(const ledger::RecordedEvent& event) override;
  Status Save(StateWriter& writer) override;
  Status Load(StateReader& reader) override;
  nlohmann::json ToJson() const override;
  std::unique_ptr<Projection> NewDetached() const override;

  // Appends to `positions` up to `limit` stored positions after `after` whose `index` entry is
  // `value`, in ascending order. Only positions up to `stored.checkpoint()` are indexed.
  static Status FindPositions(StateReader& stored, AuditIndex index, std::string_view value,
                              uint64_t after, size_t limit, std::vector<uint64_t>* positions);

 private:
  struct Counts {
    uint64_t events = 0;
    int64_t first_at_ns = 0;
    int64_t last_at_ns = 0;
    std::map<std::string, uint64_t> actors;
    std::map<std::string, uint64_t> types;
    std::map<std::string, uint64_t> components;
    std::map<std::string, uint64_t> days;  // "YYYY-MM-DD" in UTC
  };

  bool keep_index_;
  Counts counts_;
  std::vector<std::string> pending_keys_;  // index entries not saved yet
};

}  // namespace rollbook::projections
