"""Command-line rebuilds from a cold file-system cache, against the same from a warm one.

After a reboot, or on a machine that gives its caches' memory back (virtual machines
do), the kernel no longer holds the folders and inodes of the site: a build that
checks every article file and every output file then reads each one's metadata from
the disk.

On a synthetic site of N articles (`tests/bench/synth.py`, written to a temporary
folder and built once), or on a site already built (`--site`, whose output is its
`output/` folder): for each run, a no-change rebuild and a rebuild after adding 10
articles, each once right after dropping the kernel's page, inode and folder caches
(`sync`, then `3` into `/proc/sys/vm/drop_caches`, which needs root) and once right
after another build (warm). Each build is `broadsheet build` in a process of its own,
as from cron. Prints each build's wall time and the medians. Writes nothing into the
repository; with `--site`, adds 10 articles to it each run.

Usage: `.venv/bin/python tests/bench/cold_cache.py [--articles 100000] [--runs 3]
[--jobs 2]` or `... --site PATH`, as root.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from synth import add_articles, write_site

DROP_CACHES = Path("/proc/sys/vm/drop_caches")


def drop_caches() -> None:
    os.sync()
    DROP_CACHES.write_text("3\n")


def timed_build(site: Path, jobs: int) -> float:
    """Wall seconds of `broadsheet build` of `site`, the venv's, in a process of its own."""
    command = [sys.executable, "-m", "generator", "build", str(site), "--jobs", str(jobs)]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def measure(site: Path, runs: int, jobs: int) -> dict[str, list[float]]:
    """Wall seconds of each kind of build, cold and warm, `runs` times."""
    timed: dict[str, list[float]] = {}
    added = sum(1 for _ in (site / "content").rglob("*.md"))
    timed_build(site, jobs)  # up to date, whatever the site's last build was
    for run in range(1, runs + 1):
        for cold in (True, False):
            for kind in ("no-change rebuild", "add 10 articles"):
                if kind != "no-change rebuild":
                    add_articles(site, added, 10)
                    added += 10
                if cold:
                    drop_caches()
                took = timed_build(site, jobs)
                label = f"{kind}, {'cold' if cold else 'warm'} cache"
                timed.setdefault(label, []).append(took)
                print(f"run {run}: {label}: {took:.2f} s", flush=True)
    return timed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--site", type=Path, help="a site already built (not generated)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    if not os.access(DROP_CACHES, os.W_OK):
        parser.error(f"dropping the caches needs root ({DROP_CACHES} is not writable)")
    with tempfile.TemporaryDirectory(prefix="broadsheet-cold-") as scratch:
        site = args.site
        if site is None:
            site = Path(scratch) / "site"
            write_site(args.articles, site)
        timed = measure(site, args.runs, args.jobs)
    for label, seconds in timed.items():
        each = ", ".join(f"{s:.2f}" for s in seconds)
        print(f"{label}: median {statistics.median(seconds):.2f} s ({each})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
