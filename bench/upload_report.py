"""What bench/upload.py prints: its rows, the bounds it reads them against, and the goals."""

from __future__ import annotations

import os
import statistics

MEMBERS = 12  # uploads a throughput round makes, one a member
IN_FLIGHT = 4
REFERENCE_PROCESSES = 2
LATENCY_ROWS = {
    "floor": "floor: bare draft decode",
    "reference": "reference: tuned Pillow, 1 thread",
    "upload": "upload: POST through the API",
    "transport": "transport: same POST, refused (400)",
    "durable": "durable: its 15 files, fsynced",
}
# The upload's options, each timed beside the plain upload (and the multipart fields it sends).
OPTIONS = {
    "upload": ("plain upload (the row above)", {}),
    "enhance": ("enhance=on", {"enhance": "on"}),
    "blur": ("background=blur", {"background": "blur"}),
}
SEARCH_ROWS = {
    "searched": "process(), default: the face search",
    "centre": "process(), the centre given: no search",
}
# The photo with a face (bench/upload.py with_a_face): its own bare decode, and its upload.
FACE_ROWS = {
    "face floor": "floor: its bare draft decode",
    "face upload": "upload: POST through the API",
}
LATENCY_GOAL = 1.15  # the upload at most this times the least possible here
THROUGHPUT_GOAL = 0.9  # per core, at least this share of the most possible here


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def report(times: dict[str, list[float]], cpu: dict[str, list[float]], rates, photo, args) -> None:
    med = {key: statistics.median(values) for key, values in times.items()}
    base = med["floor"]
    print(f"photo: 4032x3024 JPEG q90 with EXIF (orientation 6, GPS), {len(photo) / 2**20:.2f} MiB")
    print(f"machine: {os.cpu_count()} cores; load {_load()}")
    print(f"\nlatency, {args.runs} runs each, alternating      median      p90   / floor")
    for key, label in LATENCY_ROWS.items():
        print(f"  {label:38}{med[key]:8.1f} ms{p90(times[key]):8.1f} ms{med[key] / base:8.2f}x")
    search_ms = statistics.fmean(cpu["searched"]) - statistics.fmean(cpu["centre"])
    latency_bound(med, search_ms)
    report_face(times, med)
    report_options(times, cpu)
    report_throughput(rates, cpu, search_ms)


def report_face(times: dict[str, list[float]], med: dict[str, float]) -> None:
    """The photo with a face, against its own least possible line: its decode, then the same
    other work as the faceless photo's (the search's first pass finds the face: not counted)."""
    print("\nthe same photo with a face (a quarter of its long edge), same runs")
    for key, label in FACE_ROWS.items():
        ratio = med[key] / med["face floor"]
        print(f"  {label:38}{med[key]:8.1f} ms{p90(times[key]):8.1f} ms{ratio:8.2f}x")
    least = med["face floor"] + _beyond_decode(med)
    print(
        f"  its least possible: {least:.1f} ms; upload / it: {med['face upload'] / least:.2f}x"
        f" (goal at most {LATENCY_GOAL}x)"
    )


def _beyond_decode(med: dict[str, float]) -> float:
    """What the least possible upload adds to the decode: the reference's other pixel work
    spread perfectly over every core, the transport and the durable writes."""
    cores = os.cpu_count() or 1
    return (med["reference"] - med["floor"]) / cores + med["transport"] + med["durable"]


def report_options(times: dict[str, list[float]], cpu: dict[str, list[float]]) -> None:
    """Each option of the upload beside the plain one (same runs), and the face search's cost."""
    med = {key: statistics.median(values) for key, values in times.items()}
    mean_cpu = {key: statistics.fmean(values) for key, values in cpu.items()}
    print("\noptions, same runs                       median  / plain   server CPU per upload")
    for key, (label, _) in OPTIONS.items():
        ratio = med[key] / med["upload"]
        print(f"  {label:38}{med[key]:8.1f} ms{ratio:8.2f}x{mean_cpu[key]:10.1f} ms")
    print("  in this process                          median  CPU (every thread)")
    for key, label in SEARCH_ROWS.items():
        print(f"  {label:38}{med[key]:8.1f} ms{mean_cpu[key]:10.1f} ms")
    wall, spent = med["searched"] - med["centre"], mean_cpu["searched"] - mean_cpu["centre"]
    print(f"  the face search costs an upload {wall:.1f} ms of wall time, {spent:.1f} ms of CPU")


def report_throughput(
    rates: tuple[list[float], ...], cpu: dict[str, list[float]], search_ms: float
) -> None:
    ref_rates, api_rates, ref_cpu, api_cpu = rates
    ref_rate, api_rate = statistics.median(ref_rates), statistics.median(api_rates)
    per_core = ref_rate / REFERENCE_PROCESSES
    rounds = len(ref_rates)
    print(f"\nthroughput, {MEMBERS} uploads, {rounds} rounds (median)   uploads/s  per core")
    rows = (
        (f"reference on {REFERENCE_PROCESSES} processes", ref_rate),
        (f"API, {IN_FLIGHT} in flight, one server process", api_rate),
    )
    for label, rate in rows:
        print(f"  {label:44}{rate:10.1f}{rate / REFERENCE_PROCESSES:10.1f}")
    print(
        f"  API / reference on {REFERENCE_PROCESSES} processes: {api_rate / ref_rate:.2f}x;"
        f" API / reference per core: {api_rate / per_core:.2f}x"
    )
    ref_ms, api_ms = statistics.median(ref_cpu), statistics.median(api_cpu)
    print(
        f"  CPU per photo (load-proof): reference {ref_ms:.1f} ms, server {api_ms:.1f} ms;"
        f" uploads per CPU-second {1000 / ref_ms:.1f} vs {1000 / api_ms:.1f}"
        f" ({ref_ms / api_ms:.2f}x)"
    )
    most, searching = throughput_bound(ref_ms, cpu, search_ms)
    print(
        f"  API per core / most possible: {api_rate / per_core / most:.2f}x"
        f" (goal at least {THROUGHPUT_GOAL}x); / most possible with the face search:"
        f" {api_rate / per_core / searching:.2f}x"
    )
    # The same two ratios from CPU per photo, which a load that changes between the rounds of
    # the reference and of the server moves far less than it moves uploads/s.
    cores = os.cpu_count() or 1
    print(
        f"  the same from CPU per photo: {cores * ref_ms / api_ms / most:.2f}x;"
        f" with the face search: {cores * ref_ms / api_ms / searching:.2f}x"
    )


def latency_bound(med: dict[str, float], search_ms: float) -> None:
    """The least any upload could take here: the decode, the reference's other pixel work spread
    perfectly over every core (no face search, no transaction), the transport and the durable
    writes; and the same with the body streamed into the decoder (its transport hidden). Then
    the same with the face search's CPU (this photo has no face: both passes) spread likewise."""
    cores = os.cpu_count() or 1
    whole = med["floor"] + _beyond_decode(med)
    streamed = whole - med["transport"]
    print(
        f"  least possible here: decode + (reference - decode)/{cores} cores + transport"
        f" + durable = {whole:.1f} ms ({whole / med['floor']:.2f}x);"
        f" body streamed into the decoder: {streamed:.1f} ms ({streamed / med['floor']:.2f}x)"
    )
    print(f"  upload / least possible: {med['upload'] / whole:.2f}x (goal at most {LATENCY_GOAL}x)")
    searching = whole + search_ms / cores
    print(
        f"  least possible with the face search ({search_ms:.1f} ms of CPU)/{cores} cores:"
        f" {searching:.1f} ms ({searching / whole:.2f}x the least possible);"
        f" upload / it: {med['upload'] / searching:.2f}x"
    )


def throughput_bound(
    ref_ms: float, cpu: dict[str, list[float]], search_ms: float
) -> tuple[float, float]:
    """With both cores busy, the server's uploads/s over the reference's on one core is
    cores x (reference CPU / server CPU) per photo, and the server's CPU is at least the
    reference's plus the transport's and the durable writes' (no face search, no transaction);
    and the same with the face search's CPU. Means: the server's CPU is read in clock ticks."""
    cores = os.cpu_count() or 1
    transport_ms, durable_ms = (statistics.fmean(cpu[key]) for key in ("transport", "durable"))
    least = ref_ms + transport_ms + durable_ms
    print(
        f"  most possible here: {cores} cores x reference CPU / (reference + transport"
        f" {transport_ms:.1f} + durable {durable_ms:.1f} ms of CPU)"
        f" = {cores * ref_ms / least:.2f}x per core"
    )
    searching = cores * ref_ms / (least + search_ms)
    print(f"  most possible with the face search's {search_ms:.1f} ms of CPU: {searching:.2f}x")
    return cores * ref_ms / least, searching


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.2f} (1 min), {five:.2f} (5 min)"
