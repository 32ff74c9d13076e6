@0x927e831dee402062;
# rollbook's event catalogue and on-disk event format.
#
# Storage. Each event is one value in the RocksDB column family "events", keyed by its position
# as 8 bytes big-endian. The value is the event's 32-byte SHA-256 hash followed by the body: the
# Cap'n Proto canonical encoding (single segment, no segment table) of an `Event` whose `hash`
# field is left unset. The hash is SHA-256(previousHash || body). The first event's previousHash
# is 32 zero bytes. docs/ledger-format.md gives the full byte layout and the index keys.
#
# Evolution rules. Events are immutable and stay readable forever:
#   - Fields and union members are only ever added, with the next free ordinal.
#   - No field or member is renumbered, removed, renamed in a way that changes its type, or has
#     its type changed. A field that stops being used stays, with a comment saying so.
#   - Default values never change, because canonical bodies omit fields equal to the default and
#     the hashes of stored events depend on them.
#   - A reader that meets a payload member newer than itself reports its type as "unknown" and
#     still verifies the hash chain, because verification never needs to decode the payload.
# tests/fixtures/ledger-v1.bin holds events written by the first version and is decoded by a test.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rollbook::schema");
using Json = import "/capnp/compat/json.capnp";

struct Event {
  position @0 :UInt64;         # global position, gap-free from 1
  streamId @1 :Text;
  streamVersion @2 :UInt64;    # version within the stream, gap-free from 1
  eventType @3 :Text;          # name of the active payload member, such as "rollbackRequested"
  recordedAtNs @4 :Int64;      # UTC nanoseconds, never decreasing within one ledger
  actor @5 :Text;              # who caused the event: a user, "rollbook" or a token name
  correlationId @6 :Text;      # the rollback id this event belongs to, when any
  causationId @7 :Text;        # what caused it: usually "pos:<position>" of a command event
  commandId @8 :Text;          # idempotency key of the append that wrote it, when any
  previousHash @9 :Data $Json.hex;
  hash @10 :Data $Json.hex;    # unset in the stored body; filled in when the event is read
  payload @11 :Payload;
}

struct Payload {
  union {
    unknown @0 :Void;          # never written; the member a reader sees for nothing set
    ledgerInitialized @1 :LedgerInitialized;
    annotation @2 :Annotation;
    rollbackRequested @3 :RollbackRequested;
    rollbackRejected @4 :RollbackRejected;
    rollbackStarted @5 :RollbackStarted;
    componentStarted @6 :ComponentStarted;
    stepStarted @7 :StepStarted;
    stepSucceeded @8 :StepSucceeded;
    stepFailed @9 :StepFailed;
    stepRetrying @10 :StepRetrying;
    stepSkipped @11 :StepSkipped;
    stepOutcomeUnknown @12 :StepOutcomeUnknown;
    backupCreated @13 :BackupCreated;
    changeApplied @14 :ChangeApplied;
    verificationPassed @15 :Verification;
    verificationFailed @16 :Verification;
    componentCompleted @17 :ComponentCompleted;
    rollbackCompleted @18 :RollbackCompleted;
    cancelRequested @19 :CancelRequested;
    retryRequested @20 :StepCommand;
    skipRequested @21 :StepCommand;
    notificationSent @22 :Notification;
    notificationFailed @23 :Notification;
    keyRotated @24 :KeyRotated;
    actionItemAdded @25 :ActionItemAdded;
    actionItemResolved @26 :ActionItemResolved;
    monitorStarted @27 :MonitorStarted;
    monitorSample @28 :MonitorSample;
    thresholdBreached @29 :ThresholdDecision;
    thresholdRecovered @30 :ThresholdDecision;
    monitorCompleted @31 :MonitorCompleted;
    drillCompleted @32 :DrillCompleted;
    resumeRequested @33 :ResumeRequested;
  }
}

enum Outcome {
  unknown @0;
  succeeded @1;
  failed @2;
  partiallySucceeded @3;
  cancelled @4;
  skipped @5;
}

struct LedgerInitialized {
  ledgerId @0 :Text;           # random 128-bit id in hex
  formatVersion @1 :UInt32;
  hostname @2 :Text;
}

struct Annotation {
  text @0 :Text;
  component @1 :Text;          # optional: the component the note is about
}

# --- Rollback commands and plan -----------------------------------------------------------

struct RollbackRequested {
  rollbackId @0 :Text;         # "rb-<n>", sequential per ledger
  feature @1 :Text;
  environment @2 :Text;
  scope @3 :Text;
  mode @4 :Text;
  reason @5 :Text;
  targetTimeNs @6 :Int64;      # point-in-time target, 0 when none
  dryRun @7 :Bool;
  drill @8 :Bool;
  runbookPath @9 :Text;
  runbookSha256 @10 :Text;
  plan @11 :List(PlannedComponent);
  budgetMs @12 :UInt64;        # the runbook's time budget for the whole rollback, 0 when none
  notificationsJson @13 :Text; # the runbook's notification targets; URLs stay secret references
  monitorJson @14 :Text;       # the runbook's `monitor:` section, empty when none
}

struct PlannedComponent {
  name @0 :Text;
  after @1 :List(Text);
  budgetMs @2 :UInt64;
  steps @3 :List(PlannedStep);
}

struct PlannedStep {
  name @0 :Text;
  driver @1 :Text;
  action @2 :Text;
  role @3 :Text;               # "backup", "change", "verify" or "other"
  mutates @4 :Bool;
  idempotent @5 :Bool;
  timeoutMs @6 :UInt64;
  retries @7 :UInt32;
  backoffMs @8 :UInt64;
  budgetMs @9 :UInt64;
  paramsJson @10 :Text;        # parameters with variables resolved and secret references kept
}

struct RollbackRejected {
  feature @0 :Text;
  environment @1 :Text;
  scope @2 :Text;
  reason @3 :Text;             # the reason the requester gave
  rejection @4 :Text;          # why rollbook rejected it
  activeRollbackId @5 :Text;
}

struct RollbackStarted {
  rollbackId @0 :Text;
  executor @1 :Text;           # "pid <n> on <host>"
}

struct ResumeRequested {
  rollbackId @0 :Text;
}

struct CancelRequested {
  rollbackId @0 :Text;
  reason @1 :Text;
}

struct StepCommand {
  rollbackId @0 :Text;
  component @1 :Text;
  step @2 :Text;
  reason @3 :Text;
}

# --- Execution results -------------------------------------------------------------------

struct StepRef {
  rollbackId @0 :Text;
  component @1 :Text;
  step @2 :Text;
  attempt @3 :UInt32;          # 1 for the first run
}

struct CapturedOutput {
  stdout @0 :Text;             # redacted of every resolved secret, capped in size
  stderr @1 :Text;
  exitCode @2 :Int32;
  truncated @3 :Bool;          # true when stdout or stderr passed the cap
}

struct ComponentStarted {
  rollbackId @0 :Text;
  component @1 :Text;
}

struct StepStarted {
  ref @0 :StepRef;
  driver @1 :Text;
  action @2 :Text;
  role @3 :Text;
  mutates @4 :Bool;
  idempotent @5 :Bool;
  dryRun @6 :Bool;
  timeoutMs @7 :UInt64;
  description @8 :Text;        # what the step does, from the driver's dry-run description
}

struct StepSucceeded {
  ref @0 :StepRef;
  durationNs @1 :Int64;
  summary @2 :Text;
  output @3 :CapturedOutput;
}

struct StepFailed {
  ref @0 :StepRef;
  durationNs @1 :Int64;
  error @2 :Text;
  errorCode @3 :Text;          # a StatusCode name, such as "timeout"
  output @4 :CapturedOutput;
  willRetry @5 :Bool;
  host @6 :Text;               # the remote host the step talked to, when any
}

struct StepRetrying {
  ref @0 :StepRef;             # the attempt about to run
  backoffMs @1 :UInt64;
  previousError @2 :Text;
}

struct StepSkipped {
  ref @0 :StepRef;
  reason @1 :Text;
}

struct StepOutcomeUnknown {
  ref @0 :StepRef;
  reason @1 :Text;
}

struct BackupCreated {
  backupId @0 :Text;           # "bk-" followed by the first 16 hex digits of the SHA-256
  sha256 @1 :Text;             # hex
  sizeBytes @2 :UInt64;
  driver @3 :Text;
  origin @4 :Text;             # what was backed up: a file path, "postgres:<db>", a key pattern
  rollbackId @5 :Text;
  component @6 :Text;
  step @7 :Text;
  takenAtNs @8 :Int64;
  format @9 :Text;             # "flagd-json", "pg_dump-custom", "redis-dump", "file", ...
}

struct ChangeApplied {
  ref @0 :StepRef;
  target @1 :Text;
  before @2 :Text;
  after @3 :Text;
  summary @4 :Text;
}

struct Verification {
  ref @0 :StepRef;
  check @1 :Text;
  expected @2 :Text;
  actual @3 :Text;
}

struct ComponentCompleted {
  rollbackId @0 :Text;
  component @1 :Text;
  outcome @2 :Outcome;
  durationNs @3 :Int64;
}

struct RollbackCompleted {
  rollbackId @0 :Text;
  outcome @1 :Outcome;
  durationNs @2 :Int64;
  summary @3 :Text;
}

struct Notification {
  rollbackId @0 :Text;
  channel @1 :Text;            # the notify step or channel name; never the webhook URL
  trigger @2 :Text;            # "start", "completion", "failure", "alert"
  statusCode @3 :UInt32;
  attempts @4 :UInt32;
  error @5 :Text;
}

struct KeyRotated {
  ref @0 :StepRef;
  keyId @1 :Text;
  fingerprint @2 :Text;        # "sha256:" and the first 16 hex digits of the key's hash
  destination @3 :Text;        # file path or URL without credentials
  previousBackupId @4 :Text;
}

# --- Analysis, monitoring and drills ------------------------------------------------------

struct ActionItemAdded {
  actionId @0 :Text;           # "ai-<n>"
  rollbackId @1 :Text;
  text @2 :Text;
  owner @3 :Text;
  dueAtNs @4 :Int64;           # 0 when no due date
  kind @5 :Text;               # "action" or "lesson"
}

struct ActionItemResolved {
  actionId @0 :Text;
  resolution @1 :Text;
}

struct ProbeDefinition {
  name @0 :Text;
  kind @1 :Text;               # "http", "sql" or "command"
  target @2 :Text;             # URL, DSN without password, or argv joined by spaces
  intervalMs @3 :UInt64;
  maximum @4 :Float64;         # NaN when not set
  minimum @5 :Float64;         # NaN when not set
  maxErrorRate @6 :Float64;    # NaN when not set; over `windowSamples` samples
  windowSamples @7 :UInt32;
  maxConsecutiveFailures @8 :UInt32;  # 0 when not set
}

struct MonitorStarted {
  rollbackId @0 :Text;
  durationMs @1 :UInt64;
  probes @2 :List(ProbeDefinition);
}

struct MonitorSample {
  rollbackId @0 :Text;
  probe @1 :Text;
  samples @2 :UInt32;
  failures @3 :UInt32;
  minimum @4 :Float64;
  maximum @5 :Float64;
  mean @6 :Float64;
  last @7 :Float64;
  windowStartNs @8 :Int64;
  windowEndNs @9 :Int64;
  lastError @10 :Text;
}

struct ThresholdDecision {
  rollbackId @0 :Text;
  probe @1 :Text;
  threshold @2 :Text;          # such as "maximum 250" or "consecutive failures 3"
  value @3 :Float64;
  decision @4 :Text;           # a sentence on what was compared and the result
}

struct MonitorCompleted {
  rollbackId @0 :Text;
  breaches @1 :UInt32;
  samples @2 :UInt32;
  summary @3 :Text;
  interrupted @4 :Bool;
}

struct DrillCompleted {
  rollbackId @0 :Text;
  scope @1 :Text;
  environment @2 :Text;
  durationNs @3 :Int64;
  budgetMs @4 :UInt64;
  withinBudget @5 :Bool;
  outcome @6 :Outcome;
}
