"""Statistics, target checks and the Markdown rendering of benchmark results."""

import statistics

RESULTS_BEGIN = "<!-- benchmark results: begin (written by tools/bench/run.sh) -->"
RESULTS_END = "<!-- benchmark results: end -->"


def summarize(values):
    """Return median, min, max and interquartile range of a list of numbers."""
    ordered = sorted(values)
    summary = {"values": values, "median": statistics.median(ordered), "min": ordered[0],
               "max": ordered[-1]}
    if len(ordered) >= 4:
        quartiles = statistics.quantiles(ordered, n=4, method="inclusive")
        summary["q1"], summary["q3"] = quartiles[0], quartiles[2]
    return summary


def check(value, op, threshold):
    return value >= threshold if op == ">=" else value <= threshold


def evaluate_targets(measure):
    """Fill in each target's ratio (or value) and whether it passes."""
    for target in measure["targets"]:
        metric = target["metric"]
        a = measure["sides"].get(target["side"], {}).get(metric)
        if a is None:
            target["pass"] = None
            continue
        if target.get("peer") is None:
            target["value"] = a["median"]
            target["pass"] = check(a["median"], target["op"], target["threshold"])
            continue
        b = measure["sides"].get(target["peer"], {}).get(metric)
        if b is None or b["median"] == 0:
            target["pass"] = None
            continue
        paired = [x / y for x, y in zip(a["values"], b["values"]) if y != 0]
        target["ratio"] = {"median": a["median"] / b["median"], "min": min(paired),
                           "max": max(paired)}
        target["pass"] = check(target["ratio"]["median"], target["op"], target["threshold"])


def format_number(value):
    if value is None:
        return "–"
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def format_summary(summary, unit):
    if summary is None:
        return "–"
    return (f"{format_number(summary['median'])} {unit} "
            f"({format_number(summary['min'])}–{format_number(summary['max'])})")


def result_word(target):
    if target.get("pass") is None:
        return "not measured"
    return "pass" if target["pass"] else "**miss**"


def render_targets_table(results):
    lines = ["| measure | target | rollbook side | peer side | ratio (paired min–max) | result |",
             "| --- | --- | --- | --- | --- | --- |"]
    for measure in results["measures"]:
        if measure.get("skipped") or measure.get("error"):
            reason = measure.get("skipped") or f"error: {measure['error']}"
            for target in measure["targets"]:
                lines.append(f"| {measure['title']} | {target['text']} | – | – | – | "
                             f"not measured: {reason} |")
            continue
        for target in measure["targets"]:
            unit = measure["metrics"][target["metric"]]["unit"]
            side = measure["sides"].get(target["side"], {}).get(target["metric"])
            side_text = f"{target['side']}: {format_summary(side, unit)}"
            if target.get("peer") is None:
                peer_text, ratio_text = "–", "–"
            else:
                peer = measure["sides"].get(target["peer"], {}).get(target["metric"])
                peer_text = f"{target['peer']}: {format_summary(peer, unit)}"
                ratio = target.get("ratio")
                ratio_text = "–" if ratio is None else (
                    f"{format_number(ratio['median'])} ({format_number(ratio['min'])}–"
                    f"{format_number(ratio['max'])})")
            lines.append(f"| {measure['title']} | {target['text']} | {side_text} | {peer_text} | "
                         f"{ratio_text} | {result_word(target)} |")
    return "\n".join(lines)


def render_sides_table(results):
    lines = ["| measure | side | metric | median | min–max | IQR | runs |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for measure in results["measures"]:
        for side, metrics in measure.get("sides", {}).items():
            for metric, summary in metrics.items():
                unit = measure["metrics"][metric]["unit"]
                iqr = "–"
                if "q1" in summary:
                    iqr = f"{format_number(summary['q1'])}–{format_number(summary['q3'])}"
                lines.append(
                    f"| {measure['id']} | {side} | {metric} ({unit}) | "
                    f"{format_number(summary['median'])} | {format_number(summary['min'])}–"
                    f"{format_number(summary['max'])} | {iqr} | {len(summary['values'])} |")
    return "\n".join(lines)


def render_micro_table(results):
    micro = results.get("micro") or []
    if not micro:
        return "No micro benchmark results."
    lines = ["| micro benchmark | median time per iteration | throughput |", "| --- | --- | --- |"]
    for row in micro:
        throughput = "–"
        if row.get("bytes_per_second"):
            throughput = f"{row['bytes_per_second'] / 2**20:.0f} MiB/s"
        lines.append(f"| {row['name']} | {row['ns']:.0f} ns | {throughput} |")
    return "\n".join(lines)


def render_fsync_timeline(results):
    probes = results.get("fsync_timeline") or []
    if not probes:
        return "not probed"
    return ", ".join(f"{probe['before']} {format_number(probe['syncs_per_second'])}/s"
                     for probe in probes)


def render_machine(results):
    machine = results["machine"]
    load = results["load_average"]
    fsync = machine.get("fsync") or {}
    return "\n".join([
        f"- mode: `{results['mode']}`, {results['repetitions']} repetitions per side, sides "
        "alternated (the order rotates every repetition)",
        f"- date: {results['started_at']}; duration {results['duration_seconds']:.0f} s",
        f"- CPU: {machine['cpu_model']}, {machine['cores']} cores; memory "
        f"{machine['memory_mib']:,} MiB; kernel {machine['kernel']}",
        f"- disk: {machine['filesystem']} at `{machine['work_dir']}`; write + fdatasync of 512 "
        f"bytes: {format_number(fsync.get('syncs_per_second'))}/s "
        f"(p50 {format_number(fsync.get('p50_us'))} µs), measured at the start of the run",
        f"- fdatasync rate before each comparison: {render_fsync_timeline(results)}",
        f"- load average (1, 5, 15 min): start {load['start']}, end {load['end']}",
        f"- sizes: {results['sizes_text']}",
    ])


def render_markdown(results):
    parts = [
        "### Machine and run", "", render_machine(results), "",
        "### Targets", "", render_targets_table(results), "",
        "### Every side", "", render_sides_table(results), "",
        "### Micro benchmarks", "", render_micro_table(results), "",
        "### Commands", "",
        "Paths are the run's temporary directories. Each line ran once per repetition.", "",
        "```",
    ]
    for measure in results["measures"]:
        for command in measure.get("commands", []):
            parts.append(f"[{measure['id']}] {command}")
    parts += ["```", ""]
    notes = [f"- {measure['id']}: {note}" for measure in results["measures"]
             for note in measure.get("notes", [])]
    if notes:
        parts += ["### Notes from the run", ""] + notes + [""]
    return "\n".join(parts)


def replace_results_block(document, rendered):
    """Return `document` with the text between the result markers replaced by `rendered`."""
    begin = document.find(RESULTS_BEGIN)
    end = document.find(RESULTS_END)
    if begin < 0 or end < begin:
        raise ValueError("the document has no benchmark result markers; add the lines "
                         f"{RESULTS_BEGIN!r} and {RESULTS_END!r}")
    return (document[:begin + len(RESULTS_BEGIN)] + "\n\n" + rendered + "\n" +
            document[end:])
