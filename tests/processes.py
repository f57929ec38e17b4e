"""Stopping a server a test or a bench started in a process of its own."""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen[bytes], wait: float = 10.0) -> None:
    """Ask it to stop (SIGTERM); past `wait` seconds, kill it. Returns once it has ended."""
    process.terminate()
    try:
        process.wait(timeout=wait)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
