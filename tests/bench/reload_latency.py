"""Save-to-reload latency of `broadsheet serve`: from saving a file to the rebuilt page.

Copies the example site (the repository's `site.yaml`, `content/` and `static/`) into a
temporary folder, adds one probe article, starts `broadsheet serve` on it as a user
would (a subprocess, its own port), and opens the probe's page in headless Chromium
(`tests/browser.py`). Then, a few times: rewrites the probe's title on disk, notes the
wall-clock time just after the write, and waits for the browser to show the new
document. Two figures per run, both from the new document's clock:

- reload: `performance.timeOrigin` (the reload's navigation start) minus the save time;
- shown: the new document's `load` event end minus the save time.

And a third from the server: built, when its status first tells of the build the save
set off (the site's other pages, such as listings showing the title, are then up to
date too: the edited article's own page is written and reloaded ahead of that build).

With `--articles N`, the site is instead a synthetic one of N articles
(`tests/bench/synth.py`) plus the probe: the preview of a large archive.

With `--again-after S`, each measured save comes S seconds after another save of the
probe, whose build is then under way: the figures are those of the second save, and
built is when the front page shows its title.

A first save, not counted, waits for the preview to fill its session (it reads every
article once the site is served: tens of seconds at 100,000 articles). Prints every
run and the medians. Writes nothing into the repository.

Usage: `.venv/bin/python tests/bench/reload_latency.py [--runs 7] [--articles 10000]
[--again-after 0.3]`
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "bench"))

from synth import write_site  # noqa: E402

from browser import chromium  # noqa: E402

PROBE = "content/2026/latency-probe.md"
PROBE_URL = "2026/01/15/latency-probe/"
PAUSE = 1.0
"""Between runs (at least; else as long as the last save took to build), longer than the
preview's debounce, so each save is its own burst."""


def probe(title: str) -> str:
    front = f'title: "{title}"\npublishedDateTime: 2026-01-15T12:00:00Z\nslug: latency-probe'
    return f"---\n{front}\n---\nA probe.\n"


def make_site(into: Path, articles: int) -> Path:
    """The example site, or a synthetic one of `articles` articles, with the probe."""
    site = into / "site"
    if articles:
        write_site(articles, site)
    else:
        site.mkdir()
        shutil.copy2(REPO / "site.yaml", site / "site.yaml")
        for folder in ("content", "static"):
            if (REPO / folder).is_dir():
                shutil.copytree(REPO / folder, site / folder)
    (site / PROBE).parent.mkdir(parents=True, exist_ok=True)
    (site / PROBE).write_text(probe("Latency probe 0"), encoding="utf-8")
    return site


def start_server(site: Path) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", str(site), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 600  # the first build of a large site is a cold one
    for line in process.stdout:
        found = re.search(r"serving .* at (http://\S+)", line)
        if found:
            return process, found.group(1)
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit("broadsheet serve did not start")


def builds(url: str) -> int:
    """How many builds the preview at `url` has published."""
    with urllib.request.urlopen(url + "__broadsheet/status", timeout=10) as response:
        return int(json.load(response)["builds"])


def front_page(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        text: str = response.read().decode("utf-8")
        return text


RELOAD_WITHIN = 10.0
"""Seconds a measured save may take to reload the page."""
BUILT_WITHIN = 120.0
"""Seconds a measured save's build may take (about 9 s at 100,000 articles)."""
WARM_WITHIN = 1_800.0
"""Seconds the warm-up save may take: behind it, the preview fills its session, which
reads every article (tens of seconds at 100,000 after a cold first build)."""


def measure(
    runs: int, articles: int = 0, again_after: float | None = None
) -> tuple[list[float], list[float], list[float]]:
    """Save-to-reload figures of `runs` saves, after a warm-up save that is not counted:
    the first change waits for the preview to fill its session, as it would for a user
    who saved at once. With `again_after`, each measured save follows another by that
    many seconds."""
    reloads: list[float] = []
    shown: list[float] = []
    built: list[float] = []
    with tempfile.TemporaryDirectory(prefix="broadsheet-latency-") as temporary:
        site = make_site(Path(temporary), articles)
        process, url = start_server(site)
        try:
            with chromium() as driver:
                driver.get(url + PROBE_URL)
                rest = PAUSE
                for run in range(runs + 1):
                    time.sleep(rest)
                    before = driver.execute_script("return performance.timeOrigin")
                    built_before = builds(url)
                    title = f"Latency probe {run + 1}"
                    again = again_after is not None and run > 0
                    if again:
                        (site / PROBE).write_text(probe(f"Saved before {run}"), encoding="utf-8")
                        time.sleep(again_after or 0)
                    (site / PROBE).write_text(probe(title), encoding="utf-8")
                    saved = time.time() * 1000
                    started = time.monotonic()
                    deadline = started + (RELOAD_WITHIN if run else WARM_WITHIN)
                    while True:
                        origin, load_end, ready, page_title = driver.execute_script(
                            "const nav = performance.getEntriesByType('navigation')[0];"
                            "return [performance.timeOrigin, nav ? nav.loadEventEnd : 0,"
                            " document.readyState, document.title];"
                        )
                        if origin != before and ready == "complete" and title in page_title:
                            break
                        if time.monotonic() > deadline:
                            raise SystemExit(f"run {run}: the page did not reload in time")
                        time.sleep(0.005)
                    deadline = started + (BUILT_WITHIN if run else WARM_WITHIN)
                    while builds(url) == built_before or (again and title not in front_page(url)):
                        if time.monotonic() > deadline:
                            raise SystemExit(f"run {run}: no build in time")
                        time.sleep(0.005)
                    done = time.time() * 1000 - saved
                    # A save the build under way read as well sets off one more build: it
                    # has ended by the next save, which then finds the preview idle.
                    rest = max(PAUSE, done / 1000)
                    if not run:
                        print(f"warm-up save (not counted): built {done:.0f} ms")
                        continue
                    reloads.append(origin - saved)
                    shown.append(origin + load_end - saved)
                    built.append(done)
                    print(
                        f"run {run}: reload {reloads[-1]:.0f} ms, shown {shown[-1]:.0f} ms, "
                        f"built {built[-1]:.0f} ms"
                    )
        finally:
            process.terminate()
            process.wait(timeout=10)
    return reloads, shown, built


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument(
        "--articles", type=int, default=0, help="a synthetic site of this many articles"
    )
    parser.add_argument(
        "--again-after",
        type=float,
        default=None,
        metavar="SECONDS",
        help="save the probe this long before each measured save",
    )
    args = parser.parse_args(argv)
    reloads, shown, built = measure(args.runs, args.articles, args.again_after)
    print(
        f"median over {len(reloads)} saves: reload starts {statistics.median(reloads):.0f} ms "
        f"after the save, new page loaded {statistics.median(shown):.0f} ms after it, "
        f"the build done {statistics.median(built):.0f} ms after it"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
