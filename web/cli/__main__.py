"""`python -m web.cli`: the same as the `ppsync` console script."""

from __future__ import annotations

import sys

from web.cli import main

sys.exit(main())
