"""axe-core's verdict on a page, asked the one way the e2e tests ask it."""

from __future__ import annotations

from collections.abc import Sequence

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

WCAG21 = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")  # WCAG 2.0-2.1 A/AA
WCAG22 = (*WCAG21, "wcag22aa")


def serious_violations(page: Page, tags: Sequence[str] = WCAG21) -> list[str]:
    """The serious and critical violations of the rules tagged `tags`, on the page as it is now:
    each rule, its impact and (their first 80 characters) the first three elements it found."""
    options = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options)
    return [
        f"{v['id']} ({v['impact']}): {[n['html'][:80] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]
