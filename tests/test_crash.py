"""Crash safety: whenever a build stops — killed with SIGKILL, out of disk space, denied
permission, or failing on a template — `output/` is a working site (every file complete,
every internal link reachable from the home page resolving), and the next build
repairs it to exactly what a clean build of the same content writes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import html5lib
import pytest

from conftest import REPO
from generator import BuildOptions, build
from generator import builder as build_module
from generator import cache as cache_module
from generator import loader as loader_module
from generator import writer as writer_module
from generator.cache import CACHE_DIR
from generator.cli import INTERRUPTED, main
from generator.diagnostics import BuildCancelled, BuildError
from generator.writer import (
    FRESH,
    JOURNAL,
    LOCK,
    MANIFEST,
    STAGING,
    TEMPORARY_SUFFIX,
    Journal,
    OutputWriter,
)
from site_checks import LINK_ATTRIBUTES, resolve

TOPICS = ("Harbour", "Rail", "Energy", "Weather", "Schools", "Housing", "Sport", "Science")
SOURCES = (
    ("Tidewatch", "tidewatch.example"),
    ("Coastline", "coastline.example"),
    ("Railway Gazette", "rail.example"),
    ("City Desk", "city.example"),
)
SITE_YAML = "title: Crash Courier\nbase_url: https://crash.example/\ntimezone: UTC\nper_page: {}\n"


# --- Sites in two versions --------------------------------------------------------


def article_files(count: int, version: int, changes: range) -> dict[str, str]:
    """`count` articles, two hours apart. Version 2 differs in the articles whose number is
    in `changes`: some are added, some removed and some get a new title (and so a new
    URL), so a build of one version on top of the other moves pages in every listing."""
    start = datetime(2024, 1, 1, 6, tzinfo=UTC)
    files = {}
    for n in range(count):
        step = (n - changes.start) % 29 if n in changes else -1
        if (version == 1 and step == 0) or (version == 2 and step == 9):
            continue
        when = start + timedelta(hours=2 * n, minutes=n % 7)
        title = f"Story {n} about {TOPICS[n % 8].lower()}"
        if version == 2 and step == 17:
            title = f"Story {n} retold"
        name, domain = SOURCES[n % 4]
        files[f"content/{when:%Y/%m}/story-{n}.md"] = (
            f'---\ntitle: "{title}"\npublishedDateTime: {when:%Y-%m-%dT%H:%M:%SZ}\n'
            f"topics: [{TOPICS[n % 8]}, {TOPICS[(3 * n + 1) % 8]}]\n"
            f"provider: {{name: {name}, domain: {domain}}}\n---\nStory {n}.\n"
        )
    return files


def write_content(folder: Path, files: dict[str, str]) -> None:
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def new_site(folder: Path, files: dict[str, str], per_page: int) -> Path:
    folder.mkdir(parents=True)
    (folder / "site.yaml").write_text(SITE_YAML.format(per_page), encoding="utf-8")
    write_content(folder, files)
    return folder


def tree(output: Path) -> dict[str, str]:
    """Every file (hidden ones too) with its SHA-256, and every folder."""
    return {
        path.relative_to(output).as_posix(): (
            "folder" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
        )
        for path in output.rglob("*")
    }


# --- What a working site is -------------------------------------------------------


@dataclass
class SiteChecker:
    """Checks an output folder; remembers what it learnt of each distinct file's bytes, so
    each version of a page is parsed once however many times it is seen."""

    links: dict[str, list[str]] = field(default_factory=dict)
    """Links of each HTML page that parsed, by its SHA-256."""
    good: set[str] = field(default_factory=set)
    """SHA-256 of every other file known to be complete."""

    def learn(self, output: Path) -> None:
        """Parse every file of a folder (pages in two processes); all must parse."""
        files = _digests(output)
        pages = {d: p for p, d in files.items() if p.suffix == ".html" and d not in self.links}
        with ProcessPoolExecutor(2) as pool:
            parsed = pool.map(_parse_links, [p.read_bytes() for p in pages.values()], chunksize=64)
            self.links.update(zip(pages, parsed, strict=True))
        assert [p for p in self._check_files(files) if "does not parse" in p] == []

    def check(self, output: Path, first: bool = False) -> list[str]:
        """The problems of a site: incomplete files, and broken links reachable from home.
        A `first` build may have moved pages in but not yet the home page."""
        files = _digests(output)
        return self._check_files(files) + self._check_links(output, files, first)

    def _check_files(self, files: dict[Path, str]) -> list[str]:
        problems = []
        for path, digest in files.items():
            if digest in self.links or digest in self.good:
                continue
            if path.name.endswith(TEMPORARY_SUFFIX) or FRESH in path.parts:
                continue  # may be cut short; never linked (checked below), removed next time
            try:
                if path.suffix == ".html":
                    self.links[digest] = _parse_links(path.read_bytes())
                    continue
                _check_other(path)
            except Exception as exc:
                problems.append(f"{path}: does not parse: {exc!r}")
                continue
            self.good.add(digest)
        return problems

    def _check_links(self, output: Path, files: dict[Path, str], first: bool) -> list[str]:
        home = output / "index.html"
        if home not in files:
            pages = any(p.suffix == ".html" and FRESH not in p.parts for p in files)
            return [] if first or not pages else ["no home page"]
        targets: dict[str, Path | None] = {}
        problems, seen, queue = [], {home}, deque([home])
        while queue:
            page = queue.popleft()
            for link in self.links[files[page]]:
                if link not in targets:
                    targets[link] = resolve(link, output, "/")
                target = targets[link]
                if target is None:
                    continue
                if target not in files or target.name.endswith(TEMPORARY_SUFFIX):
                    problems.append(f"{page.relative_to(output)} links to missing {link}")
                elif target.suffix == ".html" and target not in seen:
                    seen.add(target)
                    queue.append(target)
        return problems


def _digests(output: Path) -> dict[Path, str]:
    return {
        path: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in output.rglob("*")
        if path.is_file()
    }


def _check_other(path: Path) -> None:
    data = path.read_bytes()
    if path.suffix == ".xml":
        ET.fromstring(data)
    elif path.name == JOURNAL:
        assert Journal.parse(data.decode()) is not None
    elif path.name == MANIFEST:
        assert all(len(line.partition(" ")[0]) == 64 for line in data.decode().splitlines())
    elif path.name in (LOCK, STAGING):
        assert data == b""


def _parse_links(data: bytes) -> list[str]:
    document = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(data)
    return [
        element.get(attribute)
        for tag, attribute in LINK_ATTRIBUTES
        for element in document.iter(tag)
        if element.get(attribute)
    ]


# --- Killing builds ---------------------------------------------------------------


def start_build(site: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "generator", "build", str(site), "--jobs", "2"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: the workers die with it
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 30) -> bool:
    """Poll until `path` exists; False if the build ended first."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.0002)
    return True


def wait_for_files(folder: Path, count: int, process: subprocess.Popen[bytes]) -> bool:
    """Poll until `folder` holds `count` files (in it or below); False if the build
    ended first."""
    deadline = time.monotonic() + 30
    while sum(len(files) for _, _, files in os.walk(folder)) < count:
        if process.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.0002)
    return True


@dataclass(frozen=True)
class Phases:
    """When, in seconds after the start, a build entered the writer, began to commit and
    ended."""

    staging: float
    journal: float
    commit: float
    end: float


def timed_build(site: Path) -> Phases:
    output = site / "output"
    started = time.monotonic()
    process = start_build(site)
    assert wait_for(output / STAGING, process)
    staging = time.monotonic() - started
    assert wait_for(output / JOURNAL, process)
    journal = time.monotonic() - started
    while (output / JOURNAL).exists():
        time.sleep(0.0002)
    commit = time.monotonic() - started - journal
    assert process.wait(timeout=60) == 0
    return Phases(staging, journal, commit, time.monotonic() - started)


def kill_moments(phases: Phases, count: int = 20) -> list[tuple[str, float]]:
    """`count` moments: spread over the whole build, spread over its render phase (after
    the staging marker appears), and spread over its commit (after the journal appears)."""
    spread = count - 2 * (count // 3)
    render = phases.journal - phases.staging
    return [
        *(("start", phases.end * (i + 0.5) / spread) for i in range(spread)),
        *(("render", render * i / (count // 3)) for i in range(count // 3)),
        *(("commit", phases.commit * 0.8 * i / (count // 3)) for i in range(count // 3)),
    ]


class Versions:
    """Swaps a site's `content/` between two prepared versions (mtimes kept)."""

    def __init__(self, site: Path, store: Path, versions: dict[int, dict[str, str]]) -> None:
        self.site = site
        self.store = store
        for number, files in versions.items():
            write_content(store / f"v{number}", files)
        self.current: int | None = None

    def use(self, number: int) -> None:
        if self.current == number:
            return
        if self.current is not None:
            (self.site / "content").rename(self.store / f"v{self.current}" / "content")
        (self.store / f"v{number}" / "content").rename(self.site / "content")
        self.current = number


def test_a_build_killed_at_twenty_moments_leaves_a_working_site(tmp_path: Path) -> None:
    count, changes = 2100, range(1800, 2100)
    versions = {v: article_files(count, v, changes) for v in (1, 2)}
    assert min(len(files) for files in versions.values()) >= 2000
    site = tmp_path / "site"
    site.mkdir()
    (site / "site.yaml").write_text(SITE_YAML.format(20), encoding="utf-8")
    content = Versions(site, tmp_path / "store", versions)
    output = site / "output"
    content.use(1)
    assert build(site, BuildOptions(jobs=2)).exit_code == 0  # clean: no cache, no output
    clean = {1: tree(output)}
    other = new_site(tmp_path / "clean-2", versions[2], per_page=20)
    assert build(other, BuildOptions(jobs=2)).exit_code == 0
    clean[2] = tree(other / "output")
    checker = SiteChecker()
    checker.learn(output)
    checker.learn(other / "output")
    content.use(2)
    phases = timed_build(site)
    assert tree(output) == clean[2]

    landed: dict[str, int] = {}
    moments = kill_moments(phases)
    for index, (event, delay) in enumerate(moments):
        phase = _kill_once(index, event, delay, content, checker, clean)
        landed[phase] = landed.get(phase, 0) + 1
    # On a busy machine a kill may come after the short commit it aimed at: more kills
    # then aim at the very start of a commit (or render) until each has seen 3.
    for index in range(len(moments), len(moments) + 12):
        missed = [phase for phase in ("commit", "render") if landed.get(phase, 0) < 3]
        if not missed:
            break
        phase = _kill_once(index, missed[0], 0.0, content, checker, clean)
        landed[phase] = landed.get(phase, 0) + 1
    assert landed.get("commit", 0) >= 3, landed
    assert landed.get("render", 0) >= 3, landed


def _kill_once(
    index: int,
    event: str,
    delay: float,
    content: Versions,
    checker: SiteChecker,
    clean: dict[int, dict[str, bytes]],
) -> str:
    """Start a build of the other content version, kill it `delay` seconds after `event`
    and check the site it left; then build again and check that the output is a clean
    build's. Returns the phase the build was killed in."""
    site = content.site
    output = site / "output"
    before = content.current or 1
    target = 3 - before
    content.use(target)
    process = start_build(site)
    if event != "start":
        wait_for(output / (STAGING if event == "render" else JOURNAL), process)
    time.sleep(delay)
    kill(process)
    phase = (
        "commit"
        if (output / JOURNAL).exists()
        else "render"
        if (output / STAGING).exists()
        else ("finished" if process.returncode == 0 else "before writing")
    )
    problems = checker.check(output)
    assert problems == [], (index, event, delay, phase, problems[:5])
    # The next build finishes the killed build's content; every fourth reverts it.
    final = before if index % 4 == 3 else target
    content.use(final)
    assert build(site, BuildOptions(jobs=2)).exit_code == 0
    assert tree(output) == clean[final], (index, event, delay, phase)
    return phase


# --- Each step of a commit, one at a time -----------------------------------------


SMALL_CHANGES = range(5, 40)


def _small_site(tmp_path: Path, name: str, version: int) -> Path:
    return new_site(tmp_path / name, article_files(40, version, SMALL_CHANGES), per_page=3)


def _clean_build(tmp_path: Path, version: int) -> tuple[dict[str, str], SiteChecker]:
    """The output of a clean build of `version` of the small site, and a checker that
    knows its pages."""
    clean = _small_site(tmp_path, "clean", version)
    build(clean, BuildOptions(jobs=1))
    checker = SiteChecker()
    checker.learn(clean / "output")
    return tree(clean / "output"), checker


def _use_version(site: Path, version: int) -> None:
    shutil.rmtree(site / "content")
    write_content(site, article_files(40, version, SMALL_CHANGES))


def _failing_after(
    real: Callable[[str, str], None], after: int, counted: Callable[[str, str], bool]
) -> Callable[[str, str], None]:
    """`real` (a rename), failing as on a full disk from the `after + 1`-th `counted` call."""
    calls = [0]

    def rename(source: str, target: str) -> None:
        if counted(source, target):
            calls[0] += 1
            if calls[0] > after:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
        real(source, target)

    return rename


def _failing_replace(after: int) -> Callable[[str, str], None]:
    """`os.replace` that fails from the `after + 1`-th rename of a page on (the journal
    and manifest are let through)."""
    return _failing_after(
        os.replace, after, lambda _, target: not str(target).endswith((MANIFEST, JOURNAL))
    )


def _failing_unlink(after: int, output: Path) -> Callable[..., None]:
    """`Path.unlink` that fails from the `after + 1`-th removal of a page on."""
    real = Path.unlink
    calls = [0]

    def unlink(path: Path, missing_ok: bool = False) -> None:
        if path.is_relative_to(output) and not path.name.startswith("."):
            calls[0] += 1
            if calls[0] > after:
                raise OSError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        real(path, missing_ok=missing_ok)

    return unlink


def test_a_commit_stopped_after_any_step_leaves_a_working_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stops a commit after each of its renames and removals in turn (as a kill would):
    the site works at every step, and the next build finishes it."""
    expected, checker = _clean_build(tmp_path, 2)
    base = _small_site(tmp_path, "base", 1)
    build(base, BuildOptions(jobs=1))
    checker.learn(base / "output")
    journal = Journal.parse((_stopped_commit(base, tmp_path / "probe") / JOURNAL).read_text())
    assert journal is not None
    renames, removals = len(journal.renames), len(journal.removals)
    assert renames > 30 and removals > 0
    stops = [("replace", n) for n in range(renames)] + [("unlink", n) for n in range(removals)]
    # Every step near the start and end of each phase, and an even sample between.
    sample = sorted({*range(4), *range(renames - 3, renames + 3), *range(0, len(stops), 8)})
    for number, (name, after) in enumerate(stops[i] for i in sample if i < len(stops)):
        site = tmp_path / f"stop-{number}"
        shutil.copytree(base, site)
        _use_version(site, 2)
        with monkeypatch.context() as patch:
            if name == "replace":
                patch.setattr(writer_module.os, "replace", _failing_replace(after))
            else:
                patch.setattr(Path, "unlink", _failing_unlink(after, site / "output"))
            with pytest.raises(BuildError, match="cannot write output"):
                build(site, BuildOptions(jobs=1))
        assert checker.check(site / "output") == [], (name, after)
        build(site, BuildOptions(jobs=1))
        assert tree(site / "output") == expected, (name, after)
        shutil.rmtree(site)


def test_a_commit_finished_after_a_kill_hashes_a_large_file_without_reading_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A copy renamed into place before the kill is hashed for the manifest as the
    commit is finished: in chunks, as a large static file was copied."""
    output = tmp_path / "output"
    (output / "static").mkdir(parents=True)
    data = bytes(range(256)) * 40_000  # 10 MB
    (output / "static/film.mp4").write_bytes(data)
    journal = Journal(("static/film.mp4",), (), {"static/film.mp4": "0" * 64})
    (output / JOURNAL).write_text(journal.text())
    real = Path.read_bytes

    def not_whole(path: Path) -> bytes:
        assert path.name != "film.mp4", "read whole"
        return real(path)

    monkeypatch.setattr(Path, "read_bytes", not_whole)
    writer_module.recover(output)
    digest = hashlib.sha256(data).hexdigest()
    assert (output / MANIFEST).read_text() == f"{digest} static/film.mp4\n"
    assert not (output / JOURNAL).exists()


def _stopped_commit(base: Path, site: Path) -> Path:
    """The output folder of a build of version 2 over `base`, stopped before its first
    rename: its journal lists every step."""
    shutil.copytree(base, site)
    _use_version(site, 2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(writer_module.os, "replace", _failing_replace(0))
        with pytest.raises(BuildError):
            build(site, BuildOptions(jobs=1))
    return site / "output"


def test_a_commit_journals_the_entries_it_changes_and_is_finished_to_the_same_manifest(
    tmp_path: Path,
) -> None:
    """Once the output folder holds a site, a commit's journal lists the manifest entries
    that change, not every file: finished from the manifest it started from, or again
    after it wrote the new one, it gives the manifest of a build that was not stopped."""
    base = _small_site(tmp_path, "base", 1)
    build(base, BuildOptions(jobs=1))
    whole = tmp_path / "whole"
    shutil.copytree(base, whole)
    _use_version(whole, 2)
    build(whole, BuildOptions(jobs=1))
    expected = (whole / "output" / MANIFEST).read_text()
    before = (base / "output" / MANIFEST).read_text()
    output = _stopped_commit(base, tmp_path / "site")
    assert (output / MANIFEST).read_text() == before
    text = (output / JOURNAL).read_text()
    journal = Journal.parse(text)
    assert journal is not None and journal.changes
    old, new = (dict(line.split(" ")[::-1] for line in m.splitlines()) for m in (before, expected))
    assert journal.manifest == {p: d for p, d in new.items() if old.get(p) != d}
    assert 0 < len(journal.manifest) < len(new)
    assert journal.removals and set(journal.removals) == old.keys() - new
    writer_module.recover(output)
    assert (output / MANIFEST).read_text() == expected and not (output / JOURNAL).exists()
    (output / JOURNAL).write_text(text)  # as if stopped after the manifest, before its end
    writer_module.recover(output)
    assert (output / MANIFEST).read_text() == expected
    assert tree(output) == tree(whole / "output")


def _failing_move(after: int) -> Callable[[str, str], None]:
    """`os.rename` that fails from the `after + 1`-th move of a first build's gathered
    entries on."""
    return _failing_after(os.rename, after, lambda source, _: FRESH in Path(source).parts)


def test_a_first_build_stopped_after_any_move_shows_no_home_until_all_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A first build gathers its files out of sight and moves them in, the home page last:
    stopped after any move, what is in the output folder is complete, and the home page
    appears only with everything it can lead to. The next build finishes the moves."""
    expected, checker = _clean_build(tmp_path, 1)
    site = _small_site(tmp_path, "site", 1)
    with monkeypatch.context() as patch:
        patch.setattr(writer_module.os, "rename", _failing_move(0))
        with pytest.raises(BuildError, match="cannot write output"):
            build(site, BuildOptions(jobs=1))
    journal = Journal.parse((site / "output" / JOURNAL).read_text())
    assert journal is not None and journal.renames == () and journal.moves[-1] == "index.html"
    assert len(journal.moves) > 5
    shutil.rmtree(site / "output")
    for after in range(len(journal.moves)):
        with monkeypatch.context() as patch:
            patch.setattr(writer_module.os, "rename", _failing_move(after))
            with pytest.raises(BuildError, match="cannot write output"):
                build(site, BuildOptions(jobs=1))
        output = site / "output"
        assert not (output / "index.html").exists()
        assert checker.check(output, first=True) == [], after
        assert len(list((output / FRESH).iterdir())) == len(journal.moves) - after
        build(site, BuildOptions(jobs=1))
        assert tree(output) == expected, after
        assert not (output / FRESH).exists()
        shutil.rmtree(output)


def test_a_first_build_killed_while_rendering_leaves_nothing_in_sight(tmp_path: Path) -> None:
    site = new_site(tmp_path / "site", article_files(600, 1, range(0)), per_page=20)
    output = site / "output"
    assert build(site, BuildOptions(jobs=2)).exit_code == 0
    expected = tree(output)
    files = sum(1 for kind in expected.values() if kind != "folder")
    # Killed when a share of the pages is rendered: aimed by the files made, not by the
    # time a build took before, which a busy machine would make a poor guide.
    for share in (0.1, 0.4, 0.7):
        shutil.rmtree(output)
        process = start_build(site)
        assert wait_for_files(output / FRESH, int(files * share), process), share
        kill(process)
        assert (output / FRESH).is_dir() and not (output / JOURNAL).exists(), share
        assert {p.name for p in output.iterdir()} <= {FRESH, STAGING, LOCK}, share
        assert build(site, BuildOptions(jobs=2)).exit_code == 0
        assert tree(output) == expected
        assert not (output / FRESH).exists()


def test_new_files_are_renamed_into_place_before_existing_ones_are_replaced(
    tmp_path: Path,
) -> None:
    base = _small_site(tmp_path, "base", 1)
    build(base, BuildOptions(jobs=1))
    before = set(tree(base / "output"))
    output = _stopped_commit(base, tmp_path / "site")
    journal = Journal.parse((output / JOURNAL).read_text())
    assert journal is not None
    is_new = [relative not in before for relative in journal.renames]
    assert True in is_new and False in is_new
    assert is_new == sorted(is_new, reverse=True), "a new file comes after a replaced one"
    assert set(journal.removals) <= before


# --- Failures: disk full, permission denied, a template error ---------------------


@pytest.fixture
def built_site(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    site = _small_site(tmp_path, "site", 1)
    assert build(site, BuildOptions(jobs=1)).exit_code == 0
    _use_version(site, 2)
    yield site, tree(site / "output")


def _cli_build(site: Path) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", str(site), "--jobs", "1"], out=out, err=err)
    return code, err.getvalue()


def test_a_writer_takes_the_manifest_it_is_given_only_while_that_is_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The preview hands each writer the manifest the last one wrote, so it is not read
    again (0.1 s at 100,000 articles); a manifest replaced since is read."""
    output = tmp_path / "output"
    with OutputWriter(output) as out:
        out.add("a.html", b"a")
        out.add("b.html", b"b")
        out.commit()
    written = out.written
    assert written is not None and set(written.entries) == {"a.html", "b.html"}
    reads: list[Path] = []
    read = writer_module._read_manifest
    monkeypatch.setattr(writer_module, "_read_manifest", lambda o: reads.append(o) or read(o))
    with OutputWriter(output, written) as out:
        assert out.previous == dict(written.entries) and not reads
    with OutputWriter(output) as other:  # another build, say `broadsheet build`
        other.keep_all()
        other.add("c.html", b"c")
        other.commit()
    reads.clear()
    with OutputWriter(output, written) as out:
        assert set(out.previous) == {"a.html", "b.html", "c.html"} and reads == [output]


def test_a_full_disk_while_staging_keeps_the_previous_site(
    built_site: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, before = built_site
    real = Path.write_bytes
    calls = [0]

    def write_bytes(path: Path, data: bytes) -> int:  # type: ignore[override]
        calls[0] += 1
        if calls[0] == 7:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    code, err = _cli_build(site)
    assert code == 2
    assert "cannot write output: No space left on device; free some space" in err
    assert "build failed: nothing was written" in err
    assert tree(site / "output") == before  # no temporary file, marker or folder is left


def test_a_folder_that_cannot_be_written_keeps_the_previous_site(
    built_site: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root, whom chmod does not stop: refuse writes under topics/ instead.
    site, before = built_site
    real = Path.write_bytes
    topics = site / "output" / "topics"

    def write_bytes(path: Path, data: bytes) -> int:  # type: ignore[override]
        if path.is_relative_to(topics):
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real(path, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    code, err = _cli_build(site)
    assert code == 2
    assert "output/topics/" in err
    assert "cannot write output: Permission denied" in err
    assert tree(site / "output") == before


def test_a_full_disk_while_renaming_leaves_a_working_site_that_the_next_build_finishes(
    built_site: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, _ = built_site
    checker = SiteChecker()
    with monkeypatch.context() as patch:
        patch.setattr(writer_module.os, "replace", _failing_replace(10))
        code, err = _cli_build(site)
    assert code == 2
    assert "No space left on device; free some space or fix the folder's permissions, then " in err
    assert "build again to finish the commit it stopped midway (every link works meanwhile)" in err
    assert err.endswith("build failed midway through its commit: build again to finish it\n")
    assert "nothing was written" not in err and "previous site" not in err
    assert (site / "output" / JOURNAL).is_file()
    assert checker.check(site / "output") == []
    assert build(site, BuildOptions(jobs=1)).exit_code == 0
    clean = _small_site(site.parent, "clean", 2)
    build(clean, BuildOptions(jobs=1))
    assert tree(site / "output") == tree(clean / "output")


def test_a_template_error_keeps_the_previous_site(
    built_site: tuple[Path, dict[str, str]],
) -> None:
    site, before = built_site
    (site / "templates").mkdir()
    (site / "templates" / "article.html").write_text(
        '{% extends "theme/article.html" %}{% block body %}'
        '{% if "retold" in page.article.title %}{{ page.no_such_thing }}{% endif %}'
        "{{ super() }}{% endblock %}",
        encoding="utf-8",
    )
    code, err = _cli_build(site)
    assert code == 2
    assert "template:" in err and "no_such_thing" in err
    assert tree(site / "output") == before


@pytest.mark.parametrize("moment", ["parsing", "comparing", "rendering"])
def test_a_cancelled_build_stops_before_it_changes_the_output(
    built_site: tuple[Path, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    moment: str,
) -> None:
    site, before = built_site
    cancel = threading.Event()
    module, name = {
        "parsing": (loader_module, "_take"),  # after a batch of files is parsed
        "comparing": (build_module, "_compare"),
        "rendering": (build_module, "_take"),  # after a page is rendered
    }[moment]
    real, calls = getattr(module, name), []

    def then_cancel(*args: object) -> object:
        calls.append(name)
        result = real(*args)
        cancel.set()
        return result

    rendered: list[int] = []
    render = build_module._render_and_stage

    def counted(index: int) -> object:
        rendered.append(index)
        return render(index)

    monkeypatch.setattr(module, name, then_cancel)
    monkeypatch.setattr(build_module, "_render_and_stage", counted)
    monkeypatch.setattr(loader_module, "FILES_PER_BATCH", 8)  # 40 files, 5 batches
    swept: list[Path] = []
    monkeypatch.setattr(writer_module, "_sweep", swept.append)
    with pytest.raises(BuildCancelled):
        build(site, BuildOptions(jobs=1), cancel=cancel)
    assert tree(site / "output") == before
    assert not swept  # no worker staged files: the output folder is not searched
    assert len(calls) == 1  # it stopped at the next step
    assert len(rendered) == (1 if moment == "rendering" else 0)
    monkeypatch.undo()
    assert build(site, BuildOptions(jobs=1)).exit_code == 0
    expected, _ = _clean_build(tmp_path, 2)
    assert _without_writers_files(tree(site / "output")) == _without_writers_files(expected)


def _without_writers_files(files: dict[str, str]) -> dict[str, str]:
    return {path: digest for path, digest in files.items() if not path.startswith(".broadsheet")}


# --- Leftovers and locks ----------------------------------------------------------


def test_leftover_temporary_files_are_removed_and_never_linked(
    built_site: tuple[Path, dict[str, str]],
) -> None:
    site, _ = built_site
    output = site / "output"
    (output / STAGING).touch()
    leftovers = [
        output / "2024/01/01" / f".index.html{TEMPORARY_SUFFIX}",
        output / "2099/01/01/gone" / f".index.html{TEMPORARY_SUFFIX}",
        output / f".feed.xml{TEMPORARY_SUFFIX}",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"<!DOCTYPE html><p>half a pa")
    assert SiteChecker().check(output) == []
    build(site, BuildOptions(jobs=1))
    assert not any(p.name.endswith(TEMPORARY_SUFFIX) for p in output.rglob("*"))
    assert not (output / "2099").exists()
    assert not (output / STAGING).exists()


def _hold_lock(output: Path, name: str = LOCK) -> int:
    output.mkdir(parents=True, exist_ok=True)
    fd = os.open(output / name, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def test_a_second_build_waits_for_the_first_then_gives_up(
    built_site: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, before = built_site
    fd = _hold_lock(site / "output")
    try:
        monkeypatch.setattr(writer_module, "LOCK_TIMEOUT", 0.3)
        started = time.monotonic()
        code, err = _cli_build(site)
        assert time.monotonic() - started >= 0.3
    finally:
        os.close(fd)
    assert code == 2
    assert "another build is writing to this output folder; waited 0.3 s" in err
    assert tree(site / "output") == before


def test_a_second_build_goes_on_when_the_first_ends(
    built_site: tuple[Path, dict[str, str]],
) -> None:
    site, before = built_site
    _build_waits_for_the_lock(site, before, site / "output")


def _build_waits_for_the_lock(
    site: Path, before: dict[str, str], folder: Path, name: str = LOCK
) -> None:
    """A build started while the lock `name` in `folder` is held changes nothing (in a
    time long enough to load, plan and reach it) until it is let go, then succeeds."""
    fd = _hold_lock(folder, name)
    try:
        process = start_build(site)
        time.sleep(1.5)
        assert process.poll() is None
        assert tree(site / "output") == before
    finally:
        os.close(fd)
    assert process.wait(timeout=60) == 0
    assert tree(site / "output") != before


def test_a_build_waits_for_another_build_of_the_site_holding_its_cache(
    built_site: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A build reading the cache while another replaces it would find bodies gone.
    site, before = built_site
    fd = _hold_lock(site / CACHE_DIR, "lock")
    try:
        monkeypatch.setattr(cache_module, "LOCK_TIMEOUT", 0.3)
        code, err = _cli_build(site)
    finally:
        os.close(fd)
    assert code == 2
    waiting = "another build of this site is using its cache; waiting up to 0.3 s for it to finish"
    assert err.startswith(waiting + "\n")  # said as the wait begins
    assert "another build of this site is using its cache; waited 0.3 s" in err
    assert tree(site / "output") == before
    _build_waits_for_the_lock(site, before, site / CACHE_DIR, "lock")


def test_a_killed_build_never_holds_the_lock(tmp_path: Path) -> None:
    # Only the main process is killed: its forked workers may linger, but the lock
    # goes with the process that took it.
    site = new_site(tmp_path / "site", article_files(600, 1, range(0)), per_page=5)
    assert start_build(site).wait(timeout=60) == 0
    write_content(site, article_files(600, 2, range(0, 600)))
    process = start_build(site)
    try:
        assert wait_for(site / "output" / STAGING, process)
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
        deadline = time.monotonic() + 30
        while not children.read_text().split() and time.monotonic() < deadline:
            time.sleep(0.001)  # until the workers are forked
        workers = children.read_text().split()
        assert workers, "the build forked no workers"
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        assert any(Path(f"/proc/{pid}").exists() for pid in workers)  # they linger
        # A worker forked a moment before the kill may not have closed its copy yet:
        # allow it a moment, far less than any build would wait.
        fd = os.open(site / "output" / LOCK, os.O_RDWR)
        try:
            deadline = time.monotonic() + 5
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    assert time.monotonic() < deadline, "the lock outlived the build"
                    time.sleep(0.01)
        finally:
            os.close(fd)
    finally:
        kill(process)  # and its lingering workers


@pytest.mark.parametrize(
    "relative",
    ["../x", "a/../../b", "/etc/passwd", "a\\b", "a\nb", LOCK, JOURNAL, MANIFEST, STAGING, FRESH,
     f"x/.index.html{TEMPORARY_SUFFIX}", ""],
)  # fmt: skip
def test_no_path_leaves_the_output_folder_or_touches_the_writers_files(relative: str) -> None:
    with pytest.raises(BuildError, match="refusing to write outside the output folder"):
        writer_module.safe_target(Path("/site/output"), relative)


def test_a_full_disk_in_a_worker_keeps_the_previous_site(
    built_site: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every page is rendered again (the template changed), by two workers, each of which
    # inherits this patch and fails on its fifth file while the other may still write.
    site, before = built_site
    (site / "templates").mkdir()
    theme = Path(__file__).parent.parent / "themes" / "default" / "templates"
    (site / "templates" / "base.html").write_text(
        (theme / "base.html").read_text(encoding="utf-8") + "<!-- changed -->\n",
        encoding="utf-8",
    )
    assert len(list((site / "output").rglob("*.html"))) > 2 * 64  # enough to go parallel
    real = Path.write_bytes
    calls = [0]

    def write_bytes(path: Path, data: bytes) -> int:  # type: ignore[override]
        calls[0] += 1
        if calls[0] == 5 and os.getpid() != parent:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, data)

    parent = os.getpid()
    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    code = main(["build", str(site), "--jobs", "2"], out=io.StringIO(), err=(err := io.StringIO()))
    assert code == 2
    assert "cannot write output: No space left on device" in err.getvalue()
    assert tree(site / "output") == before


def test_ctrl_c_during_a_build_is_one_line_and_leaves_the_site_as_it_was(
    built_site: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    site, before = built_site

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(build_module, "assemble_site", interrupted)
        code, err = _cli_build(site)
    assert (code, err) == (130, f"{INTERRUPTED}\n")
    assert tree(site / "output") == before
    assert _cli_build(site)[0] == 0  # no lock or cache left held
