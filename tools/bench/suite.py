#!/usr/bin/env python3
"""Runs every side-by-side benchmark of rollbook and writes results.json and results.md.

Started by tools/bench/run.sh, which builds the programs first. Each comparison runs its sides
in turn, rotating the order every repetition, so that slow drift of the machine (other load,
page cache, disk state) spreads over all sides instead of favouring one.
"""

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import report  # noqa: E402
import servers  # noqa: E402

# Sizes per mode. The full sizes aim at a run under 30 minutes on 2 cores. A rebuild of all
# projections over 10 M events takes minutes, so the full run repeats it 3 times rather than 5;
# peak RSS varies little between runs. --growth-events sets a smaller large ledger when the
# run must be shorter, and the results state the size used.
MODES = {
    "smoke": dict(repetitions=1, append_seconds=0.3, latency_appends=50, bulk_events=2000,
                  replay_events=3000, growth_small=3000, growth_large=6000, http_events=2000,
                  http_seconds=1, runbook_steps=10, micro_min_time=0.01, stream_reads=3,
                  rebuild_repetitions=1),
    "quick": dict(repetitions=5, append_seconds=1.0, latency_appends=300, bulk_events=20000,
                  replay_events=100000, growth_small=100000, growth_large=300000,
                  http_events=20000, http_seconds=1, runbook_steps=100, micro_min_time=0.05,
                  stream_reads=20, rebuild_repetitions=5),
    "full": dict(repetitions=5, append_seconds=4.0, latency_appends=1500, bulk_events=200000,
                 replay_events=1000000, growth_small=100000, growth_large=10000000,
                 http_events=20000, http_seconds=5, runbook_steps=100, micro_min_time=0.2,
                 stream_reads=50, rebuild_repetitions=3),
}

WRITERS = 16


class MeasureFailed(RuntimeError):
    pass


def new_measure(measure_id, title, metrics, targets):
    return {"id": measure_id, "title": title, "metrics": metrics, "targets": targets,
            "sides": {}, "runs": {}, "commands": [], "notes": []}


def metric(unit, better):
    return {"unit": unit, "better": better}


def target(text, side, metric_name, op, threshold, peer=None):
    return {"text": text, "side": side, "peer": peer, "metric": metric_name, "op": op,
            "threshold": threshold}


class Suite:
    def __init__(self, args):
        self.args = args
        self.sizes = dict(MODES[args.mode])
        if args.growth_events:
            self.sizes["growth_large"] = args.growth_events
        self.build_dir = os.path.abspath(args.build_dir)
        self.bench = os.path.join(self.build_dir, "tools/bench/rollbook-bench")
        self.micro = os.path.join(self.build_dir, "tools/bench/rollbook-micro-bench")
        self.rollbook = os.path.join(self.build_dir, "tools/rollbook")
        for program in (self.bench, self.micro, self.rollbook):
            if not os.access(program, os.X_OK):
                raise SystemExit(f"suite: {program} is missing; build it first (tools/bench/run.sh "
                                 "does) or pass the right --build-dir")
        os.makedirs(args.work_parent, exist_ok=True)
        self.work = tempfile.mkdtemp(prefix="rollbook-bench-", dir=args.work_parent)
        self.started = time.monotonic()
        self.postgres = None
        self.datasets = {}
        self.measures = []
        self.fsync_timeline = []  # fdatasync probes before each comparison and at the end

    # --- running programs -------------------------------------------------------------------

    def log(self, message):
        print(f"[bench {time.monotonic() - self.started:6.1f}s] {message}", file=sys.stderr,
              flush=True)

    def path(self, name):
        return os.path.join(self.work, name)

    def run_json(self, argv, timeout=3600):
        """Run a program that prints one JSON object last; return it."""
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0:
            raise MeasureFailed(f"{shlex.join(argv)} exited with {done.returncode}: "
                                f"{done.stderr.strip()[-2000:]}")
        lines = [line for line in done.stdout.splitlines() if line.strip()]
        if not lines:
            raise MeasureFailed(f"{shlex.join(argv)} printed nothing")
        return json.loads(lines[-1])

    def run_timed(self, argv, timeout=3600, **kwargs):
        """Run a program and return its wall time in seconds; its output is discarded."""
        started = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              text=True, timeout=timeout, **kwargs)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise MeasureFailed(f"{shlex.join(argv)} exited with {done.returncode}: "
                                f"{done.stderr.strip()[-2000:]}")
        return elapsed

    def run_with_rusage(self, argv, timeout=3600, expect_json=True):
        """Run a program; return its JSON output (or None) and its peak RSS in KiB (wait4)."""
        with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
            process = subprocess.Popen(argv, stdout=out, stderr=err, text=True)
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid != 0:
                    break
                if time.monotonic() > deadline:
                    process.kill()
                    raise MeasureFailed(f"{shlex.join(argv)} timed out after {timeout} s")
                time.sleep(0.05)
            process.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            if process.returncode != 0:
                raise MeasureFailed(f"{shlex.join(argv)} exited with {process.returncode}: "
                                    f"{err.read().strip()[-2000:]}")
            if not expect_json:
                return None, usage.ru_maxrss
            lines = [line for line in out.read().splitlines() if line.strip()]
            return json.loads(lines[-1]), usage.ru_maxrss

    def alternate(self, measure, sides, repetitions=None):
        """Run each side once per repetition, rotating the order; collect its metrics.

        `sides` is a list of (name, run) where run(repetition) returns (metrics, argv, raw).
        """
        values = {name: {} for name, _ in sides}
        repetitions = repetitions or self.sizes["repetitions"]
        measure["repetitions"] = repetitions
        for repetition in range(repetitions):
            shift = repetition % len(sides)
            for name, run in sides[shift:] + sides[:shift]:
                # An fsync also waits for writes already queued to the disk, and on ext4 for
                # the journal commit, so dirty data left by the previous run would slow it.
                os.sync()
                metrics, argv, raw = run(repetition)
                for key, value in metrics.items():
                    values[name].setdefault(key, []).append(value)
                measure["runs"].setdefault(name, []).append(raw)
                if repetition == 0 and argv:
                    measure["commands"].append(argv if isinstance(argv, str) else shlex.join(argv))
            self.log(f"{measure['id']}: repetition {repetition + 1}/{repetitions} done")
        for name, metrics in values.items():
            measure["sides"][name] = {key: report.summarize(v) for key, v in metrics.items()}

    # --- data sets --------------------------------------------------------------------------

    def dataset(self, name, events):
        """Return the directory of a ledger filled with `events` annotation events (cached)."""
        if name in self.datasets:
            return self.datasets[name]
        directory = self.path(f"ledger-{name}")
        argv = [self.bench, "fill", "--dir", directory, "--events", str(events)]
        self.log(f"filling {name} ledger with {events:,} events")
        filled = self.run_json(argv, timeout=7200)
        self.log(f"filled {name}: head {filled['head']:,} in {filled['seconds']:.1f} s "
                 f"({filled['events_per_second']:,.0f} events/s, "
                 f"{filled['size_on_disk_bytes'] / 2**20:,.0f} MiB)")
        self.datasets[name] = directory
        self.fills = getattr(self, "fills", {})
        self.fills[name] = dict(filled, command=shlex.join(argv))
        return directory

    def store_arguments(self, system, directory):
        if system == "postgres":
            return ["--system", system, "--dsn", self.postgres.dsn]
        return ["--system", system, "--dir", directory]

    def append_side(self, system, label, extra, metric_names, reuse_dir=None):
        def run(repetition):
            directory = reuse_dir or self.path(f"append-{label}-{repetition}")
            argv = [self.bench, "append", *self.store_arguments(system, directory), *extra]
            if reuse_dir:
                argv.append("--reuse")
            raw = self.run_json(argv)
            if not reuse_dir:
                shutil.rmtree(directory, ignore_errors=True)
            return {name: raw[key] for name, key in metric_names.items()}, argv, raw
        return label, run

    def json_side(self, label, argv, metric_names):
        """Return a side that runs `argv` and maps its JSON output's keys to our metric names."""
        def run(repetition):
            raw = self.run_json(argv)
            return {name: raw[key] for name, key in metric_names.items()}, argv, raw
        return label, run

    # --- the comparisons --------------------------------------------------------------------

    def durable_append(self):
        measure = new_measure(
            "durable_append", "durable append, 16 writers, 1 event per append",
            {"appends_per_second": metric("appends/s", "higher")},
            [target("≥ 0.8 × raw RocksDB with sync", "rollbook", "appends_per_second", ">=", 0.8,
                    "rocksdb"),
             target("≥ 10 × PostgreSQL", "rollbook", "appends_per_second", ">=", 10, "postgres"),
             target("≥ 10 × SQLite", "rollbook", "appends_per_second", ">=", 10, "sqlite")])
        extra = ["--writers", str(WRITERS), "--seconds", str(self.sizes["append_seconds"])]
        names = {"appends_per_second": "appends_per_second"}
        self.alternate(measure, [self.append_side(s, s, extra, names)
                                 for s in ("rollbook", "rocksdb", "postgres", "sqlite")])
        measure["notes"].append(
            "each run: a fresh store, 16 writer threads (one connection each for PostgreSQL and "
            "SQLite), plus one reader reading the newest 100 events in a loop and one catch-up "
            "subscriber starting 10,000 events behind the head")
        self.note_engine_ceiling(measure)
        return measure

    @staticmethod
    def note_engine_ceiling(measure):
        """Notes how far raw RocksDB itself is above each SQL peer in the same run.

        Every side waits for an fsync per commit and groups the commits of concurrent writers,
        so no store built on RocksDB can exceed the SQL peers by much more than raw RocksDB does.
        """
        sides = measure["sides"]
        if "rocksdb" not in sides:
            return
        engine = sides["rocksdb"]["appends_per_second"]["median"]
        for peer in ("postgres", "sqlite"):
            if peer not in sides:
                continue
            rate = sides[peer]["appends_per_second"]["median"]
            if rate > 0:
                measure["notes"].append(
                    f"ceiling: raw RocksDB itself (no indexes, no hash chain, no encoding) "
                    f"reaches {engine / rate:.2f} × {peer} in this run; a ratio target above "
                    f"that is beyond the storage engine on this disk")

    def append_latency(self):
        measure = new_measure(
            "append_latency", "durable append latency, 1 writer",
            {"p50_us": metric("µs", "lower"), "p99_us": metric("µs", "lower")},
            [target("p50 ≤ 1.25 × raw RocksDB sync put", "rollbook", "p50_us", "<=", 1.25,
                    "rocksdb"),
             target("p99 ≤ 1.25 × raw RocksDB sync put", "rollbook", "p99_us", "<=", 1.25,
                    "rocksdb")])
        extra = ["--writers", "1", "--appends", str(self.sizes["latency_appends"]), "--latency",
                 "--no-reader", "--no-subscriber"]
        names = {"p50_us": "p50_us", "p99_us": "p99_us"}
        systems = ["rollbook", "rocksdb"]
        if self.args.mode == "full":
            systems += ["postgres", "sqlite"]
        self.alternate(measure, [self.append_side(s, s, extra, names) for s in systems])
        return measure

    def bulk_append(self):
        measure = new_measure(
            "bulk_append", "bulk append without sync, batches of 100",
            {"events_per_second": metric("events/s", "higher")},
            [target("≥ 0.7 × raw RocksDB", "rollbook", "events_per_second", ">=", 0.7,
                    "rocksdb")])
        measure["metrics"]["cpu_us_per_event"] = metric("CPU µs/event", "lower")
        extra = ["--writers", "1", "--events-per-append", "100", "--appends",
                 str(self.sizes["bulk_events"] // 100), "--no-sync", "--no-reader",
                 "--no-subscriber"]
        names = {"events_per_second": "events_per_second",
                 "cpu_us_per_event": "process_cpu_us_per_event"}
        self.alternate(measure, [self.append_side(s, s, extra, names)
                                 for s in ("rollbook", "rocksdb", "rocksdb-indexed")])
        measure["notes"].append(
            "rocksdb-indexed (no target) writes the same payloads plus the two index entries per "
            "event of the ledger's key layout, without encoding or hashing")
        sides = measure["sides"]
        indexed = sides["rocksdb-indexed"]["events_per_second"]["median"]
        plain = sides["rocksdb"]["events_per_second"]["median"]
        if plain > 0:
            measure["notes"].append(
                f"ceiling: rocksdb-indexed reaches {indexed / plain:.2f} × raw RocksDB in this "
                f"run; the ledger writes those index entries in the same batch as each event")
        return measure

    def replay(self):
        events = self.sizes["replay_events"]
        measure = new_measure(
            "replay", f"replay: full scan of {events:,} events",
            {"events_per_second": metric("events/s", "higher")},
            [target("≥ 0.5 × raw RocksDB iteration", "rollbook", "events_per_second", ">=", 0.5,
                    "rocksdb")])
        directory = self.dataset("replay", events)

        sides = [self.json_side(system,
                                [self.bench, "replay", "--system", system, "--dir", directory],
                                {"events_per_second": "events_per_second"})
                 for system in ("rollbook", "rocksdb")]
        self.alternate(measure, sides)
        measure["notes"].append(
            "rollbook reads every event through Ledger::Read and folds it into RollbackFold; "
            "rocksdb iterates the same ledger's events column family without decoding")
        return measure

    def verify(self):
        events = self.sizes["replay_events"]
        measure = new_measure(
            "verify", f"`rollbook verify` over {events:,} events",
            {"events_per_second": metric("events/s", "higher"),
             "mib_per_second": metric("MiB/s", "higher")},
            [target("≥ 0.5 × sha256sum over the exported bytes", "rollbook", "events_per_second",
                    ">=", 0.5, "sha256sum")])
        directory = self.dataset("replay", events)
        exported = self.path("replay-stored-bytes.bin")
        export_argv = [self.bench, "export-raw", "--dir", directory, "--output", exported]
        stats = self.run_json(export_argv)
        measure["commands"].append(shlex.join(export_argv))

        def side(name, argv):
            def run(repetition):
                seconds = self.run_timed(argv)
                rates = {"events_per_second": stats["events"] / seconds,
                         "mib_per_second": stats["bytes"] / 2**20 / seconds}
                return rates, argv, {"seconds": seconds}
            return name, run
        self.alternate(measure, [
            side("rollbook", [self.rollbook, "--ledger", directory, "verify"]),
            side("sha256sum", ["sha256sum", exported]),
            side("rollbook --no-index-check",
                 [self.rollbook, "--ledger", directory, "verify", "--no-index-check"])])
        os.remove(exported)
        measure["notes"].append(
            f"sha256sum hashes the stored event values (hash and body, {stats['bytes']:,} bytes) "
            "that rollbook verify re-hashes; verify also checks the stream and time indexes "
            "(`--no-index-check`, no target, skips that); all times include process start")
        return measure

    def http_events(self):
        measure = new_measure(
            "http_events", "GET /v1/events?limit=100, wrk, 64 connections",
            {"requests_per_second": metric("req/s", "higher"), "p99_ms": metric("ms", "lower")},
            [target("≥ 0.3 × nginx static file of the same body", "rollbook",
                    "requests_per_second", ">=", 0.3, "nginx"),
             target("p99 ≤ 10 ms", "rollbook", "p99_ms", "<=", 10)])
        missing = [tool for tool in ("wrk", "nginx") if not shutil.which(tool) and
                   not os.path.exists(f"/usr/sbin/{tool}")]
        if missing:
            measure["skipped"] = f"{', '.join(missing)} not installed (ROLLBOOK_BENCH=1 " \
                                 "tools/install-deps.sh installs them)"
            return measure
        help_text = subprocess.run([self.rollbook, "--help"], capture_output=True,
                                   text=True).stdout
        if not any(line.split()[:1] == ["serve"] for line in help_text.splitlines()):
            measure["skipped"] = "this build of rollbook has no `serve` subcommand yet"
            return measure

        directory = self.path("ledger-http")
        fill_argv = [self.bench, "fill", "--dir", directory, "--events",
                     str(self.sizes["http_events"])]
        self.run_json(fill_argv)
        measure["commands"].append(shlex.join(fill_argv))
        server = servers.RollbookServer(self.log, self.rollbook, directory).start()
        nginx = servers.NginxServer(self.log, workers=os.cpu_count() or 1)
        try:
            rollbook_url = f"http://127.0.0.1:{server.port}/v1/events?limit=100"
            self.wait_until_ready(server.port)
            with urllib.request.urlopen(rollbook_url, timeout=10) as response:
                body = response.read()
            nginx.start()
            nginx_url = nginx.put_file("events.json", body)
            measure["commands"].append(shlex.join(server.command))
            measure["notes"].append(f"response body: {len(body):,} bytes, served by both")

            # Pages that start anywhere in the log: the page cache rarely has them, so this side
            # (no target) times reading and assembling a page from the per-event JSON cache.
            script = self.path("pages-all-over.lua")
            last_start = max(0, self.sizes["http_events"] - 101)
            with open(script, "w") as out:
                out.write("request = function()\n"
                          f"  local after = math.random(0, {last_start})\n"
                          '  return wrk.format("GET", "/v1/events?limit=100&after=" .. after)\n'
                          "end\n")

            def side(name, url, extra=()):
                def run(repetition):
                    argv = ["wrk", "-t2", "-c64", f"-d{self.sizes['http_seconds']}s", "--latency",
                            *extra, url]
                    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
                    if done.returncode != 0:
                        raise MeasureFailed(f"wrk failed: {done.stderr}")
                    parsed = parse_wrk(done.stdout)
                    if parsed.get("errors"):
                        measure["notes"].append(f"{name}: wrk reported {parsed['errors']}")
                    return ({"requests_per_second": parsed["requests_per_second"],
                             "p99_ms": parsed["p99_ms"]}, argv, parsed)
                return name, run
            self.alternate(measure, [
                side("rollbook", rollbook_url), side("nginx", nginx_url),
                side("rollbook, pages all over the log", rollbook_url, ("-s", script))])
        finally:
            nginx.stop()
            server.stop()
        return measure

    def wait_until_ready(self, port):
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise MeasureFailed("rollbook serve did not report ready within 120 s")

    def growth_read(self):
        small, large = self.sizes["growth_small"], self.sizes["growth_large"]
        measure = new_measure(
            "growth_read", f"growth: read one 200-event stream at {large:,} vs {small:,} events",
            {"median_us": metric("µs per read", "lower")},
            [target(f"≤ 1.5 × slower at {large:,} events", "large", "median_us", "<=", 1.5,
                    "small")])
        directories = {"small": self.dataset("growth-small", small),
                       "large": self.dataset("growth-large", large)}

        sides = [self.json_side(name,
                                [self.bench, "read-stream", "--dir", directories[name],
                                 "--repeat", str(self.sizes["stream_reads"])],
                                {"median_us": "median_us"})
                 for name in ("small", "large")]
        self.alternate(measure, sides)
        measure["notes"].append(
            "each run opens the ledger read-only and reads the probe stream (200 events spread "
            "evenly over the whole log) repeatedly; the value is the median read")
        return measure

    def growth_append(self):
        large = self.sizes["growth_large"]
        measure = new_measure(
            "growth_append", f"growth: durable append at {large:,} events vs empty",
            {"appends_per_second": metric("appends/s", "higher")},
            [target(f"≥ 0.8 × at {large:,} events", "large", "appends_per_second", ">=", 0.8,
                    "empty")])
        extra = ["--writers", str(WRITERS), "--seconds", str(self.sizes["append_seconds"])]
        names = {"appends_per_second": "appends_per_second"}
        directory = self.dataset("growth-large", large)
        self.alternate(measure, [
            self.append_side("rollbook", "empty", extra, names),
            self.append_side("rollbook", "large", extra, names, reuse_dir=directory)])
        return measure

    def rebuild_memory(self):
        large = self.sizes["growth_large"]
        measure = new_measure(
            "rebuild_memory", f"memory: rebuild all projections over {large:,} events",
            {"peak_rss_mib": metric("MiB", "lower"), "seconds": metric("s", "lower")},
            [target("peak RSS ≤ 300 MiB", "rollbook", "peak_rss_mib", "<=", 300)])
        directory = self.dataset("growth-large", large)
        projections = os.path.join(directory, "projections")

        def run(repetition):
            shutil.rmtree(projections, ignore_errors=True)
            argv = [self.rollbook, "--ledger", directory, "replay", "--rebuild"]
            started = time.perf_counter()
            peak_kib = self.run_with_rusage(argv, expect_json=False)[1]
            seconds = time.perf_counter() - started
            shutil.rmtree(projections, ignore_errors=True)
            return ({"peak_rss_mib": peak_kib / 1024, "seconds": seconds}, argv,
                    {"peak_rss_kib": peak_kib, "seconds": seconds})
        self.alternate(measure, [("rollbook", run)], self.sizes["rebuild_repetitions"])
        measure["notes"].append(
            "peak RSS is ru_maxrss of the `rollbook replay --rebuild` process (wait4); the time "
            "includes opening the ledger")
        return measure

    def orchestration(self):
        steps = self.sizes["runbook_steps"]
        measure = new_measure(
            "orchestration", f"orchestration: {steps}-step runbook of `exec /bin/true`",
            {"seconds": metric("s", "lower"), "overhead_ms_per_step": metric("ms", "lower")},
            [target("≤ 2 ms overhead per step over a shell loop", "overhead",
                    "overhead_ms_per_step", "<=", 2)])
        runbook = self.path("steps.yaml")
        with open(runbook, "w") as out:
            out.write(make_runbook(steps))
        loop = ["bash", "-c", f"for i in $(seq {steps}); do /bin/true; done"]

        def rollbook_side(label, flags):
            def run(repetition):
                ledger = self.path(f"ledger-orchestration-{label}-{repetition}")
                self.run_timed([self.rollbook, "--ledger", ledger, "init"])
                argv = [self.rollbook, "--ledger", ledger, *flags, "start", "--runbook", runbook,
                        "--scope", "full", "benchmark"]
                seconds = self.run_timed(argv)
                shutil.rmtree(ledger, ignore_errors=True)
                return {"seconds": seconds}, argv, {"seconds": seconds}
            return label, run

        def loop_side(repetition):
            seconds = self.run_timed(loop)
            return {"seconds": seconds}, loop, {"seconds": seconds}
        self.alternate(measure, [rollbook_side("rollbook", []),
                                 rollbook_side("rollbook --no-sync", ["--no-sync"]),
                                 ("shell loop", loop_side)])
        for label, name in (("rollbook", "overhead"), ("rollbook --no-sync", "overhead --no-sync")):
            paired = [(a - b) * 1000 / steps for a, b in zip(
                measure["sides"][label]["seconds"]["values"],
                measure["sides"]["shell loop"]["seconds"]["values"])]
            measure["sides"][name] = {"overhead_ms_per_step": report.summarize(paired)}
        measure["notes"].append(
            "rollbook time is the whole `rollbook start` process (open, plan, run, record each "
            "step's events, finish); the overhead is (rollbook - shell loop) / steps per "
            "repetition; `--no-sync` shows how much of it is waiting for fsync")
        return measure

    def micro_benchmarks(self):
        argv = [self.micro, "--benchmark_format=json",
                f"--benchmark_min_time={self.sizes['micro_min_time']}",
                "--benchmark_repetitions=5", "--benchmark_report_aggregates_only=true"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            raise MeasureFailed(f"micro benchmarks failed: {done.stderr[-2000:]}")
        rows = []
        for entry in json.loads(done.stdout)["benchmarks"]:
            if entry.get("aggregate_name") != "median":
                continue
            scale = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[entry.get("time_unit", "ns")]
            rows.append({"name": entry["run_name"], "ns": entry["real_time"] * scale,
                         "bytes_per_second": entry.get("bytes_per_second")})
        return rows, shlex.join(argv)

    # --- the run ----------------------------------------------------------------------------

    def machine(self):
        fsync = self.run_json([self.bench, "fsync", "--dir", self.work, "--seconds", "2"])
        cpu_model = "unknown"
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
        with open("/proc/meminfo") as meminfo:
            memory_kib = int(meminfo.readline().split()[1])
        df = subprocess.run(["df", "-T", self.work], capture_output=True, text=True).stdout
        fields = df.splitlines()[-1].split()
        return {"cores": os.cpu_count(), "cpu_model": cpu_model, "memory_mib": memory_kib // 1024,
                "kernel": platform.release(), "filesystem": f"{fields[1]} on {fields[0]}",
                "work_dir": self.work, "fsync": fsync}

    def measure_list(self):
        wanted = set(self.args.only.split(",")) if self.args.only else None
        plan = [("durable_append", self.durable_append, True),
                ("append_latency", self.append_latency, True),
                ("bulk_append", self.bulk_append, False),
                ("replay", self.replay, False),
                ("verify", self.verify, False),
                ("http_events", self.http_events, False),
                ("growth_read", self.growth_read, False),
                ("rebuild_memory", self.rebuild_memory, False),
                ("growth_append", self.growth_append, False),
                ("orchestration", self.orchestration, False)]
        return [(name, run, needs_sql) for name, run, needs_sql in plan
                if wanted is None or name in wanted]

    def run(self):
        started_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        load_start = [round(x, 2) for x in os.getloadavg()]
        self.log(f"mode {self.args.mode}, work directory {self.work}, load {load_start}")
        machine = self.machine()
        self.log(f"fdatasync rate {machine['fsync']['syncs_per_second']:.0f}/s")
        plan = self.measure_list()
        try:
            if any(needs_sql for _, _, needs_sql in plan):
                self.postgres = servers.PostgresCluster(self.log).start()
            for name, run, _ in plan:
                # The disk's sync rate can change during a run on shared or virtual hardware, so
                # it is probed again before every comparison.
                fsync = self.run_json([self.bench, "fsync", "--dir", self.work, "--seconds", "1"])
                self.fsync_timeline.append({"before": name, **fsync})
                self.log(f"{name}: starting (fdatasync {fsync['syncs_per_second']:.0f}/s)")
                try:
                    measure = run()
                except (MeasureFailed, RuntimeError, subprocess.TimeoutExpired, OSError) as error:
                    self.log(f"{name}: failed: {error}")
                    measure = {"id": name, "title": name, "targets": [], "metrics": {},
                               "sides": {}, "error": str(error)}
                report.evaluate_targets(measure)
                self.measures.append(measure)
            micro, micro_command = ([], None) if self.args.only else self.micro_benchmarks()
            fsync = self.run_json([self.bench, "fsync", "--dir", self.work, "--seconds", "1"])
            self.fsync_timeline.append({"before": "end of run", **fsync})
        finally:
            if self.postgres:
                self.postgres.stop()
            if not self.args.keep:
                shutil.rmtree(self.work, ignore_errors=True)

        results = {
            "mode": self.args.mode, "started_at": started_at,
            "duration_seconds": time.monotonic() - self.started,
            "repetitions": self.sizes["repetitions"], "sizes": self.sizes,
            "sizes_text": self.sizes_text(),
            "load_average": {"start": load_start, "end": [round(x, 2) for x in os.getloadavg()]},
            "machine": machine, "fsync_timeline": self.fsync_timeline,
            "fills": getattr(self, "fills", {}),
            "measures": self.measures, "micro": micro, "micro_command": micro_command,
        }
        return results

    def sizes_text(self):
        s = self.sizes
        return (f"append runs {s['append_seconds']} s each; latency {s['latency_appends']:,} "
                f"appends; bulk {s['bulk_events']:,} events; replay and verify over "
                f"{s['replay_events']:,} events; growth {s['growth_small']:,} vs "
                f"{s['growth_large']:,} events; HTTP {s['http_seconds']} s per wrk run over a "
                f"{s['http_events']:,}-event ledger; {s['runbook_steps']}-step runbook")


def parse_wrk(text):
    """Return requests/s, p99 latency in ms and error counts from `wrk --latency` output."""
    units = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    parsed = {}
    for line in text.splitlines():
        fields = line.split()
        if line.startswith("Requests/sec:"):
            parsed["requests_per_second"] = float(fields[1])
        elif len(fields) == 2 and fields[0] == "99%":
            value = fields[1]
            for unit in ("us", "ms", "s"):
                if value.endswith(unit):
                    parsed["p99_ms"] = float(value[:-len(unit)]) * units[unit]
                    break
        elif "Non-2xx" in line or "Socket errors" in line:
            parsed["errors"] = (parsed.get("errors", "") + " " + line.strip()).strip()
    if "requests_per_second" not in parsed or "p99_ms" not in parsed:
        raise MeasureFailed(f"cannot read wrk output:\n{text}")
    return parsed


def make_runbook(steps):
    """Return a runbook with one component of `steps` exec steps running /bin/true."""
    lines = ["feature: bench-orchestration", "description: Orchestration overhead benchmark",
             "environments:", "  bench:", "    description: this machine",
             "components:", "  steps:", "    steps:"]
    for i in range(steps):
        lines.append(f"      - name: s{i:03d}")
        lines.append("        driver: exec")
        # A component starts with a backup step and ends with a verify step.
        if i == 0:
            lines.append("        role: backup")
        elif i == steps - 1:
            lines.append("        role: verify")
        lines.append("        params: {argv: [/bin/true]}")
    lines += ["scopes:", "  full:", "    components: [steps]", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="full")
    parser.add_argument("--build-dir", required=True, help="CMake build directory (Release)")
    parser.add_argument("--out", required=True, help="directory for results.json and results.md")
    parser.add_argument("--work-parent", default=os.environ.get("TMPDIR", "/var/tmp"),
                        help="where the temporary data directories go (a real disk)")
    parser.add_argument("--growth-events", type=int, default=0,
                        help="events in the large growth ledger (default: the mode's size)")
    parser.add_argument("--only", default="", help="comma-separated measure ids to run")
    parser.add_argument("--write-docs", default="",
                        help="Markdown file whose result block is replaced with this run's")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    suite = Suite(args)
    results = suite.run()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as out:
        json.dump(results, out, indent=1)
    rendered = report.render_markdown(results)
    with open(os.path.join(args.out, "results.md"), "w") as out:
        out.write(rendered)
    if args.write_docs:
        with open(args.write_docs) as document:
            updated = report.replace_results_block(document.read(), rendered)
        with open(args.write_docs, "w") as document:
            document.write(updated)
    suite.log(f"results written to {args.out}/results.json and results.md")
    failed = [m["id"] for m in results["measures"] if m.get("error")]
    if failed:
        suite.log(f"measures that failed: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
