"""How soon a build under way stops once it is cancelled, as the preview cancels it when a
file is saved meanwhile.

On a synthetic site of N articles (`tests/bench/synth.py`, written to a temporary folder
and built once), or on a site already built (`--site`): a build fills a session, as the
preview's does; then, for each moment M given, an article's title is edited and the
session's rebuild is cancelled M seconds after it begins. Prints, for each, how long the
build went on after it was cancelled (or that it ended first), and the median and the
longest. Writes nothing into the repository; with `--site`, edits one article's title
and puts it back.

Usage: `.venv/bin/python tests/bench/stop_latency.py [--articles 10000]
[--at 0.5 1 1.5 2 3 4]` or `... --site PATH --at ...`
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from synth import DEFAULT_SEED, edit_title, make_article, write_site

from generator.builder import BuildOptions, Session, build
from generator.diagnostics import BuildCancelled


def stopped_after(site: Path, session: Session, moment: float) -> float | None:
    """Seconds the session's rebuild of `site` went on once cancelled `moment` seconds
    after it began; None if it ended first."""
    cancel = threading.Event()
    cancelled_at: list[float] = []

    def fire() -> None:
        cancelled_at.append(time.perf_counter())
        cancel.set()

    timer = threading.Timer(moment, fire)
    timer.start()
    try:
        build(site, BuildOptions(keep_last_good=True), session, cancel)
    except BuildCancelled:
        return time.perf_counter() - cancelled_at[0]
    finally:
        timer.cancel()
    return None


def measure(site: Path, edited: Path, moments: Sequence[float]) -> list[float]:
    text = edited.read_text(encoding="utf-8")
    session = Session()
    started = time.perf_counter()
    build(site, BuildOptions(keep_last_good=True), session)
    print(f"session filled in {time.perf_counter() - started:.1f} s", flush=True)
    went_on = []
    try:
        for n, moment in enumerate(moments, 1):
            edit_title(edited, f"Stop latency probe {n}")
            after = stopped_after(site, session, moment)
            if after is None:
                print(f"cancelled {moment} s in: the build had ended", flush=True)
            else:
                print(f"cancelled {moment} s in: stopped {after * 1000:.0f} ms later", flush=True)
                went_on.append(after)
    finally:
        edited.write_text(text, encoding="utf-8")
    return went_on


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--site", type=Path, help="a site already built (not generated)")
    parser.add_argument("--at", type=float, nargs="+", default=[0.5, 1, 1.5, 2, 3, 4])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="broadsheet-stop-") as scratch:
        if args.site is not None:
            site = args.site
            edited = min((site / "content").rglob("*.md"))
        else:
            site = Path(scratch) / "site"
            write_site(args.articles, site)
            build(site, BuildOptions())
            edited = site / "content" / make_article(DEFAULT_SEED, 0).relative_path
        went_on = measure(site, edited, args.at)
    if went_on:
        print(
            f"after the cancel, builds went on for {statistics.median(went_on) * 1000:.0f} ms "
            f"(median), {max(went_on) * 1000:.0f} ms at most"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
