"""Every figure the project measures, in one table to compare each release with the last.

    bench/run [--quick] [--one-core] [--only NAME ...] [--json FILE]

Columns: figure / value / unit / baseline (peer) / ratio (value ÷ baseline) / target / verdict.
Sections: answer, dtmf, dtmfcorpus, queries, queries5m, handoff, soak, faults, footprint, web, fleet. A section that
fails prints an "error" row and the others still run. See bench/README.md for how to read the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]


@dataclass
class Row:
    figure: str
    value: float | None
    unit: str
    baseline: float | None = None  # the peer's figure on the same run, where there is a peer
    target: float | None = None
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    @property
    def verdict(self) -> str:
        if self.value is None:
            return "error"
        if self.target is None:
            return "-"
        met = self.value >= self.target if self.higher_is_better else self.value <= self.target
        return "ok" if met else "MISSED"


def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


# --- sections: each returns rows; `quick` trades precision for a run of seconds ----------------------


def answer(quick: bool) -> list[Row]:
    import answer_latency

    sides = answer_latency.rounds(5 if quick else 100, 3)
    ours, line = answer_latency.flat(sides["ours"]), answer_latency.flat(sides["line"])
    peer = answer_latency.flat(sides["peer"]) if sides["peer"] is not None else None
    theirs = statistics.median(peer) if peer else None

    def spread(samples: list[float]) -> str:
        q1, _, q3 = answer_latency.quartiles(samples)
        return f"quartiles {q1 * 1000:.2f}-{q3 * 1000:.2f} ms"

    if peer:
        each = ", ".join(f"{r:.2f}" for r in answer_latency.round_ratios(sides["ours"], sides["peer"]))
        note = (f"peer: python-gsmmodem-new, {spread(peer)}; ours {spread(ours)}; sides in turn call by call, "
                f"3 rounds, ratio per round {each}")
    else:
        note = "peer not installed"
    return [
        Row("answer latency, RING to ATA through the whole daemon (median)", ms(statistics.median(ours)), "ms",
            ms(theirs), target=ms(theirs) * 0.5 if theirs else None, note=note),
        Row("answer latency, RING to ATA, ModemLine alone (component, median)", ms(statistics.median(line)), "ms",
            ms(theirs), note=f"the line without the daemon behind it; {spread(line)}"),
    ]


def dtmf(quick: bool) -> list[Row]:
    import dtmf as bench_dtmf

    figures = bench_dtmf.run()
    ours, peer = figures["decoders"]["ours"], figures["decoders"].get("multimon-ng")
    total = figures["total"]
    return [
        Row("DTMF cases decoded right", ours["right"], f"of {total}", peer and peer["right"], target=total,
            higher_is_better=True, note="peer: multimon-ng"),
        # The target: three orders of magnitude faster than real time (the peer's figure is beside it).
        Row("DTMF real-time factor (whole signal)", ours["rtf"], "x", peer and peer["rtf"],
            target=1000, higher_is_better=True),
        Row("DTMF real-time factor (20 ms periods)", ours["rtf_20ms_periods"], "x", target=10,
            higher_is_better=True, note="as the line feeds it"),
        Row("DTMF, 4 lines, at real-time pace, CPU of the daemon process", bench_dtmf.lines_cpu(2 if quick else 20),
            "% core", target=1, note="callers talking in the menu, 100 ms periods through the capture threads"),
        Row("DTMF, 4 lines, the receiver alone (component)", bench_dtmf.engine_cpu(2 if quick else 10), "% core",
            note="45 ms batches back to back, talking callers"),
    ]


def dtmf_corpus(quick: bool) -> list[Row]:
    """docs/dtmf.md's held-out figures: keys and talk-off the receiver's constants were not chosen on."""
    import dtmf_corpus as bench_corpus

    f = bench_corpus.run(quick)
    rows = []
    for (key_ms, codec), keys in f["keys"].items():
        clean = f["keys"][key_ms, None]["found"]
        where = "on a clean line" if codec is None else f"through {bench_corpus.CODEC_NAMES[codec]}"
        grid = "--quick: 2 of the 90 signals" if quick else "seeds 3-5, twists 0/+4/-8 dB, 5 codec-frame alignments"
        rows.append(Row(f"DTMF held-out keys, {key_ms} ms, found {where}", keys["found"], f"of {keys['sent']}",
                        None if codec is None else clean, target=keys["sent"] if codec is None else clean,
                        higher_is_better=True,
                        note=f"baseline and target: the same keys on a clean line; {grid}" if codec else grid))
    rows.append(Row("DTMF held-out keys, digits heard that were not sent", sum(k["extra"] for k in f["keys"].values()),
                    "digits", target=0, note="all the key signals above"))
    for name, talk in f["talk"].items():
        rows.append(Row(f"DTMF talk-off, {name} corpus, digits heard", talk["digits"], f"in {talk['signals']} signals",
                        target=0, note="espeak-ng voices and music, clean and through GSM 06.10 and AMR-NB"
                        + "".join(f"; {label}: {got}" for label, got in talk["heard"].items())))
    return rows


def _queries(calls: int, quick: bool, target_ms: float | None) -> list[Row]:
    import queries as bench_queries

    with tempfile.TemporaryDirectory(prefix="hotline-queries-") as tmp:
        calls = 20_000 if quick else calls
        results = bench_queries.run(calls, db=Path(tmp) / "calls.db" if quick else None)
    dashboard = {k: v for k, v in results.items() if k.startswith("dashboard")}
    searches = {k: v for k, v in results.items() if not k.startswith(("dashboard", "report"))}
    reports = {k: v for k, v in results.items() if k.startswith("report")}
    deep = {k: v for k, v in searches.items() if ", page " in k}  # page 50 and the last, by cursor
    slowest, report, search = (max(group, key=group.get) for group in (dashboard, reports, searches))
    return [
        Row(f"slowest dashboard query, {calls:,} calls", ms(dashboard[slowest]), "ms", target=target_ms, note=slowest),
        Row(f"slowest report query, {calls:,} calls", ms(reports[report]), "ms", target=target_ms, note=report),
        Row(f"slowest call-log search, {calls:,} calls", ms(searches[search]), "ms", target=target_ms, note=search),
        Row(f"slowest deep search page, {calls:,} calls", ms(max(deep.values())), "ms", target=target_ms,
            note="; ".join(f"{name.removeprefix('search ')}: {ms(seconds):.2f} ms" for name, seconds in deep.items())),
        Row(f"yearly report, all figures, {calls:,} calls", ms(sum(v for k, v in reports.items()
                                                                    if k.endswith("(365 days)"))), "ms"),
    ]


def queries(quick: bool) -> list[Row]:
    import queries as bench_queries

    return _queries(1_000_000, quick, ms(bench_queries.TARGET))


def queries_5m(quick: bool) -> list[Row]:
    """Issue 18's size: every dashboard, report and search query under 50 ms on 5,000,000 calls. The database is
    built once (about half an hour and 4 GB under /tmp/hotline-bench) and reused; --quick runs 20,000 calls."""
    return _queries(5_000_000, quick, 50)


def web(quick: bool) -> list[Row]:
    import web_process

    f = web_process.run(quick)
    return [
        Row("web process: idle resident memory at a restart", f["idle_rss_mb"], "MB", target=30,
            note=f"VmRSS after the login page, hotline web as its unit runs it; {f['interpreter']}"),
        Row("web process: idle resident memory at the first start", f["idle_first_rss_mb"], "MB", target=30,
            note="the same on a new data directory (after an install or upgrade; the install compiled the templates)"),
        Row(f"web process: peak resident memory after {f['sign_ins']} sign-ins", f["peak_rss_mb"], "MB", target=45,
            note="VmHWM; scrypt N=2^13, r=8, p=10 per sign-in, in a helper process"),
        Row(f"web process: resident memory after every page ({f['pages']}) once", f["walk_rss_mb"], "MB",
            note=f"VmRSS after a signed-in walk of every page; VmHWM {f['walk_peak_mb']:.2f} MB"),
        Row("web: the slowest first visit of a page", max(first for first, _ in f["first_visits_ms"].values()), "ms",
            note=_slowest_first_visit(f["first_visits_ms"])),
        Row("web: /api/dashboard, 20 concurrent clients (median)", f["dashboard_p50_ms"], "ms", f["bare_flask_p50_ms"],
            target=10, note=f"{f['dashboard_requests']} requests, API token, 4 waitress threads; "
                            "peer: bare Flask on waitress, same bytes"),
        Row("web: /api/dashboard, 20 concurrent clients (p95)", f["dashboard_p95_ms"], "ms"),
        Row("web: CPU of the web process per /api/dashboard request", f["dashboard_cpu_ms"], "ms",
            f["bare_flask_cpu_ms"], note="utime+stime over the 20-client run; peer: bare Flask on waitress"),
    ]


def _slowest_first_visit(visits: dict[str, tuple[float, float]]) -> str:
    page, (first, second) = max(visits.items(), key=lambda item: item[1][0])
    return f"{page}: {first:.0f} ms, {second:.0f} ms the second time (what it loads with its first request)"


def handoff(quick: bool) -> list[Row]:
    import handoff_latency

    f = handoff_latency.run(10 if quick else 200)
    note = f"{f['measured']}/{f['calls']} calls"
    return [
        Row("hand-off: menu key to first ring relay (median)", ms(f.get("key_to_ring_median")), "ms", target=50,
            note=note),
        Row("hand-off: menu key to first ring relay (p99)", ms(f.get("key_to_ring_p99")), "ms", target=50),
        Row("hand-off: lift to ringing off + audio on (median)", ms(f.get("lift_to_connect_median")), "ms",
            target=100, note="includes the 30 ms hook debounce"),
        Row("hand-off: lift to ringing off + audio on (p99)", ms(f.get("lift_to_connect_p99")), "ms", target=100),
    ]


def soak(quick: bool) -> list[Row]:
    import soak as bench_soak

    f = bench_soak.run(calls=40 if quick else 10_000, progress=not quick)
    lost = [f"kept in {f['kept']}"] if "kept" in f else []  # first: the note is cut at 120 characters
    lost += [f"{number} {stage}{' answered' if answered else ''}: {records} records, {complete} complete, rang {rang}"
             for number, stage, answered, records, complete, rang in f["bad_examples"]]
    return [
        Row("soak: calls placed", f["calls"], "calls", note=f"{f['seconds']:.0f} s, 4 lines"),
        Row("soak: calls without exactly one complete record", f["bad_records"], "calls", target=0,
            note=_examples(lost)),
        Row("soak: relays closed afterwards", f["relays_on"], "relays", target=0),
        Row("soak: resident memory growth after warm-up", f["rss_growth_mb"], "MB", target=2),
        Row("soak: threads leaked", f["threads_leaked"], "threads", target=0,
            note=_leaked(f["new_threads"], f["threads_leaked"])),
        Row("soak: file descriptors leaked", f["fds_leaked"], "fds", target=0,
            note=_leaked(f["new_fds"], f["fds_leaked"])),
    ]


def _leaked(new: dict[str, int], leaked: int) -> str:
    """The threads or descriptors the soak found new, when more came than went ("" otherwise)."""
    return _examples([f"{name} x{n}" for name, n in new.items()]) if leaked > 0 else ""


def faults(quick: bool) -> list[Row]:
    import faults as bench_faults

    f = bench_faults.run(calls=24 if quick else 600, quick=quick, progress=not quick)
    modem_faults = sum(n for kind, n in f["faults"].items() if kind in bench_faults.LINE_FAULTS)
    return [
        Row("faults: calls placed", f["calls"], "calls",
            note=f"{f['seconds']:.0f} s, 2 lines, {f['kills']} SIGKILLs, {modem_faults} modem faults"),
        Row("faults: calls without exactly one complete record", f["bad_records"], "calls", target=0,
            note=_examples([f"{number} on {line} {stage}{' answered' if answered else ''}: {records} records, "
                            f"{complete} complete" for number, line, stage, answered, records, complete
                            in f["bad_examples"]])),
        Row("faults: database integrity problems", 0 if f["integrity"] == "ok" else 1, "problems", target=0,
            note=f"PRAGMA integrity_check: {f['integrity']}"),
        Row("faults: restarts not idle (handset ringing or on call, live call)", f["unclean_restarts"], "restarts",
            target=0, note=f"of {f['kills'] + 1}"),
        Row("faults: lines not back in service at the end", f["lines_down_at_end"], "lines", target=0),
        Row("faults: answered calls cut by SIGKILL, closed as interrupted", f["cut_interrupted"],
            f"of {f['cut_by_kill']}", note="the others had ended before the kill"),
        Row("faults: starts refused before READY", f["refused_starts"], "starts",
            note=_examples(f["refused_examples"])),
        Row("faults: restart to READY=1 (median)", f["restart_ready_median"], "s"),
        Row("faults: callers refused for a storage reason", f["refused_storage"], "calls", target=0,
            note=f"skipped: {f['disk_full_skipped']}" if f["disk_full_skipped"]
            else f"data disk full {f['disk_full_spells']} times"),
        Row("faults: records deleted or changed by a clock step", f["changed_by_clock_step"], "records", target=0,
            note=f"boot in 1970, then set; {f['clock_steps'] - 1} steps of 1-5 years mid-call"),
        # bench/start_faults.py: the state damaged before a start, and a second `hotline run` beside the first
        Row("faults: starts refused because of damaged state", f["refused_bad_state"], "starts", target=0,
            note=_examples([f"of {f['bad_state_starts']}", *f["bad_state_examples"]])),
        Row("faults: damaged starts without their alarm or a clear refusal", f["unclear_start_state"], "starts",
            target=0, note=_examples(f["unclear_start_examples"])),
        Row("faults: second instances that started", f["second_instance_started"], "instances", target=0,
            note=_examples([f"of {f['second_instances']}", *f["second_examples"]])),
        Row("faults: first instance disturbed by a second", f["first_disturbed"], "instances", target=0),
    ]


def _examples(examples: list[str]) -> str:
    """What went wrong, shortened for the table's note ("" when nothing did)."""
    return "; ".join(examples)[:120]


def footprint(quick: bool) -> list[Row]:
    import footprint as bench_footprint

    f = bench_footprint.run(quick=quick)
    ours, peer = f["ours"], f["peer"] or {}
    note = "peer: python-gsmmodem-new" if peer else "peer not installed"
    return [
        Row(f"footprint: idle CPU share over {f['idle_seconds']:g} s", ours["cpu_percent"], "%",
            peer.get("cpu_percent"), target=1, note=note),
        Row("footprint: idle resident memory, one line, prompts rendered", ours["rss_mb"], "MB", peer.get("rss_mb"),
            target=25, note=f"VmRSS at a restart: call log made, prompts cached; {f['interpreter']}"),
        Row("footprint: idle resident memory after the first start", ours["first_start_rss_mb"], "MB",
            target=25,
            note=f"the call log made (copied from the one the install made) and every prompt; {f['interpreter']}"),
        Row("footprint: idle resident memory after a first call", ours["after_call_rss_mb"], "MB", target=25,
            note="a restart, then one call answered, a key, hung up: what a box holds from its first call on "
                 "(the answer journal's AES-GCM loads ctypes and pycryptodomex's C modules, ~0.3 MB; the call log's "
                 "sync thread and the writer's prepared statements ~1 MB; docs/proof.md)"),
        Row("footprint: idle threads", ours["threads"], "threads", peer.get("threads")),
        Row("footprint: exec to READY=1", ours["ready_seconds"], "s", peer.get("ready_seconds"),
            note="peer: to connect() returned"),
        Row("footprint: exec to READY=1, the daemon's CPU time", ours["ready_cpu_seconds"], "s",
            note="utime+stime at READY=1: what the wall time is on a machine with a core free"),
        Row(f"footprint: start to READY=1, first start with {f['first_start_prompts']} prompts to render",
            f["first_start_seconds"], "s", target=0.3,
            note=f"median of {3 if not quick else 1}; empty prompt cache; spoken prompts; wall time: waits for a core; "
                 f"{f['interpreter']}"),
        Row(f"footprint: start to READY=1, first start with {f['first_start_prompts']} prompts, the daemon's CPU time",
            f["first_start_cpu_seconds"], "s", target=0.3,
            note="utime+stime at READY=1, with any schema child (none where the install made the logs)"),
        Row("footprint: import appliance.service.daemon", ours["import_ms"], "ms", peer.get("import_ms"),
            note="peer: gsmmodem.modem; -X importtime"),
    ]


def fleet(quick: bool) -> list[Row]:
    import fleet as bench_fleet

    f = bench_fleet.run(quick=quick)
    return [
        Row("fleet: a change on a box to the subscriber's status, through Mosquitto over TLS (median)",
            f["propagation_ms_median"], "ms", note=f"max {f['propagation_ms_max']:.1f} ms; operator paused/back"),
        Row("fleet: messages per box per minute, idle", f["messages_per_minute_idle"], "msg/min", target=1,
            note="status only when it changes: none while nothing does"),
        Row("fleet: messages per box per minute, taking calls", f["messages_per_minute_calls"], "msg/min",
            note=f"{f['calls_per_minute']:.0f} calls a minute, each leaving in the menu"),
        Row("fleet: resident memory the MQTT client adds to the daemon", f["mqtt_client_mb"], "MB",
            note=f"{f['rss_alone_mb']:.1f} MB without [fleet] (paho not loaded), {f['rss_fleet_mb']:.1f} MB with"),
    ]


SECTIONS: dict[str, Callable[[bool], list[Row]]] = {
    "answer": answer, "dtmf": dtmf, "dtmfcorpus": dtmf_corpus, "queries": queries, "queries5m": queries_5m,
    "handoff": handoff, "soak": soak, "faults": faults, "footprint": footprint, "web": web, "fleet": fleet,
}


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"


def table(rows: list[Row]) -> str:
    head = ("figure", "value", "unit", "baseline (peer)", "ratio", "target", "verdict")
    cells = [head] + [
        (r.figure, fmt(r.value), r.unit, fmt(r.baseline), fmt(r.ratio),
         "-" if r.target is None else ("≥ " if r.higher_is_better else "≤ ") + fmt(r.target),
         r.verdict + (f"  ({r.note})" if r.note else ""))
        for r in rows
    ]
    widths = [max(len(c[i]) for c in cells) for i in range(len(head) - 1)]

    def line(row: tuple[str, ...]) -> str:
        pairs = enumerate(zip(row[:-1], widths, strict=True))
        padded = (c.ljust(w) if i in (0, 2) else c.rjust(w) for i, (c, w) in pairs)
        return "  ".join(padded) + "  " + row[-1]

    lines = [line(row) for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def collect(names: list[str], quick: bool) -> list[Row]:
    rows: list[Row] = []
    for name in names:
        began = time.monotonic()
        print(f"[{name}] running...", file=sys.stderr, flush=True)
        try:
            rows += SECTIONS[name](quick)
        except Exception as exc:  # noqa: BLE001 - one broken section must not hide the others' figures
            traceback.print_exc()
            rows.append(Row(f"{name}: failed", None, "", note=f"{type(exc).__name__}: {exc}"))
        print(f"[{name}] {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts: a sanity run of a minute or two")
    parser.add_argument("--only", action="append", choices=list(SECTIONS), metavar="NAME",
                        help=f"run only this section (repeatable): {', '.join(SECTIONS)}")
    parser.add_argument("--json", type=Path, help="also write the rows to this file, to compare releases")
    parser.add_argument("--one-core", action="store_true",
                        help="run everything on CPU 0 only (as `taskset -c 0`): a slow-box stand-in for a Pi")
    args = parser.parse_args(argv)
    if args.one_core:
        # inherited by every daemon, emulator and peer the sections start, as taskset's mask would be
        os.sched_setaffinity(0, {0})
        print("[one-core] pinned to CPU 0 (taskset -c 0)", file=sys.stderr, flush=True)
    load = os.getloadavg()[0]
    rows = collect(args.only or list(SECTIONS), args.quick)
    print(table(rows))
    # every wall time above is inflated by other jobs on the machine: say how busy it was
    print(f"load average {load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end; {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps([dict(asdict(r), ratio=r.ratio, verdict=r.verdict) for r in rows], indent=1))
    return 1 if any(r.verdict == "error" for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
