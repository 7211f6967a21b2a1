"""The build cache: parsed articles and page fingerprints kept between builds.

Owns `.broadsheet-cache/` in the site folder (safe to delete). Parsed articles are
stored in batches (one pickle for the files parsed together, so their shared values
are stored once) and recorded by file path with the file's size, modification time
and the SHA-256 of its bytes, against which they are checked; page fingerprints say
which pages a build may skip, and the records of the static files copied, which of
them it may leave unread. Article bodies live here too, out of the build's memory:
keyed by the digest of the file they came from, read back one at a time when a page or
feed shows them.
Everything is stamped with a fingerprint of the generator version and the
settings that shape it: a cache made under other settings is emptied, and a corrupt
or foreign one is discarded with a warning, never trusted. One build at a time holds
the cache (its `lock` file), so none reads what another is replacing.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sqlite3
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from generator.diagnostics import BuildError, Diagnostic, error, warning
from generator.locks import LOCK_TIMEOUT, acquire, release
from generator.model import Addresses, Article, with_body

CACHE_DIR = ".broadsheet-cache"
_FILE = "cache.sqlite"
_LOCK = "lock"
_FORMAT = "broadsheet-cache/1"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY, mtime_ns INTEGER, ctime_ns INTEGER, size INTEGER, sha TEXT,
    batch INTEGER);
CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY, results BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS builds (key TEXT PRIMARY KEY, value BLOB);
CREATE TABLE IF NOT EXISTS pages (
    path TEXT PRIMARY KEY, digest TEXT, output_sha TEXT, uses TEXT);
CREATE TABLE IF NOT EXISTS bodies (key TEXT PRIMARY KEY, html TEXT NOT NULL);
"""


_BODY_ROW = "INSERT OR REPLACE INTO bodies VALUES (?, ?)"
_FILE_ROW = "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?)"
_TOUCH_ROW = "UPDATE files SET mtime_ns = ?2, ctime_ns = ?3, size = ?4 WHERE path = ?1"
_ROWS_PER_BATCH = 256


CHANGED_LATELY_NS = 3_000_000_000
"""How lately a file may have changed for its size and times not to be trusted to tell
a later change: a file system may keep times to the second (to two, on FAT), so a file
written again within that second keeps them, and its size if the text is as long."""


def changed_lately(mtime_ns: int, ctime_ns: int, now_ns: int) -> bool:
    """Whether a file with these times was changed so lately, as of `now_ns` (the clock's
    time before it was read), that another change would leave its times as they are.
    Its size and times are then not trusted to tell whether it changed again: the next
    build reads its bytes (as `git` does with a "racily clean" file)."""
    return max(mtime_ns, ctime_ns) > now_ns - CHANGED_LATELY_NS


UNTRUSTED_TIME = -1
"""The time a cached file's entry holds when its times cannot tell a later change."""


@dataclass(frozen=True, slots=True)
class CachedFile:
    mtime_ns: int
    ctime_ns: int
    """When the file's contents or metadata last changed, or it was moved into place: a
    file rewritten with its old size and modification time (`touch -r`, `cp -p`) gets a
    new one."""
    size: int
    sha: str
    article: Article | None
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True, slots=True)
class PageRecord:
    digest: str
    """`generator.fingerprint.PageDigests` of the page when it was rendered; for a file
    copied as it is (from `static/` or `root/`), `generator.theme.source_identity` of
    its source when it was read."""
    output_sha: str
    """SHA-256 of the bytes it rendered to (or that were copied)."""
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
    next_due: datetime | None = None
    """When the first article it held back for its future date is due: from then on,
    the same inputs make another site."""
    unsettled: tuple[tuple[str, str], ...] = ()
    """(path, digest) of each article file it read so soon after a change that its size
    and times could not tell another change (`changed_lately`): a later build takes
    the inputs as the same only if those files still hold the bytes it read."""
    addresses: Addresses = field(default_factory=Addresses)
    """The numbered slugs and the topics' and sources' slugs it published, which the
    next build keeps."""


Result = tuple[Article | None, tuple[Diagnostic, ...]]
"""A file's parse result: its article (None if set aside) and the problems found."""

Results = list[tuple[str, Article | None, tuple[Diagnostic, ...]]]
"""Parse results by file path, as a batch of them is stored."""


def pack(results: Sequence[tuple[str, Result]]) -> tuple[bytes, dict[str, str]]:
    """A batch of parse results (by file path) as the cache stores them, with their
    articles' bodies taken out, and those bodies by source digest. Pure, so workers
    pack their own results (one pickle each batch: what the files share, such as
    their topics, is stored once) and the build's process only stores them."""
    packed: Results = []
    bodies: dict[str, str] = {}
    for path, (article, diagnostics) in results:
        if article is not None and article.source_hash and article.body_html is not None:
            bodies[article.source_hash] = article.body_html
            article = with_body(article, None)
        packed.append((path, article, diagnostics))
    return pickle.dumps(packed, 5), bodies


def unpack(packed: bytes) -> Results:
    results: Results = [(path, article, notes) for path, article, notes in pickle.loads(packed)]
    return results


class Bodies:
    """Reads the bodies a cache holds, in any process: a forked worker opens its own
    read-only connection, since a connection must not cross a fork."""

    def __init__(self, path: Path | None) -> None:
        # Absolute, for the URI that opens it read-only: a site folder may be given
        # relative to the working folder (`broadsheet build .`).
        self._path = path.absolute() if path else None
        self._db: sqlite3.Connection | None = None
        self._pid = 0

    def __call__(self, article: Article) -> str:
        """The article's body HTML, from the cache if it was stowed there."""
        if article.body_html is not None:
            return article.body_html
        if self._db is None or self._pid != os.getpid():
            if self._path is None:
                raise BuildError((_lost(article),))
            self._db = sqlite3.connect(f"{self._path.as_uri()}?mode=ro", uri=True)
            self._pid = os.getpid()
        return _stored_body(self._db, article)

    def close(self) -> None:
        if self._db is not None and self._pid == os.getpid():
            self._db.close()
        self._db = None


def _bodies_of(last_good: Mapping[str, Article | None]) -> set[str]:
    """The keys of the bodies of these last good versions."""
    return {a.source_hash for a in last_good.values() if a is not None}


def _store_last_good(db: sqlite3.Connection, last_good: Mapping[str, Article | None]) -> None:
    """Replace the record of the last good versions (in the caller's transaction)."""
    db.execute("DELETE FROM builds WHERE key = 'last good'")
    if last_good:
        record = pickle.dumps(dict(last_good), 5)
        db.execute("INSERT INTO builds VALUES ('last good', ?)", (record,))


def _stored_body(db: sqlite3.Connection, article: Article) -> str:
    row = db.execute("SELECT html FROM bodies WHERE key = ?", (article.source_hash,)).fetchone()
    if row is None:
        raise BuildError((_lost(article),))
    html: str = row[0]
    return html


def _lost(article: Article) -> Diagnostic:
    return error(
        article.source_path,
        None,
        f"its body is missing from {CACHE_DIR}/ (changed during the build?); build again",
    )


class Remembered:
    """What a long-running process (the preview) keeps of its cache between builds, so
    a build need not read every entry back: the parse results and page records as of
    the cache's `generation`. Every write moves the generation on; entries are trusted
    only at the generation they were read or written at, so another process's build
    makes the next one read the cache again."""

    def __init__(self) -> None:
        self.generation: str | None = None
        self.files: dict[str, CachedFile] | None = None
        self.known: dict[str, str] = {}
        """The digest of every cached file, read or not."""
        self.pages: dict[str, PageRecord] | None = None

    def forget(self) -> None:
        self.generation, self.files, self.known, self.pages = None, None, {}, None


class BuildCache:
    """An open cache; `BuildCache.disabled()` remembers nothing."""

    def __init__(
        self,
        connection: sqlite3.Connection | None,
        path: Path | None = None,
        remembered: Remembered | None = None,
    ) -> None:
        self._db = connection
        self._remembered = remembered if connection is not None else None
        if self._remembered is not None and self._remembered.generation != self._generation():
            self._remembered.forget()
        self._known: dict[str, str] | None = None
        """The digest of each cached file, by path, once `files` has read them."""
        self._stowed: set[str] = set()
        """Keys of the bodies `stow` added since the last `put_files`."""
        self._kept: set[str] | None = None
        """Keys of the bodies of the last good versions `put_files` stored."""
        self._put: dict[str, CachedFile] = {}
        """The parse results `put_batch` and `touch` stored since the last `put_files`."""
        self._rows: dict[str, list[tuple[object, ...]]] = {
            _BODY_ROW: [],
            _FILE_ROW: [],
            _TOUCH_ROW: [],
        }
        """Rows `stow`, `put_batch` and `touch` have not yet handed to the database."""
        self._worn: list[list[str]] = []
        """The paths of the current results in each batch `files` found holding more
        results of files since parsed again (or gone) than current ones: `put_files`
        stores those again in a batch of their own, and the worn one goes."""
        self._found: dict[str, CachedFile] = {}
        """What `files` read."""
        self._read: Generator[None, None, None] | None = None
        """Reading the parse results into `_found`, once started."""
        self.bodies = Bodies(path if connection is not None else None)
        """Reads the bodies `stow` put here (and those still inside their articles)."""
        self.path = path
        """The database file, if the cache keeps anything."""
        self.unsaved: tuple[Diagnostic, ...] = ()
        """Why what `put_pages` or `put_last_build` was given could not be kept."""
        self._lock: int | None = None
        """The site's cache lock, held from `open` to `close`."""

    @classmethod
    def disabled(cls) -> BuildCache:
        return cls(None)

    @classmethod
    def open(
        cls, site_dir: Path, stamp: str, remembered: Remembered | None = None
    ) -> tuple[BuildCache, tuple[Diagnostic, ...]]:
        """Open (or create) the site's cache for builds stamped `stamp`, reusing what
        `remembered` holds of it if the cache has not changed since. One build at a
        time holds it, until `close`: another waits for it (`BuildError` after
        `LOCK_TIMEOUT` seconds), so no build reads what another is replacing."""
        folder = site_dir / CACHE_DIR
        try:
            lock = acquire(
                folder / _LOCK,
                LOCK_TIMEOUT,
                "another build of this site is using its cache",
                "Let it finish and build again",
            )
        except OSError as exc:
            return cls.disabled(), (
                warning(CACHE_DIR, None, f"cache not used: {exc}; builds will not be incremental"),
            )
        with contextlib.suppress(OSError):
            if not (folder / ".gitignore").exists():  # the cache is never committed
                (folder / ".gitignore").write_text("*\n", encoding="utf-8")
        try:
            cache, notes = cls._open(folder, stamp, remembered)
        except BaseException:
            release(lock)
            raise
        if cache.enabled:
            cache._lock = lock
        else:
            release(lock)
        return cache, notes

    @classmethod
    def _open(
        cls, folder: Path, stamp: str, remembered: Remembered | None
    ) -> tuple[BuildCache, tuple[Diagnostic, ...]]:
        try:
            return cls(_connect(folder / _FILE, stamp), folder / _FILE, remembered), ()
        except sqlite3.OperationalError as exc:  # locked, or cannot be opened: not damaged
            return cls.disabled(), (
                warning(CACHE_DIR, None, f"cache not used: {exc}; builds will not be incremental"),
            )
        except (sqlite3.DatabaseError, ValueError):
            (folder / _FILE).unlink(missing_ok=True)
            note = warning(f"{CACHE_DIR}/{_FILE}", None, "cache was unreadable; discarded it")
            try:
                return cls(_connect(folder / _FILE, stamp), folder / _FILE), (note,)
            except (sqlite3.Error, OSError):
                return cls.disabled(), (note,)
        except (sqlite3.Error, OSError) as exc:
            return cls.disabled(), (
                warning(CACHE_DIR, None, f"cache not used: {exc}; builds will not be incremental"),
            )

    @staticmethod
    def discard(site_dir: Path, why: str) -> Diagnostic:
        """Delete the site's cache, found damaged (`why`) while in use; the warning
        that says so."""
        for name in (_FILE, f"{_FILE}-journal"):
            with contextlib.suppress(OSError):
                (site_dir / CACHE_DIR / name).unlink()
        return warning(
            f"{CACHE_DIR}/{_FILE}", None, f"cache was damaged ({why}); discarded it, built anew"
        )

    def files(self) -> dict[str, CachedFile]:
        """Every cached parse result; an entry that cannot be read, or whose body is
        gone, is left out."""
        if self._db is None:
            return {}
        remembered = self._remembered
        if remembered is not None and remembered.files is not None:
            self._known = dict(remembered.known)
            return dict(remembered.files)
        for _ in self._reading():
            pass
        if remembered is not None:
            remembered.files, remembered.known = dict(self._found), dict(self._known or {})
        return self._found

    def read_ahead(self, until: Callable[[], bool]) -> None:
        """Read the parse results `files` will give, a batch at a time, until `until()`
        (asked between batches) is true: the rest is read when `files` is called."""
        if self._db is None or self._remembered is not None:
            return
        for _ in self._reading():
            if until():
                return

    def _reading(self) -> Generator[None, None, None]:
        """Reads the cached parse results into `_found`, pausing after each batch; goes
        on from where it paused when asked again."""
        if self._read is None:
            self._read = self._read_batches()
        return self._read

    def _read_batches(self) -> Generator[None, None, None]:
        assert self._db is not None
        found = self._found
        bodies = {key for (key,) in self._db.execute("SELECT key FROM bodies")}
        rows = {row[0]: row for row in self._db.execute("SELECT * FROM files")}
        self._known = {path: row[4] for path, row in rows.items()}
        with contextlib.closing(self._db.execute("SELECT id, results FROM batches")) as batches:
            for batch, blob in batches:
                try:
                    results = unpack(blob)
                except Exception:  # a damaged batch is only a cache miss
                    continue
                current = []
                for path, article, diagnostics in results:
                    row = rows.get(path)
                    if row is None or row[5] != batch:
                        continue  # parsed again since, or gone
                    current.append(path)
                    _, mtime_ns, ctime_ns, size, sha, _ = row
                    if article is not None and article.body_html is None and sha not in bodies:
                        continue
                    found[path] = CachedFile(mtime_ns, ctime_ns, size, sha, article, diagnostics)
                if 2 * len(current) < len(results):
                    self._worn.append(current)
                yield

    @property
    def enabled(self) -> bool:
        """Whether this cache keeps anything (parse results should then be `pack`ed)."""
        return self._db is not None

    def stow(self, key: str, body: str) -> None:
        """Hold the body `pack` took out of the article with source digest `key`
        (`bodies` reads it back); kept once `put_files` commits."""
        if self._db is None:
            raise ValueError("a disabled cache holds no bodies")
        self._add_row(_BODY_ROW, (key, body))
        self._stowed.add(key)

    def holds_body(self, article: Article) -> bool:
        """Whether `bodies` can read the article's body: it has one, or this cache holds
        it. (Asked through this cache's own connection: while it holds changes not yet
        committed, which may lock the whole file, another would wait for them in vain.)"""
        if article.body_html is not None:
            return True
        if self._db is None:
            return False
        query = "SELECT 1 FROM bodies WHERE key = ?"
        return self._db.execute(query, (article.source_hash,)).fetchone() is not None

    def put_batch(self, files: Sequence[tuple[str, CachedFile]], packed: bytes) -> None:
        """Store new parse results: `packed`, as `pack` made it, holding those of `files`
        (and perhaps of files not to be cached); kept once `put_files` commits."""
        if self._db is None:
            return
        batch = self._db.execute("INSERT INTO batches (results) VALUES (?)", (packed,)).lastrowid
        for path, entry in files:
            row = (path, entry.mtime_ns, entry.ctime_ns, entry.size, entry.sha, batch)
            self._add_row(_FILE_ROW, row)
            self._put[path] = entry

    def touch(self, path: str, entry: CachedFile) -> None:
        """Record that the file at `path`, whose bytes are those cached, now has the size
        and time `entry` gives; kept once `put_files` commits."""
        if self._db is None:
            return
        self._add_row(_TOUCH_ROW, (path, entry.mtime_ns, entry.ctime_ns, entry.size))
        self._put[path] = entry

    def _add_row(self, statement: str, row: tuple[object, ...]) -> None:
        """Hand rows to the database a few hundred at a time (one call each), so no build
        holds them all."""
        rows = self._rows[statement]
        rows.append(row)
        if len(rows) >= _ROWS_PER_BATCH:
            self._flush()

    def _flush(self) -> None:
        assert self._db is not None
        for statement, rows in self._rows.items():
            rows.sort()  # by key: neighbouring inserts into the key index
            self._db.executemany(statement, rows)
            rows.clear()

    def last_good(self) -> dict[str, Article | None]:
        """The last good version of each article file set aside at the last build (as
        `put_files` was given them: None for one never published), by file path. Their
        bodies are kept: `bodies` reads them."""
        if self._db is None:
            return {}
        row = self._db.execute("SELECT value FROM builds WHERE key = 'last good'").fetchone()
        try:
            found = pickle.loads(row[0]) if row else {}
        except Exception:  # a damaged record is only a cache miss
            return {}
        return found if isinstance(found, dict) else {}

    def put_files(self, keep: set[str], last_good: Mapping[str, Article | None]) -> None:
        """Commit the results `put_batch` and `touch` stored; forget files not in `keep`
        (deleted or renamed), the bodies no entry refers to any more and the batches
        no file's result is taken from; store again the current results of worn batches.
        With them, `last_good`: the last good version of each file set aside now (as the
        cache held it, without its body, or None if it has none), which the results of
        those files no longer hold; its body is kept until it is no longer one."""
        if self._db is None:
            return
        was_kept, kept = _bodies_of(self.last_good()), _bodies_of(last_good)
        found = self._found
        for paths in self._worn:
            current = [
                (p, found[p]) for p in paths if p in keep and p not in self._put and p in found
            ]
            if current:
                packed, _ = pack([(p, (entry.article, entry.diagnostics)) for p, entry in current])
                self.put_batch(current, packed)
        self._flush()
        entries, self._put = self._put, {}
        known = self._known
        if known is None:  # `files` was not read: look the entries up
            known = dict(self._db.execute("SELECT path, sha FROM files").fetchall())
        gone = [path for path in known if path not in keep]
        after = {path: sha for path, sha in known.items() if path in keep}
        after.update((path, entry.sha) for path, entry in entries.items())
        dropped = {known[path] for path in gone}
        dropped.update(known[path] for path in entries if path in known)
        orphans = (dropped | self._stowed | was_kept) - set(after.values()) - kept
        with self._db:
            self._db.executemany("DELETE FROM files WHERE path = ?", [(p,) for p in gone])
            self._db.executemany("DELETE FROM bodies WHERE key = ?", [(k,) for k in orphans])
            if gone or any(path in known for path in entries):
                self._db.execute("DELETE FROM batches WHERE id NOT IN (SELECT batch FROM files)")
            _store_last_good(self._db, last_good)
            generation = _next_generation(self._db)
        self._kept = kept
        remembered = self._remembered
        if remembered is not None:
            if remembered.files is not None:
                remembered.files = {p: e for p, e in remembered.files.items() if p in keep}
                remembered.files.update(entries)
            remembered.generation, remembered.known = generation, dict(after)
        self._known, self._stowed, self._worn = after, set(), []

    def pages(self) -> dict[str, PageRecord]:
        """The record of every page (and feed) the cache knows; not to be changed."""
        if self._db is None:
            return {}
        if self._remembered is not None and self._remembered.pages is not None:
            return self._remembered.pages
        sets: dict[str, frozenset[str]] = {}  # most pages read the same attributes

        def used(uses: str) -> frozenset[str]:
            found = sets.get(uses)
            if found is None:
                found = sets[uses] = frozenset(filter(None, uses.split(",")))
            return found

        records = {
            path: PageRecord(digest, output_sha, used(uses))
            for path, digest, output_sha, uses in self._db.execute("SELECT * FROM pages")
        }
        if self._remembered is not None:
            self._remembered.pages = records
        return records

    def put_pages(self, records: dict[str, PageRecord], previous: dict[str, PageRecord]) -> None:
        """Make the page records those of the build just written (`records`), given the
        ones read at its start (`previous`)."""
        if self._db is None:
            return
        # In key order: inserts into the key index then go to neighbouring pages. A page
        # kept as it was has the very record read at the start: no need to compare.
        changed = sorted(
            (p, r) for p, r in records.items() if (old := previous.get(p)) is not r and old != r
        )
        try:
            with self._db:
                self._db.executemany(
                    "DELETE FROM pages WHERE path = ?", [(p,) for p in previous if p not in records]
                )
                self._db.executemany(
                    "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?)",
                    [(p, r.digest, r.output_sha, ",".join(sorted(r.uses))) for p, r in changed],
                )
                generation = _next_generation(self._db)
        except sqlite3.OperationalError as exc:  # full, say: the site is built all the same
            self._not_kept(exc)
            return
        if self._remembered is not None:
            self._remembered.generation, self._remembered.pages = generation, records

    def _generation(self) -> str | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return str(row[0]) if row else None

    def last_build(self) -> LastBuild | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT value FROM builds WHERE key = 'last'").fetchone()
        try:
            last = pickle.loads(row[0]) if row else None
        except Exception:  # a damaged record is only a cache miss
            return None
        return last if isinstance(last, LastBuild) else None

    def put_last_build(
        self, last: LastBuild | None, published: Mapping[str, Article | None] | None = None
    ) -> None:
        """Store what the build just written read and wrote; with `published`, the last
        good versions it published (or would have) of the files set aside, which then
        replace those `put_files` was given (the build's output is now the site)."""
        if self._db is None:
            return
        try:
            with self._db:
                self._db.execute("DELETE FROM builds WHERE key = 'last'")
                if last is not None:
                    record = pickle.dumps(last, 5)
                    self._db.execute("INSERT INTO builds VALUES ('last', ?)", (record,))
                if published is not None and self._kept is not None and self._known is not None:
                    in_use = set(self._known.values())  # as `put_files` left them
                    let_go = self._kept - _bodies_of(published) - in_use
                    self._db.executemany("DELETE FROM bodies WHERE key = ?", [(k,) for k in let_go])
                    _store_last_good(self._db, published)
        except sqlite3.OperationalError as exc:  # the site is built all the same
            self._not_kept(exc)

    def settle(self, files: Sequence[tuple[str, str, int, int, int]]) -> None:
        """Trust the size and times of these files ((path, digest, size, modification
        and change time)) from now on, for the entries holding that digest: their
        bytes were found to be those the entries were made from."""
        if self._db is None or not files:
            return
        rows = [(mtime, ctime, size, path, sha) for path, sha, size, mtime, ctime in files]
        try:
            with self._db:
                self._db.executemany(
                    "UPDATE files SET mtime_ns = ?, ctime_ns = ?, size = ? "
                    "WHERE path = ? AND sha = ?",
                    rows,
                )
                _next_generation(self._db)
        except sqlite3.OperationalError as exc:
            self._not_kept(exc)

    def _not_kept(self, exc: sqlite3.OperationalError) -> None:
        """Say why the last records of a build that wrote its site could not be kept. The
        records of the build before stay: they tell the next build to do more, never less
        (their manifest and page digests are not those of the site now)."""
        why = f"cache not updated: {exc}; the next build will redo some work"
        if not self.unsaved:
            self.unsaved = (warning(CACHE_DIR, None, why),)

    def close(self) -> None:
        if self._read is not None:
            # A read paused midway (a build that found nothing to do) holds its query
            # open, and with it the database's lock, until the query is let go.
            self._read.close()
            self._read = None
        self.bodies.close()
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._lock is not None:
            release(self._lock)
            self._lock = None


def _next_generation(db: sqlite3.Connection) -> str:
    """Mark the cache as changed (inside the transaction that changes it)."""
    generation = os.urandom(8).hex()
    db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (generation,))
    return generation


def _connect(path: Path, stamp: str) -> sqlite3.Connection:
    connection = sqlite3.connect(path)
    try:
        connection.executescript(_SCHEMA)
        meta = dict(connection.execute("SELECT key, value FROM meta").fetchall())
        if meta and meta.get("format") != _FORMAT:
            raise ValueError("not a cache of this format")
        if meta.get("stamp") != stamp:
            # Made by another version: its tables may be laid out otherwise.
            with connection:
                for table in ("files", "batches", "pages", "builds", "bodies"):
                    connection.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in filter(str.strip, _SCHEMA.split(";")):
                    connection.execute(statement)
                connection.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("format", _FORMAT), ("stamp", stamp)],
                )
                _next_generation(connection)
    except BaseException:
        connection.close()
        raise
    return connection
