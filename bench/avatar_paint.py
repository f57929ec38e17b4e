"""When the directory's above-the-fold avatars paint on a throttled phone (issue 25).

    .venv/bin/python bench/avatar_paint.py [--members 60] [--loads 7] [--path /members]

A server runs as bench/lighthouse.py starts it, with 60 members who each uploaded a photo (their
AVIF copies decided before any load). Chromium (CHROME_PATH, default /usr/bin/chromium) loads the
page in a fresh context each time (an empty cache), as Lighthouse's mobile run does: a Moto G
Power's screen (412x823, 1.75x), its CPU 4x slowed and the network throttled through CDP with
Lighthouse's own values for "slow 4G" (562.5 ms request latency, 1474.56 kbps down, 675 up).

Each picture avatar's <img> is marked for the Element Timing API as it is parsed, so the browser
reports when each one painted. Per load: first paint, and the paint of the last avatar photo
above the fold (its box within the first screen). Prints each load and the medians. Goal: the
last above-the-fold avatar at most 600 ms after first paint.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from lighthouse import seed  # noqa: E402
from reads import bench_server  # noqa: E402

GOAL_MS = 600.0
PHONE = {"viewport": {"width": 412, "height": 823}, "device_scale_factor": 1.75}
NETWORK = {  # Lighthouse's mobile throttling (constants.throttling.mobileSlow4G), applied
    "offline": False,
    "latency": 562.5,
    "downloadThroughput": 1474.56 * 1024 / 8,
    "uploadThroughput": 675 * 1024 / 8,
}
CPU_SLOWDOWN = 4
# Runs before the page's own scripts: marks each avatar <img> as the parser adds it, and keeps
# every element-timing entry (the buffer alone holds only the first 150).
MARK = """
window.__painted = [];
new PerformanceObserver((list) => window.__painted.push(...list.getEntries()))
  .observe({ type: "element", buffered: true });
new MutationObserver((changes) => {
  for (const change of changes)
    for (const node of change.addedNodes)
      if (node.nodeType === 1)
        for (const img of [node, ...node.querySelectorAll("img")])
          if (img.matches(".avatar picture img")) img.setAttribute("elementtiming", "avatar");
}).observe(document, { childList: true, subtree: true });
"""
# Once the page is loaded: first paint, and each above-the-fold avatar's paint (or null).
READ = """
() => {
  const first = performance.getEntriesByName("first-paint")[0]?.startTime ?? null;
  const fold = innerHeight;
  const shown = [...document.querySelectorAll(".avatar picture img")].filter((img) => {
    const box = img.getBoundingClientRect();
    return box.bottom > 0 && box.top < fold && box.width > 0;
  });
  const painted = new Map(window.__painted.map((e) => [e.element, e.renderTime || e.loadTime]));
  const at = shown.map((img) => painted.get(img) ?? null);
  const last = shown[at.indexOf(Math.max(...at))];
  const named = last && `${last.currentSrc.split("/").pop()} ${last.loading}`;
  return { first, avatars: at, last: named };
}
"""


Load = tuple[float, list[float | None], str]  # first paint, each avatar's paint, the last one


def load_once(browser: Browser, url: str) -> Load:
    context = browser.new_context(**PHONE, is_mobile=True, has_touch=True)  # type: ignore[arg-type]
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", NETWORK)
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        page.add_init_script(MARK)
        page.goto(url, wait_until="load", timeout=60_000)
        page.wait_for_timeout(500)  # the last element-timing entries are queued after load
        found = page.evaluate(READ)
        return float(found["first"]), found["avatars"], found["last"]
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=60)
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--path", default="/members")
    args = parser.parse_args()
    one, five, _ = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ppsync-paint-") as tmp:
        server = bench_server(Path(tmp), f"sqlite:///{Path(tmp) / 'app.db'}", 100_000)
        server.start()
        try:
            seed(server, args.members)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=os.environ.get("CHROME_PATH", "/usr/bin/chromium"),
                    args=["--no-sandbox"],
                )
                loads = [load_once(browser, server.url + args.path) for _ in range(args.loads)]
                browser.close()
        finally:
            server.stop()
    report(loads, args, f"{one:.2f} (1 min), {five:.2f} (5 min) at the start")


def report(
    loads: list[tuple[float, list[float | None]]], args: argparse.Namespace, load: str
) -> None:
    print(f"{args.path} with {args.members} members with photos, {args.loads} loads; load {load}")
    print("throttled phone: 412x823 at 1.75x, CPU 4x, 562.5 ms latency, 1.47 Mbps down")
    lasts, firsts = [], []
    for first, avatars, which in loads:
        missing = sum(1 for t in avatars if t is None)
        last = max((t for t in avatars if t is not None), default=first)
        firsts.append(first)
        lasts.append(last - first)
        print(
            f"  first paint {first:6.0f} ms; {len(avatars)} avatars above the fold, last painted "
            f"{last:6.0f} ms (+{last - first:.0f} ms: {which})"
            + (f"; {missing} never" if missing else "")
        )
    median = statistics.median(lasts)
    verdict = "met" if median <= GOAL_MS else "MISSED"
    print(
        f"median: first paint {statistics.median(firsts):.0f} ms; last above-the-fold avatar "
        f"+{median:.0f} ms after it (goal <= {GOAL_MS:.0f} ms): {verdict}"
    )


if __name__ == "__main__":
    main()
