// Appending a rollback's result events: every event goes to the rollback's own stream
// ("rb-<n>") with the rollback id as correlation id and the request as causation.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "commands/driver.h"
#include "ledger/ledger.h"
#include "ledger/payload.h"

namespace rollbook::commands {

class Redactor;

class RollbackEventWriter {
 public:
  RollbackEventWriter(ledger::Ledger& ledger, std::string rollback_id, uint64_t request_position,
                      std::string actor)
      : ledger_(ledger),
        rollback_id_(std::move(rollback_id)),
        causation_("pos:" + std::to_string(request_position)),
        actor_(std::move(actor)) {}

  // Appends one event built by `fill`. Safe from several component threads at once.
  template <typename Fill>
  Result<ledger::AppendResult> Append(Fill&& fill) {
    ledger::AppendRequest request;
    request.stream = rollback_id_;
    request.actor = actor_;
    request.correlation_id = rollback_id_;
    request.causation_id = causation_;
    request.events.push_back(ledger::MakeEvent(std::forward<Fill>(fill)));
    return ledger_.Append(request);
  }

  // Appends the events that record what a step's driver did: backups, changes, verification
  // and key rotation. Text passes through `redactor` first.
  Status AppendStepRecords(const std::string& component, const std::string& step, uint32_t attempt,
                           const StepResult& result, const Redactor& redactor);

  const std::string& rollback_id() const { return rollback_id_; }

 private:
  ledger::Ledger& ledger_;
  std::string rollback_id_;
  std::string causation_;
  std::string actor_;
};

// Fills a StepRef.
void SetStepRef(schema::StepRef::Builder ref, const std::string& rollback_id,
                const std::string& component, const std::string& step, uint32_t attempt);

// Copies captured output into the event form, redacted.
void SetOutput(schema::CapturedOutput::Builder out, const CapturedOutput& output,
               const Redactor& redactor);

// Returns one line describing a rollback event for the terminal, or empty for events that
// are not worth a line. `start_ns` is the rollback's request time.
std::string DescribeProgress(const ledger::RecordedEvent& event, int64_t start_ns);

}  // namespace rollbook::commands
