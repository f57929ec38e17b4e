"""Watching a server under attack: its memory and CPU (with its decode workers), and /healthz."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TICK = os.sysconf("SC_CLK_TCK")


def tree(pid: int) -> list[int]:
    """The process and its descendants (the forkserver, the decode workers)."""
    pids, index = [pid], 0
    while index < len(pids):
        try:
            for task in Path(f"/proc/{pids[index]}/task").glob("*/children"):
                pids += [int(child) for child in task.read_text().split()]
        except OSError:  # ended meanwhile (a worker replaced)
            pass
        index += 1
    return pids


def rss(pid: int) -> int:
    total = 0
    for each in tree(pid):
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:  # ended meanwhile
            continue
        # A process that has ended but not been reaped (a zombie) has no VmRSS line.
        total += next(
            (
                int(line.split()[1]) * 1024
                for line in status.splitlines()
                if line.startswith("VmRSS:")
            ),
            0,
        )
    return total


def cpu_seconds(pid: int) -> float:
    total = 0
    for each in tree(pid):
        try:
            fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICK


@dataclass
class HealthWatch:
    """/healthz asked every 50 ms from a thread while an attack runs; the slowest answer kept."""

    url: str
    slowest: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> HealthWatch:
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _poll(self) -> None:
        with httpx.Client(timeout=5) as client:
            while not self._stop.wait(0.05):
                start = time.monotonic()
                client.get(f"{self.url}/healthz").raise_for_status()
                self.slowest = max(self.slowest, time.monotonic() - start)


def idle_after(pid: int, within: float) -> float:
    """Seconds until the server's processes use under 5 % of a core over 0.5 s."""
    start = time.monotonic()
    while time.monotonic() - start < within + 5:
        before = cpu_seconds(pid)
        time.sleep(0.5)
        if cpu_seconds(pid) - before < 0.025:
            return time.monotonic() - start
    return float("inf")
