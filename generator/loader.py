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


def _parse_job(
    job: tuple[bytes, str, str, str, str],
) -> tuple[Article | None, tuple[Diagnostic, ...]]:
    raw, shown, stem, zone, sha = job
    return parse_file(raw, shown, stem, ZoneInfo(zone), sha)


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
    jobs_to_parse: list[tuple[bytes, str, str, str, str]] = []
    stats: dict[str, os.stat_result] = {}
    files = find_article_files(site_dir) if files is None else files
    for path, shown in files:
        entry = cached.get(shown)
        try:
            stat = path.stat()
        except OSError:
            stat = None
        if stat and stat.st_size > max_file_size:
            results[shown] = (None, (_too_large(shown, stat.st_size, max_file_size),))
            continue
        if entry and stat and (entry.mtime_ns, entry.size) == (stat.st_mtime_ns, stat.st_size):
            results[shown] = (entry.article, entry.diagnostics)
            continue
        raw, problem = _read(path, shown, site_dir, max_file_size)
        if raw is None:
            results[shown] = (None, (problem,) if problem else ())
            continue
        sha = _sha(raw, tz)
        if entry and stat and entry.sha == sha:
            results[shown] = (entry.article, entry.diagnostics)
            fresh[shown] = replace(entry, mtime_ns=stat.st_mtime_ns, size=stat.st_size)
            continue
        if stat:
            stats[shown] = stat
        jobs_to_parse.append((raw, shown, path.stem, str(tz), sha))
    for job, result in zip(
        jobs_to_parse, parallel_map(_parse_job, jobs_to_parse, jobs), strict=True
    ):
        shown = job[1]
        results[shown] = result
        if shown in stats:
            st = stats[shown]
            fresh[shown] = CachedFile(st.st_mtime_ns, st.st_size, job[4], *result)
    cache.put_files(fresh.items(), keep={shown for _, shown in files})
    articles = tuple(a for _, shown in files if (a := results[shown][0]) is not None)
    diagnostics = tuple(d for _, shown in files for d in results[shown][1])
    return Loaded(articles, diagnostics, len(files), len(jobs_to_parse))
