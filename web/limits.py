"""The process's open-file limit: every open /events stream is a socket, so a server that
holds 10,000 streams needs more descriptors than the usual soft limit (1,024)."""

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
