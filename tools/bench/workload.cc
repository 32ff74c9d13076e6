#include "tools/bench/workload.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "ledger/payload.h"

namespace rollbook::bench {
namespace {

constexpr const char* kWords[] = {
    "rollback", "deploy",  "latency", "cache",   "flag",     "search",  "contacts", "provider",
    "schema",   "restore", "verify",  "backup",  "error",    "rate",    "timeout",  "release",
    "primary",  "replica", "paged",   "on-call", "customer", "support", "index",    "query",
    "budget",   "cost",    "spike",   "region",  "canary",   "traffic", "alert",    "metric"};
constexpr size_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

// SplitMix64: a small, well-mixed generator for deterministic text.
uint64_t Mix(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void SetRef(schema::StepRef::Builder ref, const std::string& rollback_id, const char* step) {
  ref.setRollbackId(rollback_id);
  ref.setComponent("app");
  ref.setStep(step);
  ref.setAttempt(1);
}

ledger::NewEvent Requested(const std::string& id, uint64_t number) {
  return ledger::MakeEvent([&](schema::Payload::Builder payload) {
    auto requested = payload.initRollbackRequested();
    requested.setRollbackId(id);
    requested.setFeature("feature-" + std::to_string(number % 50));
    requested.setEnvironment("staging");
    requested.setScope("full");
    requested.setReason("benchmark rollback " + std::to_string(number));
    requested.setBudgetMs(600000);
    auto component = requested.initPlan(1)[0];
    component.setName("app");
    component.setBudgetMs(300000);
    auto steps = component.initSteps(3);
    const char* names[] = {"backup", "change", "verify"};
    for (unsigned i = 0; i < 3; ++i) {
      steps[i].setName(names[i]);
      steps[i].setDriver("exec");
      steps[i].setAction("run");
      steps[i].setRole(names[i]);
      steps[i].setMutates(i == 1);
      steps[i].setTimeoutMs(60000);
      steps[i].setParamsJson(R"({"argv":["/bin/true"]})");
    }
  });
}

}  // namespace

ZipfChooser::ZipfChooser(size_t count, double exponent) {
  cumulative_.reserve(count);
  double total = 0;
  for (size_t k = 1; k <= count; ++k) {
    total += 1.0 / std::pow(static_cast<double>(k), exponent);
    cumulative_.push_back(total);
  }
  for (double& value : cumulative_) value /= total;
}

size_t ZipfChooser::Choose(std::mt19937_64& random) const {
  double u = std::uniform_real_distribution<double>(0.0, 1.0)(random);
  auto found = std::lower_bound(cumulative_.begin(), cumulative_.end(), u);
  if (found == cumulative_.end()) return cumulative_.size() - 1;
  return static_cast<size_t>(found - cumulative_.begin());
}

Workload::Workload(WorkloadOptions options)
    : options_(options), chooser_(options.stream_count, options.zipf_exponent) {
  payloads_.reserve(options_.payload_pool_size);
  for (size_t i = 0; i < options_.payload_pool_size; ++i) {
    std::string text = MakeNoteText(i, options_.payload_text_bytes);
    payloads_.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
      auto annotation = payload.initAnnotation();
      annotation.setText(text);
      annotation.setComponent("app");
    }));
  }
}

std::string Workload::StreamName(size_t index) {
  char name[32];
  std::snprintf(name, sizeof(name), "svc-%05zu/notes", index);
  return name;
}

std::string Workload::ChooseStream(std::mt19937_64& random) const {
  return StreamName(chooser_.Choose(random));
}

std::string MakeNoteText(uint64_t seed, size_t bytes) {
  std::string text;
  text.reserve(bytes + 16);
  uint64_t state = seed;
  while (text.size() < bytes) {
    if (!text.empty()) text += ' ';
    text += kWords[Mix(state) % kWordCount];
    if (Mix(state) % 5 == 0) {
      text += '-';
      text += std::to_string(Mix(state) % 1000);
    }
  }
  text.resize(bytes);
  return text;
}

std::vector<ledger::NewEvent> MakeRollbackEvents(uint64_t number) {
  std::string id = "rb-" + std::to_string(number);
  std::vector<ledger::NewEvent> events;
  events.push_back(Requested(id, number));
  events.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
    auto started = payload.initRollbackStarted();
    started.setRollbackId(id);
    started.setExecutor("pid 1 on bench");
  }));
  events.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
    auto started = payload.initComponentStarted();
    started.setRollbackId(id);
    started.setComponent("app");
  }));
  for (const char* step : {"backup", "change", "verify"}) {
    events.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
      auto started = payload.initStepStarted();
      SetRef(started.initRef(), id, step);
      started.setDriver("exec");
      started.setAction("run");
      started.setRole(step);
      started.setDescription("run /bin/true");
    }));
    events.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
      auto succeeded = payload.initStepSucceeded();
      SetRef(succeeded.initRef(), id, step);
      succeeded.setDurationNs(2000000);
      succeeded.setSummary("ran `/bin/true` in 2 ms: exit 0");
    }));
  }
  events.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
    auto completed = payload.initComponentCompleted();
    completed.setRollbackId(id);
    completed.setComponent("app");
    completed.setOutcome(schema::Outcome::SUCCEEDED);
    completed.setDurationNs(6000000);
  }));
  events.push_back(ledger::MakeEvent([&](schema::Payload::Builder payload) {
    auto completed = payload.initRollbackCompleted();
    completed.setRollbackId(id);
    completed.setOutcome(schema::Outcome::SUCCEEDED);
    completed.setDurationNs(7000000);
    completed.setSummary("1 component succeeded");
  }));
  return events;
}

}  // namespace rollbook::bench
