#include "commands/rollback_events.h"

#include <fmt/format.h>

#include "commands/secrets.h"
#include "projections/rollback_state.h"

namespace rollbook::commands {

using ledger::ToString;

void SetStepRef(schema::StepRef::Builder ref, const std::string& rollback_id,
                const std::string& component, const std::string& step, uint32_t attempt) {
  ref.setRollbackId(rollback_id);
  ref.setComponent(component);
  ref.setStep(step);
  ref.setAttempt(attempt);
}

void SetOutput(schema::CapturedOutput::Builder out, const CapturedOutput& output,
               const Redactor& redactor) {
  out.setStdout(redactor.Apply(output.stdout_text));
  out.setStderr(redactor.Apply(output.stderr_text));
  out.setExitCode(output.exit_code);
  out.setTruncated(output.truncated);
}

Status RollbackEventWriter::AppendStepRecords(const std::string& component, const std::string& step,
                                              uint32_t attempt, const StepResult& result,
                                              const Redactor& redactor) {
  for (const BackupRecord& backup : result.backups) {
    auto appended = Append([&](schema::Payload::Builder payload) {
      auto created = payload.initBackupCreated();
      created.setBackupId(backup.id);
      created.setSha256(backup.sha256);
      created.setSizeBytes(backup.size_bytes);
      created.setDriver(backup.driver);
      created.setOrigin(redactor.Apply(backup.origin));
      created.setRollbackId(rollback_id_);
      created.setComponent(component);
      created.setStep(step);
      created.setTakenAtNs(backup.taken_at_ns);
      created.setFormat(backup.format);
    });
    if (!appended.ok()) return appended.status();
  }
  for (const ChangeRecord& change : result.changes) {
    auto appended = Append([&](schema::Payload::Builder payload) {
      auto applied = payload.initChangeApplied();
      SetStepRef(applied.initRef(), rollback_id_, component, step, attempt);
      applied.setTarget(redactor.Apply(change.target));
      applied.setBefore(redactor.Apply(change.before));
      applied.setAfter(redactor.Apply(change.after));
      applied.setSummary(redactor.Apply(change.summary));
    });
    if (!appended.ok()) return appended.status();
  }
  if (result.verification) {
    const VerificationRecord& verification = *result.verification;
    auto appended = Append([&](schema::Payload::Builder payload) {
      auto record =
          verification.passed ? payload.initVerificationPassed() : payload.initVerificationFailed();
      SetStepRef(record.initRef(), rollback_id_, component, step, attempt);
      record.setCheck(redactor.Apply(verification.check));
      record.setExpected(redactor.Apply(verification.expected));
      record.setActual(redactor.Apply(verification.actual));
    });
    if (!appended.ok()) return appended.status();
  }
  if (result.key_rotation) {
    const KeyRotationRecord& key = *result.key_rotation;
    auto appended = Append([&](schema::Payload::Builder payload) {
      auto rotated = payload.initKeyRotated();
      SetStepRef(rotated.initRef(), rollback_id_, component, step, attempt);
      rotated.setKeyId(key.key_id);
      rotated.setFingerprint(key.fingerprint);
      rotated.setDestination(redactor.Apply(key.destination));
      rotated.setPreviousBackupId(key.previous_backup_id);
    });
    if (!appended.ok()) return appended.status();
  }
  return Status::Ok();
}

namespace {

std::string Elapsed(int64_t at_ns, int64_t start_ns) {
  double seconds = static_cast<double>(at_ns - start_ns) / 1e9;
  if (seconds < 0) seconds = 0;
  int minutes = static_cast<int>(seconds / 60);
  return fmt::format("{:02d}:{:06.3f}", minutes, seconds - minutes * 60);
}

std::string StepName(schema::StepRef::Reader ref) {
  return ToString(ref.getComponent()) + "/" + ToString(ref.getStep());
}

std::string Seconds(int64_t duration_ns) {
  return fmt::format("{:.3f}s", static_cast<double>(duration_ns) / 1e9);
}

}  // namespace

std::string DescribeProgress(const ledger::RecordedEvent& event, int64_t start_ns) {
  auto view = ledger::EventView::Decode(event);
  if (!view.ok()) return {};
  auto payload = view->payload();
  // Built with fmt: GCC 12 at -O2 warns falsely (-Wrestrict) about "literal" + std::string&&.
  std::string when = fmt::format("[{}] ", Elapsed(event.recorded_at_ns, start_ns));
  switch (payload.which()) {
    case schema::Payload::ROLLBACK_REQUESTED: {
      auto requested = payload.getRollbackRequested();
      return when + fmt::format("{} requested by {}: {} rollback of {} in {}{} ({})",
                                ToString(requested.getRollbackId()), event.actor,
                                ToString(requested.getScope()), ToString(requested.getFeature()),
                                ToString(requested.getEnvironment()),
                                requested.getDryRun() ? ", dry run" : "",
                                ToString(requested.getReason()));
    }
    case schema::Payload::ROLLBACK_STARTED:
      return when + "executor started (" + ToString(payload.getRollbackStarted().getExecutor()) +
             ")";
    case schema::Payload::COMPONENT_STARTED:
      return when + ToString(payload.getComponentStarted().getComponent()) + ": started";
    case schema::Payload::STEP_STARTED: {
      auto started = payload.getStepStarted();
      return when + fmt::format("{:<40} running (attempt {}) {}", StepName(started.getRef()),
                                started.getRef().getAttempt(), ToString(started.getDescription()));
    }
    case schema::Payload::STEP_SUCCEEDED: {
      auto succeeded = payload.getStepSucceeded();
      return when + fmt::format("{:<40} succeeded in {}: {}", StepName(succeeded.getRef()),
                                Seconds(succeeded.getDurationNs()),
                                ToString(succeeded.getSummary()));
    }
    case schema::Payload::STEP_FAILED: {
      auto failed = payload.getStepFailed();
      return when + fmt::format("{:<40} FAILED in {}{}: {}", StepName(failed.getRef()),
                                Seconds(failed.getDurationNs()),
                                failed.getWillRetry() ? " (will retry)" : "",
                                ToString(failed.getError()));
    }
    case schema::Payload::STEP_RETRYING: {
      auto retrying = payload.getStepRetrying();
      return when + fmt::format("{:<40} retrying in {} ms", StepName(retrying.getRef()),
                                retrying.getBackoffMs());
    }
    case schema::Payload::STEP_SKIPPED: {
      auto skipped = payload.getStepSkipped();
      return when + fmt::format("{:<40} skipped: {}", StepName(skipped.getRef()),
                                ToString(skipped.getReason()));
    }
    case schema::Payload::STEP_OUTCOME_UNKNOWN: {
      auto unknown = payload.getStepOutcomeUnknown();
      return when + fmt::format(
                        "{:<40} OUTCOME UNKNOWN: {}; run `rollbook retry {} {}` or "
                        "`rollbook skip {} {} --reason ...`",
                        StepName(unknown.getRef()), ToString(unknown.getReason()),
                        event.correlation_id, StepName(unknown.getRef()), event.correlation_id,
                        StepName(unknown.getRef()));
    }
    case schema::Payload::BACKUP_CREATED: {
      auto backup = payload.getBackupCreated();
      return when + fmt::format("{:<40} backup {} of {} ({} bytes)",
                                ToString(backup.getComponent()) + "/" + ToString(backup.getStep()),
                                ToString(backup.getBackupId()), ToString(backup.getOrigin()),
                                backup.getSizeBytes());
    }
    case schema::Payload::VERIFICATION_FAILED: {
      auto failed = payload.getVerificationFailed();
      return when + fmt::format("{:<40} verification failed: expected {}, got {}",
                                StepName(failed.getRef()), ToString(failed.getExpected()),
                                ToString(failed.getActual()));
    }
    case schema::Payload::COMPONENT_COMPLETED: {
      auto completed = payload.getComponentCompleted();
      return when +
             fmt::format(
                 "{}: {}", ToString(completed.getComponent()),
                 std::string(projections::OutcomeName(static_cast<int>(completed.getOutcome()))));
    }
    case schema::Payload::CANCEL_REQUESTED:
      return when + "cancel requested by " + event.actor + ": " +
             ToString(payload.getCancelRequested().getReason());
    case schema::Payload::NOTIFICATION_FAILED:
      return when + "notification " + ToString(payload.getNotificationFailed().getChannel()) +
             " failed: " + ToString(payload.getNotificationFailed().getError());
    case schema::Payload::ROLLBACK_COMPLETED: {
      auto completed = payload.getRollbackCompleted();
      return when +
             fmt::format(
                 "{} {} in {}: {}", event.correlation_id,
                 std::string(projections::OutcomeName(static_cast<int>(completed.getOutcome()))),
                 Seconds(completed.getDurationNs()), ToString(completed.getSummary()));
    }
    case schema::Payload::ANNOTATION:
      return when + "note from " + event.actor + ": " + ToString(payload.getAnnotation().getText());
    default:
      return {};
  }
}

}  // namespace rollbook::commands
