"""Runs process() over every file of a folder of odd and hostile images, one line per file.

    .venv/bin/python bench/corpus.py [FOLDER]     (default: ../shared/corpus beside the repo)

Each file must end accepted (variants, ms) or refused (status, code); anything else is a bug.
Peak memory is the process's resident high-water mark while the file is processed (Pillow's
pixel buffers are not Python objects, so tracemalloc would not see them): Linux's VmHWM, reset
before each file. Exits 1 if a file raised something else, took > 2 s, used > 500 MB, or if an
output holds a payload string.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from web.services.imaging import ImageRejected, Processed, process  # noqa: E402

DEFAULT_FOLDER = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PAYLOADS = (b"<?php", b"system(", b"passwd", b"alert(", b"<script")
MAX_SECONDS = 2.0
MAX_MB = 500


@dataclass
class Outcome:
    name: str
    verdict: str  # accepted | refused | BUG
    detail: str
    seconds: float
    peak_mb: float
    problems: list[str]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT_FOLDER)
    folder = parser.parse_args().folder
    outcomes = [run_one(path) for path in sorted(folder.iterdir()) if path.is_file()]
    for outcome in outcomes:
        print(line(outcome))
    print(summary(outcomes))
    return 1 if any(o.problems for o in outcomes) else 0


def run_one(path: Path) -> Outcome:
    data = path.read_bytes()
    reset_peak()
    base = memory_kb("VmRSS")
    start = time.perf_counter()
    verdict, detail, problems = attempt(data)
    seconds = time.perf_counter() - start
    peak_mb = (memory_kb("VmHWM") - base) / 1024
    if seconds > MAX_SECONDS:
        problems.append(f"took {seconds:.2f} s")
    if peak_mb > MAX_MB:
        problems.append(f"used {peak_mb:.0f} MB")
    return Outcome(path.name, verdict, detail, seconds, peak_mb, problems)


def attempt(data: bytes) -> tuple[str, str, list[str]]:
    try:
        processed = process(data)
    except ImageRejected as exc:
        return "refused", f"{exc.status} {exc.code}", []
    except Exception as exc:  # any other exception is a bug in the pipeline: report, go on
        return "BUG", f"{type(exc).__name__}: {exc}", [f"raised {type(exc).__name__}"]
    return "accepted", describe(processed), payloads_in(processed)


def describe(processed: Processed) -> str:
    p = processed
    anim = sum(v.animated for v in p.variants)
    return (
        f"{p.source_format} {p.source_width}x{p.source_height} -> {len(p.variants)} variants"
        f" ({anim} animated), master {p.master.ext} {p.master.width}x{p.master.height}"
        f", orientation {p.orientation_applied}, alpha {p.has_alpha}"
    )


def payloads_in(processed: Processed) -> list[str]:
    outputs = [processed.master.data] + [v.data for v in processed.variants]
    return [
        f"output holds {payload!r}"
        for payload in PAYLOADS
        if any(payload in data.lower() for data in outputs)
    ]


def line(o: Outcome) -> str:
    flag = "  !! " + "; ".join(o.problems) if o.problems else ""
    timing = f"{o.seconds * 1000:7.1f} ms {o.peak_mb:6.1f} MB"
    return f"{o.name:55} {o.verdict:8} {timing}  {o.detail}{flag}"


def summary(outcomes: list[Outcome]) -> str:
    accepted = sum(o.verdict == "accepted" for o in outcomes)
    refused = sum(o.verdict == "refused" for o in outcomes)
    slowest = max(outcomes, key=lambda o: o.seconds)
    hungriest = max(outcomes, key=lambda o: o.peak_mb)
    return (
        f"\n{len(outcomes)} files: {accepted} accepted, {refused} refused, "
        f"{len(outcomes) - accepted - refused} bugs; "
        f"slowest {slowest.name} {slowest.seconds * 1000:.0f} ms; "
        f"most memory {hungriest.name} {hungriest.peak_mb:.0f} MB; "
        f"files with problems: {sum(bool(o.problems) for o in outcomes)}"
    )


def reset_peak() -> None:
    """Resets the kernel's resident high-water mark (Linux 4.0+), if it lets us."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def memory_kb(key: str) -> int:
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return 0
    for row in status.splitlines():
        if row.startswith(key + ":"):
            return int(row.split()[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
