#include "projections/audit_projection.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "ledger/keys.h"
#include "projections/event_filter.h"

namespace rollbook::projections {
namespace {

constexpr std::string_view kSummaryKey = "summary";

std::string_view IndexPrefix(AuditIndex index) {
  switch (index) {
    case AuditIndex::kActor:
      return "a:";
    case AuditIndex::kType:
      return "t:";
    case AuditIndex::kComponent:
      return "c:";
    case AuditIndex::kRollback:
      return "r:";
  }
  return "?:";
}

std::string ValuePrefix(AuditIndex index, std::string_view value) {
  std::string prefix(IndexPrefix(index));
  prefix.append(value);
  prefix.push_back('\0');
  return prefix;
}

std::string IndexKey(AuditIndex index, std::string_view value, uint64_t position) {
  std::string key = ValuePrefix(index, value);
  ledger::AppendBigEndian64(&key, position);
  return key;
}

std::string UtcDay(int64_t time_ns) {
  std::time_t seconds = static_cast<std::time_t>(time_ns / 1000000000);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char text[16];
  std::strftime(text, sizeof(text), "%Y-%m-%d", &parts);
  return text;
}

}  // namespace

void AuditProjection::Apply(const ledger::RecordedEvent& event) {
  std::vector<std::string> components = EventComponents(event);

  ++counts_.events;
  if (counts_.first_at_ns == 0) counts_.first_at_ns = event.recorded_at_ns;
  counts_.last_at_ns = event.recorded_at_ns;
  ++counts_.actors[event.actor];
  ++counts_.types[event.type];
  for (const auto& component : components) ++counts_.components[component];
  ++counts_.days[UtcDay(event.recorded_at_ns)];

  if (!keep_index_) return;
  pending_keys_.push_back(IndexKey(AuditIndex::kActor, event.actor, event.position));
  pending_keys_.push_back(IndexKey(AuditIndex::kType, event.type, event.position));
  for (const auto& component : components) {
    pending_keys_.push_back(IndexKey(AuditIndex::kComponent, component, event.position));
  }
  if (!event.correlation_id.empty()) {
    pending_keys_.push_back(IndexKey(AuditIndex::kRollback, event.correlation_id, event.position));
  }
}

Status AuditProjection::Save(StateWriter& writer) {
  for (const auto& key : pending_keys_) writer.Put(key, "");
  pending_keys_.clear();
  writer.Put(kSummaryKey, ToJson().dump());
  return Status::Ok();
}

Status AuditProjection::Load(StateReader& reader) {
  counts_ = Counts();
  pending_keys_.clear();
  auto stored = reader.Get(kSummaryKey);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return Status::Ok();
  try {
    nlohmann::json summary = nlohmann::json::parse(**stored);
    counts_.events = summary.at("events").get<uint64_t>();
    counts_.first_at_ns = summary.at("first_at_ns").get<int64_t>();
    counts_.last_at_ns = summary.at("last_at_ns").get<int64_t>();
    counts_.actors = summary.at("by_actor").get<std::map<std::string, uint64_t>>();
    counts_.types = summary.at("by_type").get<std::map<std::string, uint64_t>>();
    counts_.components = summary.at("by_component").get<std::map<std::string, uint64_t>>();
    counts_.days = summary.at("by_day").get<std::map<std::string, uint64_t>>();
  } catch (const nlohmann::json::exception& e) {
    return Corruption("audit projection summary is not valid: " + std::string(e.what()));
  }
  return Status::Ok();
}

nlohmann::json AuditProjection::ToJson() const {
  return {{"events", counts_.events},
          {"first_at_ns", counts_.first_at_ns},
          {"last_at_ns", counts_.last_at_ns},
          {"by_actor", counts_.actors},
          {"by_type", counts_.types},
          {"by_component", counts_.components},
          {"by_day", counts_.days}};
}

std::unique_ptr<Projection> AuditProjection::NewDetached() const {
  return std::make_unique<AuditProjection>(/*keep_index=*/false);
}

Status AuditProjection::FindPositions(StateReader& stored, AuditIndex index, std::string_view value,
                                      uint64_t after, size_t limit,
                                      std::vector<uint64_t>* positions) {
  if (limit == 0) return Status::Ok();
  std::string prefix = ValuePrefix(index, value);
  std::string start = IndexKey(index, value, after + 1);
  size_t found = 0;
  return stored.Scan(prefix, start, [&](std::string_view key, std::string_view) {
    if (key.size() != prefix.size() + 8) return true;
    positions->push_back(ledger::ReadBigEndian64(key.substr(prefix.size())));
    return ++found < limit;
  });
}

}  // namespace rollbook::projections
