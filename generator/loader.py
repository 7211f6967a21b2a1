"""The loader: finds article files under `content/` and turns each into an `Article`.

Owns which files count as articles, the read -> decode -> split -> validate steps for
one file, and reusing cached results for files that did not change. Files over
`max_file_size`, symlinks leading out of the site and anything but a regular file
are set aside before a byte of them is read. The only stage that reads `content/`;
it never writes there. Changed files are parsed in parallel.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, replace
from pathlib import Path
from stat import S_ISREG
from zoneinfo import ZoneInfo

from generator.cache import BuildCache, CachedFile
from generator.config import DEFAULT_MAX_FILE_SIZE
from generator.diagnostics import Diagnostic, error, warning
from generator.frontmatter import FrontMatterError, decode, split
from generator.markup import render_markdown
from generator.model import Article
from generator.parallel import parallel_map
from generator.schema import parse_article

CONTENT_DIR = "content"
EXTENSIONS = frozenset({".md", ".markdown", ".txt"})


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the loader found: the articles it accepted and every problem, in file order."""

    articles: tuple[Article, ...]
    diagnostics: tuple[Diagnostic, ...]
    files: int
    parsed: int
    """Files parsed in this build; the others came from the cache."""


def find_article_files(site_dir: Path) -> tuple[tuple[Path, str], ...]:
    """Every article file as (absolute path, display path), sorted by display path."""
    content = site_dir / CONTENT_DIR
    found: list[tuple[Path, str]] = []
    for folder, dirs, files in os.walk(content):
        dirs[:] = [d for d in dirs if not d.startswith((".", "_"))]
        for name in files:
            path = Path(folder) / name
            if name.startswith((".", "_")) or path.suffix.lower() not in EXTENSIONS:
                continue
            found.append((path, path.relative_to(site_dir).as_posix()))
    return tuple(sorted(found, key=lambda item: item[1]))


ArticleFiles = tuple[tuple[Path, str], ...]


def content_signature(files: ArticleFiles) -> str:
    """Digest of the name, size and modification time of every article file."""
    digest = hashlib.sha256()
    for path, shown in files:
        try:
            stat = path.stat()
            digest.update(f"{shown}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        except OSError:
            digest.update(f"{shown}\0missing\0".encode())
    return digest.hexdigest()


def parse_file(
    raw: bytes, shown: str, stem: str, tz: ZoneInfo, source_hash: str = ""
) -> tuple[Article | None, tuple[Diagnostic, ...]]:
    """Validate the bytes of one article file."""
    try:
        front = split(decode(raw))
    except FrontMatterError as exc:
        return None, tuple(error(shown, line, message) for line, message in exc.problems)
    notes = tuple(warning(shown, line, message) for line, message in front.notes)
    article, problems = parse_article(front, shown, stem, tz, render_markdown(front.body))
    if article is not None:
        article = replace(article, source_hash=source_hash)
    return article, notes + problems


def _too_large(shown: str, size: int, limit: int) -> Diagnostic:
    return error(
        shown,
        None,
        f"the file is {_size(size)}, over the max_file_size limit of {_size(limit)}; "
        "shorten it, or raise max_file_size in site.yaml",
    )


def _size(count: int) -> str:
    return f"{count / 1_048_576:.1f} MB" if count >= 1_048_576 else f"{count:,} bytes"


def _read(
    path: Path, shown: str, site_dir: Path, limit: int
) -> tuple[bytes | None, Diagnostic | None]:
    """The file's bytes, or why they were not read. Refuses symlinks that leave the
    site, anything but a regular file (a FIFO would block the build), and files over
    `limit` bytes, which are never read whole."""
    if path.is_symlink() and not path.resolve().is_relative_to(site_dir.resolve()):
        return None, warning(
            shown,
            None,
            "skipped: a symlink pointing outside the site; copy the file into content/ "
            "if it belongs to the site",
        )
    try:
        status = path.stat()
        if not S_ISREG(status.st_mode):
            return None, warning(
                shown, None, "skipped: not a regular file; replace it with an article file"
            )
        if status.st_size > limit:
            return None, _too_large(shown, status.st_size, limit)
        with path.open("rb") as file:
            # Ask for the measured size (plus one byte, to see growth), not the limit:
            # a buffer of the limit's size would be a memory map of its own, shrunk
            # but never merged, and 100,000 of them exhaust the process's maps.
            raw = file.read(status.st_size + 1)
            if len(raw) > status.st_size:
                raw += file.read(limit + 1 - len(raw))
    except OSError as exc:
        return None, error(
            shown, None, f"cannot read: {exc.strerror}; check the file's permissions"
        )
    if len(raw) > limit:  # it grew since it was measured
        return None, _too_large(shown, len(raw), limit)
    return raw, None


def _sha(raw: bytes, tz: ZoneInfo) -> str:
    return hashlib.sha256(raw + b"\0" + str(tz).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Job:
    """A file to read and, unless its bytes are those cached, parse (in a worker)."""

    path: Path
    shown: str
    site_dir: Path
    zone: str
    limit: int
    cached_sha: str
    """SHA-256 of the cached parse's bytes; "" if there is none."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    sha: str
    """"" when the file could not be read."""
    result: tuple[Article | None, tuple[Diagnostic, ...]] | None
    """None when the bytes are those cached."""


def _read_and_parse(job: _Job) -> _Outcome:
    # Workers read the files themselves, so the parent never holds them all.
    raw, problem = _read(job.path, job.shown, job.site_dir, job.limit)
    if raw is None:
        return _Outcome("", (None, (problem,) if problem else ()))
    tz = ZoneInfo(job.zone)
    sha = _sha(raw, tz)
    if sha == job.cached_sha:
        return _Outcome(sha, None)
    return _Outcome(sha, parse_file(raw, job.shown, job.path.stem, tz, sha))


def load_articles(
    site_dir: Path,
    tz: ZoneInfo,
    cache: BuildCache | None = None,
    jobs: int = 1,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    files: ArticleFiles | None = None,
) -> Loaded:
    """Load every article under `site_dir/content`; bad files become diagnostics.

    Files whose size and modification time (or, failing that, bytes) match the cache
    are not parsed again. Files over `max_file_size` bytes are set aside unread.
    """
    cache = cache or BuildCache.disabled()
    cached = cache.files()
    results: dict[str, tuple[Article | None, tuple[Diagnostic, ...]]] = {}
    fresh: dict[str, CachedFile] = {}
    to_read: list[_Job] = []
    stats: dict[str, os.stat_result | None] = {}
    files = find_article_files(site_dir) if files is None else files
    for path, shown in files:
        entry = cached.get(shown)
        try:
            stat: os.stat_result | None = path.stat()
        except OSError:
            stat = None
        stats[shown] = stat
        if stat and stat.st_size > max_file_size:
            results[shown] = (None, (_too_large(shown, stat.st_size, max_file_size),))
            continue
        if entry and stat and (entry.mtime_ns, entry.size) == (stat.st_mtime_ns, stat.st_size):
            results[shown] = (entry.article, entry.diagnostics)
            continue
        sha = entry.sha if entry else ""
        to_read.append(_Job(path, shown, site_dir, str(tz), max_file_size, sha))
    parsed = 0
    for job, outcome in zip(to_read, parallel_map(_read_and_parse, to_read, jobs), strict=True):
        stat, entry = stats[job.shown], cached.get(job.shown)
        if outcome.result is None and entry is not None:  # same bytes, touched
            results[job.shown] = (entry.article, entry.diagnostics)
            if stat:
                fresh[job.shown] = replace(entry, mtime_ns=stat.st_mtime_ns, size=stat.st_size)
            continue
        assert outcome.result is not None
        article, problems = outcome.result
        if article is not None:
            article = cache.stow(article)  # the body goes to the cache, out of memory
        results[job.shown] = (article, problems)
        if outcome.sha:
            parsed += 1
            if stat:
                st = (stat.st_mtime_ns, stat.st_size)
                fresh[job.shown] = CachedFile(*st, outcome.sha, article, problems)
    cache.put_files(fresh.items(), keep={shown for _, shown in files})
    articles = tuple(a for _, shown in files if (a := results[shown][0]) is not None)
    diagnostics = tuple(d for _, shown in files for d in results[shown][1])
    return Loaded(articles, diagnostics, len(files), parsed)
