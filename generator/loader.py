"""The loader: finds article files under `content/` and turns each into an `Article`.

Owns which files count as articles, the read -> decode -> split -> validate steps for
one file, and reusing cached results for files that did not change. Files over
`max_file_size`, symlinks leading out of the site and anything but a regular file
are set aside before a byte of them is read. The only stage that reads `content/`;
it never writes there. Changed files are parsed in parallel.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from stat import S_ISREG
from typing import NamedTuple
from zoneinfo import ZoneInfo

from generator.cache import (
    UNTRUSTED_TIME,
    BuildCache,
    CachedFile,
    Result,
    changed_lately,
    pack,
    unpack,
)
from generator.config import DEFAULT_MAX_FILE_SIZE
from generator.diagnostics import (
    Diagnostic,
    error,
    is_utf8,
    shown_name,
    stop_if_cancelled,
    warning,
)
from generator.frontmatter import FrontMatterError, decode, split
from generator.markup import MarkupError, render_markdown
from generator.model import Article
from generator.parallel import parallel_map, shared
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
    unsettled: tuple[tuple[str, str], ...] = ()
    """(path, digest) of each file read so soon after a change that its times could not
    tell another change (`changed_lately`)."""
    last_good: Mapping[str, Article] = field(default_factory=dict)
    """The last good version of each file set aside now, by file path: the one the builds
    before published last (it may stay published until the file is fixed). Its body is
    in the cache until the cache is told, in `BuildCache.put_files`, which are kept."""
    previous: Mapping[str, Article] = field(default_factory=dict)
    """The same for the other files, where it is not their article now: what the build
    may publish instead of an article it then sets aside (its slug is taken)."""
    unpublished: Mapping[str, Article | None] = field(default_factory=dict)
    """For every file whose article now the builds before did not publish as it is
    (changed, new, or set aside since), the version they did publish (None if none):
    what stays published if this build does not publish its own."""


class ArticleFile(NamedTuple):
    """An article file as found, with the size and time it had then. (A named tuple:
    made by the hundred thousand in every build, and sorted by `shown`.)"""

    shown: str
    """Its path from the site folder, with `/` separators: how messages name it."""
    path: str
    """Where to read it."""
    size: int
    mtime_ns: int
    ctime_ns: int
    """When its contents or metadata last changed, or it was moved into place."""
    readable: bool = True
    """False when it could not be measured (a dangling link, say): reading it will say why."""
    problem: str = ""
    """Why it is not taken at all, never read: a folder that cannot be listed (its
    articles would be left out unseen) or a name that is not UTF-8, reported as errors;
    a linked folder, reported as `skipped: ...`, a warning."""


def find_article_files(
    site_dir: Path, cancel: threading.Event | None = None
) -> tuple[ArticleFile, ...]:
    """Every article file under `content/`, measured once, sorted by display path.
    Names starting with `.` or `_` are skipped; a linked folder is reported, not entered.
    Once `cancel` is set, `BuildCancelled` before the next folder is listed."""
    found: list[ArticleFile] = []
    _scan(str(site_dir / CONTENT_DIR), f"{CONTENT_DIR}/", found, cancel)
    found.sort()  # by `shown`, which is unique
    return tuple(found)


def _scan(
    folder: str, shown: str, found: list[ArticleFile], cancel: threading.Event | None
) -> None:
    stop_if_cancelled(cancel)
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return  # no content/ yet, or a folder removed meanwhile
    except OSError as exc:
        problem = f"cannot list this folder: {exc.strerror}; its articles are left out"
        found.append(ArticleFile(shown.rstrip("/"), folder, 0, 0, 0, False, problem))
        return
    for entry in entries:
        name = entry.name
        if name.startswith((".", "_")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        if not name.isascii() and not is_utf8(name):
            if is_dir or name[name.rfind(".") :].lower() in EXTENSIONS:
                kind = "folder" if is_dir else "file"
                problem = f"the {kind} name is not UTF-8; rename it" + (
                    " (its articles are left out)" if is_dir else ""
                )
                found.append(
                    ArticleFile(shown + shown_name(name), entry.path, 0, 0, 0, False, problem)
                )
            continue
        if is_dir:
            if not entry.is_symlink():
                _scan(entry.path, f"{shown}{name}/", found, cancel)
            else:  # its files would be found twice, or leave the site
                problem = "skipped: a linked folder; move its articles into content/"
                found.append(ArticleFile(shown + name, entry.path, 0, 0, 0, False, problem))
            continue
        if name[name.rfind(".") :].lower() not in EXTENSIONS:  # no dot: the last letter
            continue
        try:
            status = entry.stat()
            found.append(
                ArticleFile(
                    shown + name, entry.path, status.st_size, status.st_mtime_ns, status.st_ctime_ns
                )
            )
        except OSError:
            found.append(ArticleFile(shown + name, entry.path, 0, 0, 0, readable=False))


ArticleFiles = tuple[ArticleFile, ...]

FileColumns = tuple[tuple[object, ...], ...]
"""Article files as one tuple per field of `ArticleFile`: how another process hands
them over (pickled and read back in a fifth of the time the tuples would take)."""


def as_columns(files: ArticleFiles) -> FileColumns:
    return tuple(zip(*files, strict=True))


def from_columns(columns: FileColumns) -> ArticleFiles:
    """The files `as_columns` gave."""
    make = functools.partial(tuple.__new__, ArticleFile)  # what `ArticleFile._make` does
    return tuple(map(make, zip(*columns, strict=True)))


def content_signature(files: ArticleFiles) -> str:
    """Digest of the name, size and modification time of every article file (those
    changed lately are checked by their bytes: `still_as_read`)."""
    return hashlib.sha256(
        "".join(
            f"{f.shown}\0{f.size}\0{f.mtime_ns}\0{f.ctime_ns}\0"
            if f.readable
            else f"{f.shown}\0missing\0{f.problem}\0"
            for f in files
        ).encode("utf-8", "surrogateescape")
    ).hexdigest()


def still_as_read(
    site_dir: Path, read: Sequence[tuple[str, str]], tz: ZoneInfo
) -> tuple[bool, list[tuple[str, str, int, int, int]]]:
    """Whether the article files `read` ((path, digest) as a build read them) still
    hold those bytes; and, if so, (path, digest, size, modification and change time)
    of those whose times now tell any later change (they were not changed lately)."""
    now_ns = time.time_ns()
    settled = []
    for shown, digest in read:
        try:
            with open(site_dir / shown, "rb") as file:
                status = os.fstat(file.fileno())
                raw = file.read()
        except OSError:
            return False, []
        if source_digest(raw, tz) != digest:
            return False, []
        if not changed_lately(status.st_mtime_ns, status.st_ctime_ns, now_ns):
            settled.append((shown, digest, len(raw), status.st_mtime_ns, status.st_ctime_ns))
    return True, settled


def parse_file(raw: bytes, shown: str, stem: str, tz: ZoneInfo, source_hash: str = "") -> Result:
    """Validate the bytes of one article file."""
    try:
        front = split(decode(raw))
    except FrontMatterError as exc:
        return None, tuple(error(shown, line, message) for line, message in exc.problems)
    notes = tuple(warning(shown, line, message) for line, message in front.notes)
    try:
        body = render_markdown(front.body)
    except MarkupError as exc:
        return None, (*notes, error(shown, front.body_line, str(exc)))
    article, problems = parse_article(front, shown, stem, tz, body, source_hash)
    return article, notes + problems


def load_file(path: Path, shown: str, site_dir: Path, tz: ZoneInfo, limit: int) -> Result:
    """One article file, read and parsed as a build reads it (`shown` is its path as
    diagnostics name it)."""
    raw, problem = _read(path, shown, site_dir, limit)
    if raw is None:
        return None, (problem,) if problem else ()
    return parse_file(raw, shown, path.stem, tz, source_digest(raw, tz))


def _too_large(shown: str, size: int, limit: int) -> Diagnostic:
    size_text, limit_text = _size(size), _size(limit)
    if size_text == limit_text:  # "2.0 MB, over ... 2.0 MB" says nothing
        size_text, limit_text = f"{size:,} bytes", f"{limit:,} bytes"
    return error(
        shown,
        None,
        f"the file is {size_text}, over the max_file_size limit of {limit_text}; "
        "shorten it, or raise max_file_size in site.yaml",
    )


def _size(count: int) -> str:
    return f"{count / 1_048_576:.1f} MB" if count >= 1_048_576 else f"{count:,} bytes"


def _leads_into(link: Path, folder: Path) -> bool:
    """Whether the link at `link` leads to a path inside `folder`."""
    return Path(os.path.realpath(link)).is_relative_to(os.path.realpath(folder))


def _read(
    path: Path, shown: str, site_dir: Path, limit: int
) -> tuple[bytes | None, Diagnostic | None]:
    """The file's bytes, or why they were not read. Refuses symlinks that leave the
    site, anything but a regular file (a FIFO would block the build), and files over
    `limit` bytes, which are never read whole."""
    # `realpath`, not `resolve`: a link in a loop is a file that cannot be read, below.
    if path.is_symlink() and not _leads_into(path, site_dir):
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
    except FileNotFoundError:
        if path.is_symlink():
            return None, error(shown, None, "cannot read: it links to a file that is not there")
        return None, error(shown, None, "cannot read: it was removed during the build; build again")
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, error(shown, None, "cannot read: it is a link that leads back to itself")
        return None, error(
            shown, None, f"cannot read: {exc.strerror}; check the file's permissions"
        )
    if len(raw) > limit:  # it grew since it was measured
        return None, _too_large(shown, len(raw), limit)
    return raw, None


def source_digest(raw: bytes, tz: ZoneInfo) -> str:
    """The digest of an article file's bytes as a build in the time zone `tz` reads them:
    its article's `source_hash`."""
    return hashlib.sha256(raw + b"\0" + str(tz).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class _Job:
    """A file to read and, unless its bytes are those cached, parse (in a worker, which
    finds the site folder, time zone and size limit in `shared("reading")`)."""

    file: ArticleFile
    cached_sha: str
    """SHA-256 of the cached parse's bytes; "" if there is none."""


@dataclass(frozen=True, slots=True)
class _Reading:
    site_dir: Path
    tz: ZoneInfo
    limit: int
    packs: bool
    """Whether results are packed for the cache (`generator.cache.pack`)."""


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What a worker made of one file."""

    sha: str
    """"" when the file could not be read."""
    same: bool = False
    """Whether its bytes are those cached: it was not parsed again."""
    result: Result | None = None
    """Its parse result, unless its bytes are those cached or the result is packed with
    the others of its batch."""


@dataclass(frozen=True, slots=True)
class _Batch:
    """What a worker made of a batch of files."""

    outcomes: tuple[_Outcome, ...]
    packed: bytes | None = None
    """The results it packed for the cache (`generator.cache.pack`): made in the worker,
    stored as they are."""
    bodies: tuple[tuple[str, str], ...] = ()
    """The bodies taken out of the packed articles, by source digest."""


FILES_PER_BATCH = 64
"""Files a worker reads and parses at a time, whose parse results the cache stores together."""


SLOW_READ_NS = 100_000
"""A file read taking longer than this came from the disk, not from memory: the rest of
its batch is then asked for at once (`_ask_ahead`)."""


def _ask_ahead(jobs: Sequence[_Job]) -> bool:
    """Ask the system to read the `jobs`' files into memory, side by side, while the
    batch is parsed: a disk that answers each read from afar (a cold page cache, a
    network volume) then answers them together. A link is not followed, and a FIFO is
    not waited on for a writer. Whether it was asked."""
    if not hasattr(os, "posix_fadvise"):
        return False
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW
    for job in jobs:
        with contextlib.suppress(OSError):  # reading it says what is wrong
            descriptor = os.open(job.file.path, flags)
            try:
                os.posix_fadvise(descriptor, 0, 0, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(descriptor)
    return True


def _read_and_parse(jobs: Sequence[_Job]) -> _Batch:
    # Workers read the files themselves, so the parent never holds them all.
    reading: _Reading = shared("reading")
    outcomes: list[_Outcome] = []
    packing: list[tuple[str, Result]] = []
    asked = False
    for index, job in enumerate(jobs):
        path, shown = Path(job.file.path), job.file.shown
        if job.file.problem:
            said = (warning if job.file.problem.startswith("skipped:") else error)(
                shown, None, job.file.problem
            )
            outcomes.append(_Outcome("", result=(None, (said,))))
            continue
        started = time.perf_counter_ns()
        raw, problem = _read(path, shown, reading.site_dir, reading.limit)
        if not asked and time.perf_counter_ns() - started > SLOW_READ_NS:
            asked = _ask_ahead(jobs[index + 1 :])
        if raw is None:
            outcomes.append(_Outcome("", result=(None, (problem,) if problem else ())))
            continue
        sha = source_digest(raw, reading.tz)
        if sha == job.cached_sha:
            outcomes.append(_Outcome(sha, same=True))
            continue
        result = parse_file(raw, shown, path.stem, reading.tz, sha)
        if reading.packs and job.file.readable:
            packing.append((shown, result))
            outcomes.append(_Outcome(sha))
        else:
            outcomes.append(_Outcome(sha, result=result))
    if not packing:
        return _Batch(tuple(outcomes))
    packed, bodies = pack(packing)
    return _Batch(tuple(outcomes), packed, tuple(bodies.items()))


def load_articles(
    site_dir: Path,
    tz: ZoneInfo,
    cache: BuildCache | None = None,
    jobs: int = 1,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    files: ArticleFiles | None = None,
    cancel: threading.Event | None = None,
) -> Loaded:
    """Load every article under `site_dir/content`; bad files become diagnostics.

    Files whose size and modification time (as measured in `files`; or, failing that,
    bytes) match the cache are not parsed again. Files over `max_file_size` bytes are
    set aside unread. What is parsed goes into the cache, for the build to commit with
    `BuildCache.put_files` once it knows which versions it publishes. `BuildCancelled`
    once `cancel` is set.
    """
    cache = cache or BuildCache.disabled()
    now_ns = time.time_ns()  # before any file is read
    cached = cache.files()
    results: dict[str, Result] = {}
    to_read: list[_Job] = []
    files = find_article_files(site_dir) if files is None else files
    for file in files:
        shown = file.shown
        entry = cached.get(shown)
        if file.readable and file.size > max_file_size:
            results[shown] = (None, (_too_large(shown, file.size, max_file_size),))
        elif entry and file.readable and _same_file(entry, file):
            results[shown] = (entry.article, entry.diagnostics)
        else:
            to_read.append(_Job(file, entry.sha if entry else ""))
    parsed = 0
    reading = {"reading": _Reading(site_dir, tz, max_file_size, packs=cache.enabled)}
    batches = [to_read[i : i + FILES_PER_BATCH] for i in range(0, len(to_read), FILES_PER_BATCH)]
    made = parallel_map(_read_and_parse, batches, jobs, share=reading, batch_size=1)
    unsettled: list[tuple[str, str]] = []
    with contextlib.closing(made):  # the workers stop at once if this loop is left
        for jobs_done, batch in zip(batches, made, strict=True):
            parsed += _take(jobs_done, batch, cached, results, cache, now_ns, unsettled)
            stop_if_cancelled(cancel)
    unpublished = _published_before(results, cached, cache)
    last_good: dict[str, Article] = {}
    previous: dict[str, Article] = {}
    for path, version in unpublished.items():
        if version is not None:
            (previous if results[path][0] is not None else last_good)[path] = version
    articles = tuple(a for file in files if (a := results[file.shown][0]) is not None)
    diagnostics = tuple(d for file in files for d in results[file.shown][1])
    return Loaded(
        articles,
        diagnostics,
        len(files),
        parsed,
        tuple(unsettled),
        last_good,
        previous,
        unpublished,
    )


def _published_before(
    results: Mapping[str, Result], cached: Mapping[str, CachedFile], cache: BuildCache
) -> dict[str, Article | None]:
    """The version of each file the builds before published last, where it may not be
    the file's article now (None for a file they never published): the one kept for
    the file while it was set aside, if it was (`BuildCache.last_good`), or else the
    one the cache held for it, if the file changed since (none for a new file, or for
    one whose last good body is gone)."""
    kept = cache.last_good()
    found: dict[str, Article | None] = {}
    for path, (article, _) in results.items():
        if path in kept:
            before = kept[path]
            if before is not None and not cache.holds_body(before):
                before = None
        else:
            entry = cached.get(path)
            if entry is not None and entry.article is article:
                continue  # as published
            before = entry.article if entry is not None else None
        found[path] = before
    return found


def _same_file(entry: CachedFile, file: ArticleFile) -> bool:
    """Whether the file is as it was when `entry` was cached: same size, modification
    time and change time (so its bytes need not be read again)."""
    return (entry.mtime_ns, entry.ctime_ns, entry.size) == (file.mtime_ns, file.ctime_ns, file.size)


def _take(
    jobs: Sequence[_Job],
    batch: _Batch,
    cached: dict[str, CachedFile],
    results: dict[str, Result],
    cache: BuildCache,
    now_ns: int,
    unsettled: list[tuple[str, str]],
) -> int:
    """Take in what a worker made of one batch of `jobs`: each file's result into
    `results`, and what is new into the `cache`, with untrusted times for a file changed
    lately (as of `now_ns`, before it was read), which joins `unsettled` with the
    digest of the bytes read. Returns how many files it parsed."""
    parsed = 0
    packed: dict[str, Result] = {}
    if batch.packed is not None:
        packed = {path: (article, notes) for path, article, notes in unpack(batch.packed)}
        for key, body in batch.bodies:
            cache.stow(key, body)  # out of memory
    stored: list[tuple[str, CachedFile]] = []
    for job, outcome in zip(jobs, batch.outcomes, strict=True):
        file, entry = job.file, cached.get(job.file.shown)
        mtime_ns = file.mtime_ns
        lately = file.readable and changed_lately(file.mtime_ns, file.ctime_ns, now_ns)
        if lately:
            mtime_ns = UNTRUSTED_TIME
        if outcome.same:
            assert entry is not None
            if lately:
                unsettled.append((file.shown, entry.sha))
            results[file.shown] = (entry.article, entry.diagnostics)
            if file.readable:
                touched = replace(entry, mtime_ns=mtime_ns, ctime_ns=file.ctime_ns, size=file.size)
                cache.touch(file.shown, touched)
            continue
        article, problems = outcome.result or packed[file.shown]
        results[file.shown] = (article, problems)
        if outcome.sha:
            parsed += 1
            if lately:
                unsettled.append((file.shown, outcome.sha))
            if file.readable:
                sha = outcome.sha
                entry = CachedFile(mtime_ns, file.ctime_ns, file.size, sha, article, problems)
                stored.append((file.shown, entry))
    if batch.packed is not None:
        cache.put_batch(stored, batch.packed)
    return parsed
