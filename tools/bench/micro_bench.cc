// Micro benchmarks of the ledger's per-event work: payload and envelope encoding, decoding,
// hashing and key building. Each runs the real ledger functions on a ~300-byte annotation.
#include <benchmark/benchmark.h>

#include <string>

#include "ledger/event_codec.h"
#include "ledger/hash.h"
#include "ledger/keys.h"
#include "ledger/payload.h"
#include "tools/bench/workload.h"

namespace rollbook::bench {
namespace {

const std::string kStream = "svc-00042/notes";
const std::string kActor = "bench";
const std::string kEmpty;

std::string NoteText() { return MakeNoteText(7, 300); }

ledger::EnvelopeInput Envelope() { return {&kStream, &kActor, &kEmpty, &kEmpty, &kEmpty}; }

// The payload a client builds: one annotation message serialized to bytes.
void BM_MakeAnnotationPayload(benchmark::State& state) {
  std::string text = NoteText();
  for (auto _ : state) {
    ledger::NewEvent event = ledger::MakeEvent(
        [&](schema::Payload::Builder payload) { payload.initAnnotation().setText(text); });
    benchmark::DoNotOptimize(event.payload.data());
  }
}
BENCHMARK(BM_MakeAnnotationPayload);

// The ledger's encoding of one event: validate and copy the payload, then set the envelope
// and serialize the canonical body.
void BM_PrepareAndFinishBody(benchmark::State& state) {
  std::string payload = Workload(WorkloadOptions{}).Payload(0).payload;
  std::string previous = ledger::GenesisHash();
  uint64_t position = 1;
  for (auto _ : state) {
    auto prepared = ledger::PrepareEvent(Envelope(), payload, 1 << 20);
    std::string body =
        ledger::FinishBody(*prepared, position, position, 1700000000000000000, previous);
    ++position;
    benchmark::DoNotOptimize(body.data());
  }
}
BENCHMARK(BM_PrepareAndFinishBody);

std::string StoredValue() {
  std::string payload = Workload(WorkloadOptions{}).Payload(0).payload;
  auto prepared = ledger::PrepareEvent(Envelope(), payload, 1 << 20);
  std::string body =
      ledger::FinishBody(*prepared, 1, 1, 1700000000000000000, ledger::GenesisHash());
  return ledger::ChainHash(ledger::GenesisHash(), body) + body;
}

// The read side: decoding the envelope of a stored value (hash || body).
void BM_DecodeStoredValue(benchmark::State& state) {
  std::string value = StoredValue();
  for (auto _ : state) {
    ledger::RecordedEvent event;
    Status decoded = ledger::DecodeStoredValue(1, value, &event);
    benchmark::DoNotOptimize(decoded.ok());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * value.size()));
}
BENCHMARK(BM_DecodeStoredValue);

// One link of the hash chain: SHA-256 of previous hash || body.
void BM_ChainHash(benchmark::State& state) {
  std::string value = StoredValue();
  std::string body = value.substr(ledger::kHashBytes);
  std::string previous = ledger::GenesisHash();
  for (auto _ : state) {
    previous = ledger::ChainHash(previous, body);
    benchmark::DoNotOptimize(previous.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (body.size() + 32)));
}
BENCHMARK(BM_ChainHash);

void BM_Sha256_4KiB(benchmark::State& state) {
  std::string data(4096, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(ledger::Sha256(data).data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * data.size()));
}
BENCHMARK(BM_Sha256_4KiB);

void BM_PositionKey(benchmark::State& state) {
  uint64_t position = 1;
  for (auto _ : state) benchmark::DoNotOptimize(ledger::PositionKey(position++).data());
}
BENCHMARK(BM_PositionKey);

void BM_StreamKey(benchmark::State& state) {
  uint64_t version = 1;
  for (auto _ : state) benchmark::DoNotOptimize(ledger::StreamKey(kStream, version++).data());
}
BENCHMARK(BM_StreamKey);

void BM_TimeKey(benchmark::State& state) {
  uint64_t position = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ledger::TimeKey(1700000000000000000, position++).data());
  }
}
BENCHMARK(BM_TimeKey);

}  // namespace
}  // namespace rollbook::bench

BENCHMARK_MAIN();
