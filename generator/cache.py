"""The build cache: parsed articles and page fingerprints kept between builds.

Owns `.broadsheet-cache/` in the site folder (safe to delete). Parsed articles are
keyed by file path and checked against the file's size, modification time and, when
those differ, the SHA-256 of its bytes; page fingerprints say which pages a build may
skip. Everything is stamped with a fingerprint of the generator version and the
settings that shape it: a cache made under other settings is emptied, and a corrupt
or foreign one is discarded with a warning, never trusted.
"""

from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from generator.diagnostics import Diagnostic, warning
from generator.model import Article

CACHE_DIR = ".broadsheet-cache"
_FILE = "cache.sqlite"
_FORMAT = "broadsheet-cache/1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, mtime_ns INTEGER, size INTEGER, sha TEXT, result BLOB);
CREATE TABLE IF NOT EXISTS builds (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS pages (
    path TEXT PRIMARY KEY, digest TEXT, output_sha TEXT, uses TEXT);
"""


@dataclass(frozen=True, slots=True)
class CachedFile:
    mtime_ns: int
    size: int
    sha: str
    article: Article | None
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True, slots=True)
class PageRecord:
    digest: str
    """`generator.fingerprint.PageDigests` of the page when it was rendered."""
    output_sha: str
    """SHA-256 of the bytes it rendered to."""
    uses: frozenset[str]
    """The `site` attributes the page's templates read when it was rendered."""


@dataclass(frozen=True, slots=True)
class LastBuild:
    """What the last complete build read and wrote, to recognise a build with nothing to do."""

    inputs: str
    """Digest of every input: settings, templates, and the size and time of every file."""
    manifest: str
    """Digest of the output manifest it wrote."""
    articles: int
    pages: int
    feeds: int
    files: int
    """Files in the output it wrote."""
    diagnostics: tuple[Diagnostic, ...]


class BuildCache:
    """An open cache; `BuildCache.disabled()` remembers nothing."""

    def __init__(self, connection: sqlite3.Connection | None) -> None:
        self._db = connection

    @classmethod
    def disabled(cls) -> BuildCache:
        return cls(None)

    @classmethod
    def open(cls, site_dir: Path, stamp: str) -> tuple[BuildCache, tuple[Diagnostic, ...]]:
        """Open (or create) the site's cache for builds stamped `stamp`."""
        folder = site_dir / CACHE_DIR
        try:
            folder.mkdir(exist_ok=True)
            return cls(_connect(folder / _FILE, stamp)), ()
        except (sqlite3.DatabaseError, ValueError):
            (folder / _FILE).unlink(missing_ok=True)
            note = warning(f"{CACHE_DIR}/{_FILE}", None, "cache was unreadable; discarded it")
            try:
                return cls(_connect(folder / _FILE, stamp)), (note,)
            except (sqlite3.Error, OSError):
                return cls.disabled(), (note,)
        except (sqlite3.Error, OSError) as exc:
            return cls.disabled(), (
                warning(CACHE_DIR, None, f"cache not used: {exc}; builds will not be incremental"),
            )

    def files(self) -> dict[str, CachedFile]:
        """Every cached parse result; an entry that cannot be read is left out."""
        if self._db is None:
            return {}
        found = {}
        for path, mtime_ns, size, sha, blob in self._db.execute("SELECT * FROM files"):
            try:
                article, diagnostics = pickle.loads(blob)
            except Exception:  # a damaged entry is only a cache miss
                continue
            found[path] = CachedFile(mtime_ns, size, sha, article, diagnostics)
        return found

    def put_files(self, entries: Iterable[tuple[str, CachedFile]], keep: set[str]) -> None:
        """Store new parse results; forget files not in `keep` (deleted or renamed)."""
        if self._db is None:
            return
        rows = (  # pickled one at a time: all of them at once would double the memory
            (path, e.mtime_ns, e.size, e.sha, pickle.dumps((e.article, e.diagnostics), 5))
            for path, e in entries
        )
        with self._db:
            self._db.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", rows)
            known = [row[0] for row in self._db.execute("SELECT path FROM files")]
            self._db.executemany(
                "DELETE FROM files WHERE path = ?", [(p,) for p in known if p not in keep]
            )

    def pages(self) -> dict[str, PageRecord]:
        if self._db is None:
            return {}
        return {
            path: PageRecord(digest, output_sha, frozenset(filter(None, uses.split(","))))
            for path, digest, output_sha, uses in self._db.execute("SELECT * FROM pages")
        }

    def put_pages(self, records: dict[str, PageRecord], previous: dict[str, PageRecord]) -> None:
        """Make the page records those of the build just written (`records`), given the
        ones read at its start (`previous`)."""
        if self._db is None:
            return
        changed = [(p, r) for p, r in records.items() if previous.get(p) != r]
        with self._db:
            self._db.executemany(
                "DELETE FROM pages WHERE path = ?", [(p,) for p in previous if p not in records]
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)",
                [(p, r.digest, r.output_sha, ",".join(sorted(r.uses))) for p, r in changed],
            )

    def last_build(self) -> LastBuild | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT value FROM builds WHERE key = 'last'").fetchone()
        try:
            last = pickle.loads(row[0]) if row else None
        except Exception:  # a damaged record is only a cache miss
            return None
        return last if isinstance(last, LastBuild) else None

    def put_last_build(self, last: LastBuild | None) -> None:
        if self._db is None:
            return
        with self._db:
            self._db.execute("DELETE FROM builds WHERE key = 'last'")
            if last is not None:
                self._db.execute("INSERT INTO builds VALUES ('last', ?)", (pickle.dumps(last, 5),))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _connect(path: Path, stamp: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    try:
        connection.executescript(_SCHEMA)
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        if meta and meta.get("format") != _FORMAT:
            raise ValueError("not a cache of this format")
        if meta.get("stamp") != stamp:
            with connection:
                connection.execute("DELETE FROM files")
                connection.execute("DELETE FROM pages")
                connection.execute("DELETE FROM builds")
                connection.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("format", _FORMAT), ("stamp", stamp)],
                )
    except BaseException:
        connection.close()
        raise
    return connection
