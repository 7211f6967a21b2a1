"""Measuring one command: wall time, CPU time, peak memory of its process tree, output.

Owns the low-level measurements the runner reports, using only the standard library
and Linux's /proc: a sampler thread sums the resident memory (RSS, from
/proc/PID/statm) and the proportional set size (PSS, from /proc/PID/smaps_rollup) of
the process and all its descendants (RSS every ~50 ms, PSS every 0.2 to 0.5 s) and
keeps the highest sum of each; a snapshot of an output folder (size, mtime_ns and a
hash of every file) tells which files a build created, changed or removed. It runs
commands and reads files; it never changes anything (it only asks the kernel to flush
dirty pages, `sync`, before a run).
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
POLL_SECONDS = 0.05
PSS_EVERY = 10
"""Polls between two readings of PSS (0.5 s), unless the RSS sum reached a new high
(then at most every `PSS_AFTER_PEAK` polls). Reading smaps_rollup makes the kernel walk
the process's page tables: at every poll it took a large share of a core from the
measured build and slowed its page faults."""
PSS_AFTER_PEAK = 4


@dataclass(frozen=True, slots=True)
class Run:
    """One finished command."""

    argv: tuple[str, ...]
    returncode: int
    wall_seconds: float
    cpu_seconds: float
    """User plus system time of the process and every descendant it waited for."""
    peak_rss_bytes: int
    """Highest sum of the resident set sizes of the process tree seen while polling."""
    peak_pss_bytes: int
    """Highest sum of the proportional set sizes of the process tree seen while polling:
    a page shared by k processes counts 1/k in each, so copy-on-write pages shared by
    forked workers count once in all."""
    stdout: str
    stderr: str


def _children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc/PID/task/*/children."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as handle:
                found += [int(p) for p in handle.read().split()]
        except OSError:
            continue
    return found


def _rss_bytes(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0  # the process ended between listing and reading


def _pss_bytes(pid: int) -> int:
    """The `Pss:` line of /proc/PID/smaps_rollup (in kB), in bytes; 0 if unreadable."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass  # the process ended between listing and reading, or no smaps_rollup
    return 0


def tree_memory_bytes(root: int, with_pss: bool = True) -> tuple[int, int]:
    """(RSS sum, PSS sum) of `root` and all its descendants, right now, in one pass;
    the PSS sum is 0 unless `with_pss`."""
    rss, pss, stack, seen = 0, 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        rss += _rss_bytes(pid)
        pss += _pss_bytes(pid) if with_pss else 0
        stack += _children(pid)
    return rss, pss


class _PeakSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = 0
        self.peak_pss = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        since_pss = PSS_EVERY  # polls since PSS was read: read it at once
        while not self._stop_event.is_set():
            rss, _ = tree_memory_bytes(self.pid, with_pss=False)
            rising = rss > self.peak_rss and since_pss >= PSS_AFTER_PEAK
            pss = 0
            if rising or since_pss >= PSS_EVERY:
                rss, pss = tree_memory_bytes(self.pid)
                since_pss = 0
            since_pss += 1
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self._stop_event.wait(POLL_SECONDS)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(
    argv: Sequence[str], cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> Run:
    """Run `argv` to completion, timing it and sampling its memory; output is captured.

    The file systems are synced (`os.sync()`) before the clock starts, so write-back
    still pending from the preparation (a copy, a change) or from the previous run is
    not charged to this one.
    """
    os.sync()
    cpu_before = _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    sampler = _PeakSampler(process.pid)
    sampler.start()
    stdout, stderr = process.communicate()
    wall = time.perf_counter() - start
    sampler.stop()
    return Run(
        argv=tuple(argv),
        returncode=process.returncode,
        wall_seconds=wall,
        cpu_seconds=_children_cpu() - cpu_before,
        peak_rss_bytes=sampler.peak_rss,
        peak_pss_bytes=sampler.peak_pss,
        stdout=stdout,
        stderr=stderr,
    )


Snapshot = dict[str, tuple[int, int, bytes]]
"""Relative path → (size, mtime_ns, BLAKE2b digest of the bytes)."""


def snapshot(folder: Path) -> Snapshot:
    """Every file under `folder` (hidden ones included); empty if it does not exist."""
    result: Snapshot = {}
    if not folder.is_dir():
        return result
    for dirpath, _dirnames, filenames in os.walk(folder):
        for name in filenames:
            path = Path(dirpath, name)
            stat = path.stat()
            digest = hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
            result[path.relative_to(folder).as_posix()] = (stat.st_size, stat.st_mtime_ns, digest)
    return result


@dataclass(frozen=True, slots=True)
class OutputChange:
    created: int
    changed: int
    """Files present before and after whose bytes or mtime_ns differ."""
    removed: int
    total: int
    """Files in the folder afterwards."""

    @property
    def rewritten(self) -> int:
        """Files a build wrote: new ones plus changed ones."""
        return self.created + self.changed


def compare(before: Snapshot, after: Snapshot) -> OutputChange:
    created = sum(1 for path in after if path not in before)
    changed = sum(1 for path, info in after.items() if path in before and before[path] != info)
    removed = sum(1 for path in before if path not in after)
    return OutputChange(created=created, changed=changed, removed=removed, total=len(after))
