"""The process's open-file limit: every open /events stream is a socket, so a server that
holds 10,000 streams needs more descriptors than the usual soft limit (1,024). The cap on open
connections (MAX_CONNECTIONS) follows from it, so that a flood of sockets is refused by the
app (web/overrides/server_limits.py) before the process runs out of descriptors for everything
else."""

from __future__ import annotations

import resource


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit (never lower it); returns (soft, hard)
    as they now stand. An unlimited hard limit is not a valid soft one on Linux: left as is."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # a sandbox may refuse: the server runs with what it has
            pass
    return soft, hard


def describe(limit: int) -> str:
    return "unlimited" if limit == resource.RLIM_INFINITY else f"{limit:,}"


# Descriptors kept for what is not a client: the database pool, Redis, the media files being
# sent or written, image workers' pipes, logs, the event loop itself.
RESERVED_FILES = 256
# The most connections a process holds by default, whatever the open-file limit: 10,000 streams
# (docs/performance.md) and room for the requests beside them, at ~26 KB a stream (~430 MB).
MAX_CONNECTIONS = 16384


def connection_cap(soft_files: int) -> int:
    """The default MAX_CONNECTIONS for an open-file limit (the raised soft one)."""
    if soft_files == resource.RLIM_INFINITY:
        return MAX_CONNECTIONS
    return min(max(soft_files - RESERVED_FILES, soft_files // 2), MAX_CONNECTIONS)
