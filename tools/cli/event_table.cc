#include "tools/cli/event_table.h"

#include <capnp/dynamic.h>
#include <fmt/core.h>
#include <kj/exception.h>

#include <algorithm>

#include "ledger/payload.h"
#include "ledger/time_format.h"

namespace rollbook::cli {
namespace {

constexpr size_t kMaxSummaryBytes = 100;

// Replaces control characters, so that one event stays on one line.
std::string OneLine(std::string_view text) {
  std::string line(text);
  std::replace_if(
      line.begin(), line.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }, ' ');
  return line;
}

// Cuts at a UTF-8 character boundary and marks the cut.
std::string Shorten(std::string text) {
  if (text.size() <= kMaxSummaryBytes) return text;
  size_t cut = kMaxSummaryBytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  text.resize(cut);
  return text + "...";
}

std::string FormatValue(const capnp::DynamicValue::Reader& value) {
  switch (value.getType()) {
    case capnp::DynamicValue::TEXT: {
      std::string text = OneLine(value.as<capnp::Text>().cStr());
      return text.find(' ') == std::string::npos ? text : "\"" + text + "\"";
    }
    case capnp::DynamicValue::BOOL:
      return value.as<bool>() ? "true" : "false";
    case capnp::DynamicValue::INT:
      return std::to_string(value.as<int64_t>());
    case capnp::DynamicValue::UINT:
      return std::to_string(value.as<uint64_t>());
    case capnp::DynamicValue::FLOAT:
      return fmt::format("{}", value.as<double>());
    case capnp::DynamicValue::ENUM: {
      auto enumerant = value.as<capnp::DynamicEnum>().getEnumerant();
      KJ_IF_MAYBE (known, enumerant) {
        return known->getProto().getName().cStr();
      }
      return std::to_string(value.as<capnp::DynamicEnum>().getRaw());
    }
    case capnp::DynamicValue::DATA: {
      auto bytes = value.as<capnp::Data>();
      return ledger::ToHex(std::string(reinterpret_cast<const char*>(bytes.begin()),
                                       std::min<size_t>(bytes.size(), 8)));
    }
    case capnp::DynamicValue::LIST:
      return "[" + std::to_string(value.as<capnp::DynamicList>().size()) + "]";
    default:
      return "";
  }
}

// Appends name=value for each field that differs from its default; nested structs are
// flattened, because their field names (rollbackId, step, ...) read well on their own.
void AppendFields(capnp::DynamicStruct::Reader reader, std::vector<std::string>* parts) {
  for (auto field : reader.getSchema().getFields()) {
    if (!reader.has(field, capnp::HasMode::NON_DEFAULT)) continue;
    capnp::DynamicValue::Reader value = reader.get(field);
    if (value.getType() == capnp::DynamicValue::STRUCT) {
      AppendFields(value.as<capnp::DynamicStruct>(), parts);
    } else if (value.getType() != capnp::DynamicValue::VOID) {
      parts->push_back(std::string(field.getProto().getName().cStr()) + "=" + FormatValue(value));
    }
  }
}

std::string SummarizePayload(schema::Payload::Reader payload) {
  if (payload.isAnnotation()) {
    auto note = payload.getAnnotation();
    std::string text = OneLine(ledger::ToString(note.getText()));
    if (note.getComponent().size() == 0) return text;
    return "[" + ledger::ToString(note.getComponent()) + "] " + text;
  }
  capnp::DynamicStruct::Reader dynamic = payload;
  std::vector<std::string> parts;
  KJ_IF_MAYBE (member, dynamic.which()) {
    capnp::DynamicValue::Reader value = dynamic.get(*member);
    if (value.getType() == capnp::DynamicValue::STRUCT) {
      AppendFields(value.as<capnp::DynamicStruct>(), &parts);
    }
  }
  std::string summary;
  for (const std::string& part : parts) {
    if (!summary.empty()) summary += ' ';
    summary += part;
    if (summary.size() > kMaxSummaryBytes) break;
  }
  return summary;
}

}  // namespace

std::string SummarizeEvent(const ledger::RecordedEvent& event) {
  auto view = ledger::EventView::Decode(event);
  if (!view.ok()) return "(payload does not decode: " + view.status().message() + ")";
  try {
    return Shorten(SummarizePayload(view->payload()));
  } catch (const kj::Exception& e) {
    return Shorten(std::string("(payload does not decode: ") + e.getDescription().cStr() + ")");
  }
}

void EventTable::Add(const ledger::RecordedEvent& event) {
  rows_.push_back(Row{std::to_string(event.position), ledger::FormatTimestamp(event.recorded_at_ns),
                      event.stream + "@" + std::to_string(event.stream_version), event.type,
                      event.actor, SummarizeEvent(event)});
  if (rows_.size() >= kChunkRows) Flush();
}

void EventTable::Flush() {
  if (rows_.empty()) return;
  Row header{"POSITION", "TIME", "STREAM@VERSION", "TYPE", "ACTOR", "SUMMARY"};

  std::array<size_t, kColumns> widths{};
  for (size_t column = 0; column < kColumns; ++column) widths[column] = header[column].size();
  for (const Row& row : rows_) {
    for (size_t column = 0; column < kColumns; ++column) {
      widths[column] = std::max(widths[column], row[column].size());
    }
  }

  auto print = [&](const Row& row) {
    fmt::print(out_, "{:>{}}", row[0], widths[0]);
    for (size_t column = 1; column + 1 < kColumns; ++column) {
      fmt::print(out_, "  {:<{}}", row[column], widths[column]);
    }
    fmt::print(out_, "  {}\n", row[kColumns - 1]);
  };
  if (!header_printed_) {
    print(header);
    header_printed_ = true;
  }
  for (const Row& row : rows_) print(row);
  rows_.clear();
  std::fflush(out_);
}

}  // namespace rollbook::cli
