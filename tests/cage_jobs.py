"""Jobs for the cage's tests, sent to its workers by name (they must be importable there)."""

from __future__ import annotations

import ctypes
import time


def spin(data: bytes) -> None:
    """Burns CPU until the cage stops it."""
    while True:
        pass


def sleep(data: bytes, seconds: float) -> None:
    time.sleep(seconds)


def allocate(data: bytes, mib: int) -> int:
    return len(bytearray(mib * 2**20))


def crash(data: bytes) -> None:
    ctypes.string_at(0)  # a segfault, as a decoder bug would be


def echo(data: bytes) -> bytes:
    return bytes(data)  # a worker is handed a mapping of the bytes, not a copy
