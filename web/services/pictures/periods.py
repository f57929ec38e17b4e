"""How long deleted versions are kept and how old an orphan must be to go: plain constants,
so that the CLI's parser (its help prints the sweep's default) needs nothing heavier."""

from __future__ import annotations

from datetime import timedelta

# A file younger than this (its mtime, an object's LastModified) may belong to an upload whose
# transaction has not committed yet.
SWEEP_GRACE_SECONDS = 3600
RETENTION = timedelta(days=30)  # a deleted version is kept this long for Undo
