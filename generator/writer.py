"""The writer: puts the built files into the output folder, safely.

The only stage that writes `output/`. The rule it keeps: whenever a build stops —
it fails, the disk fills up, or the process is killed with `kill -9` — every file in
`output/` is complete and every internal link on every page reachable from the home
page resolves. How:

1. **Lock.** A build takes an exclusive `flock` on `output/.broadsheet-lock` before it
   touches anything, so two builds never interleave; the second one waits for the first
   (up to `LOCK_TIMEOUT` seconds, then stops with an error). The kernel drops the lock
   when its process dies, so a killed build never leaves a stale lock.
2. **Recover.** If the last build was killed while committing, its journal
   (`output/.broadsheet-journal`) is still there: its remaining steps are done first
   (see 5), which leaves the folder exactly as that build meant to. If a build was
   killed while rendering (`output/.broadsheet-staging` is still there), its leftover
   temporary files are deleted. Temporary files are never linked to.
3. **Stage.** New bytes are written to temporary files (`.NAME.broadsheet-tmp`) beside
   their targets while pages render; static files are copied to them from their source,
   a chunk at a time (`stage_copy`), never read whole. Nothing visible changes; a
   failure deletes them.
   (But for files of the last build that stand where a folder is now needed, or in a
   folder where a file now is: those are removed first, by `make_way`.)
4. **Journal.** Once everything is rendered, the list of renames, the stale files to
   remove and the new manifest are written to the journal (atomically): for a site
   already in the folder, only the manifest's entries that change, which step e sets
   in the manifest standing there.
5. **Commit,** in an order that keeps every link from a reachable page working after
   each single step:
   a. files that did not exist yet (new articles, new listing pages) are renamed into
      place: nothing links to them until step c, so they may link to each other freely;
   b. existing files that no earlier build of this tool wrote are replaced: no page of
      the site links to them yet either;
   c. the site's own files are replaced. Every file a new page links to exists by now,
      and every file an old page links to still exists;
   d. files of the previous build that no longer belong to the site are removed: no
      page links to them any more;
   e. the manifest is replaced and the journal deleted.
   Deeper paths go first within each step, so a site viewed mid-commit rarely mixes
   old listings with new articles, but correctness rests on the steps, not on depth.

**A first build** (an output folder that is empty, or not there) has nothing to keep
working while it builds: it writes its files under their own names into a hidden
folder, `output/.broadsheet-new/`, and its commit moves that folder's top-level
entries into the output folder, the home page last. Before the home page is there,
no page is reachable; once it is, every file is. The journal lists the moves, so a
killed commit is finished like any other; a build killed earlier leaves the hidden
folder, which the next build deletes. A few moves instead of a rename per file.

A failure in step 3 (a template error, a full disk, a folder that cannot be written)
leaves the previous site untouched; a failure or kill in step 5 leaves a working site
whose journal the next build finishes. Files whose bytes did not change are not
touched, so a sync to a host uploads only what changed. Durability against power loss
is left to the file system (nothing is fsynced).

`output/.broadsheet-manifest` lists each file this tool wrote with its SHA-256; files
not in it are never deleted.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from generator.diagnostics import BuildCancelled, BuildError, Diagnostic, error, stop_if_cancelled
from generator.locks import LOCK_TIMEOUT, acquire, release
from generator.plan import folders_of

MANIFEST = ".broadsheet-manifest"
LOCK = ".broadsheet-lock"
JOURNAL = ".broadsheet-journal"
STAGING = ".broadsheet-staging"
FRESH = ".broadsheet-new"
"""The folder a first build gathers its files in (see the module text)."""
RESERVED = frozenset({MANIFEST, LOCK, JOURNAL, STAGING, FRESH})
"""Files of the writer's own at the top of the output folder; never a page's path."""
TEMPORARY_SUFFIX = ".broadsheet-tmp"
HOME = "index.html"
COPY_CHUNK = 1 << 20
"""Bytes of a copied file read at a time: no copy holds a whole file in memory."""
_JOURNAL_HEADER = "broadsheet-journal 1"
_CHANGES_HEADER = "broadsheet-journal 1 changes"
"""The header of a journal whose manifest lines are only the entries that change."""


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: int
    unchanged: int
    removed: int
    manifest: str = ""
    """SHA-256 of the manifest written (what `manifest_digest` gives while it stands)."""
    changed: tuple[str, ...] = ()
    """The files written or removed, by path in the output folder, in order."""


@dataclass(frozen=True, slots=True)
class Manifest:
    """The manifest a commit wrote, with the identity of its file (`_identity`): a writer
    given it reads the file again only if that has changed since (at 100,000 articles
    reading it takes 0.1 s, for the preview's every build)."""

    identity: tuple[int, ...]
    entries: Mapping[str, str]
    """SHA-256 by path, as the file lists them; never changed."""


@dataclass(frozen=True, slots=True)
class Staged:
    """One file handed to the writer: what `stage` did for it."""

    relative: str
    digest: str
    """SHA-256 of its bytes."""
    written: bool
    """A temporary file holds the new bytes (False: the file already holds them)."""
    folders: tuple[str, ...] = ()
    """Folders made for it, outermost first, relative to the output folder."""


def safe_target(output_dir: Path, relative: str) -> Path:
    """The path of `relative` inside `output_dir`; `BuildError` if it would leave it."""
    return Path(_safe_path(str(output_dir), relative))


def _safe_path(output_dir: str, relative: str) -> str:
    """`safe_target` on strings, for the loops over every file of a build."""
    parts = [p for p in relative.split("/") if p and p != "."]
    unsafe = (
        not parts
        or relative.startswith("/")
        or ".." in parts
        or any(c in relative for c in "\\\0\n\r")
        or parts[0] in RESERVED
        or parts[-1].endswith(TEMPORARY_SUFFIX)
    )
    if unsafe:
        message = (
            "refusing to write outside the output folder or over the writer's own files; "
            "rename the file (no '..', backslashes, line breaks or '.broadsheet-' names)"
        )
        raise BuildError((error(relative, None, message),))
    return os.path.join(output_dir, *parts)


def _failure(exc: OSError, fallback: Path, midway: bool = False) -> BuildError:
    """The error for a file system refusing the output; `midway` through a commit."""
    where = exc.filename or str(fallback)
    reason = exc.strerror or str(exc)
    left = (
        "to finish the commit it stopped midway (every link works meanwhile)"
        if midway
        else "(the previous site was left working)"
    )
    message = (
        f"cannot write output: {reason}; free some space or fix the folder's permissions, "
        f"then build again {left}"
    )
    return BuildError((error(str(where), None, message),), midway)


class OutputWriter:
    """Collects a build's files, then commits them in one step (see the module text).

    Use as a context manager: leaving it by an exception discards everything staged.
    """

    def __init__(self, output_dir: Path, known: Manifest | None = None) -> None:
        """`known`: the manifest a writer committed last (`written`), which this one takes
        rather than reading the file, if that is still the file it wrote."""
        self._output = output_dir
        self._known = known
        self.written: Manifest | None = None
        """Once committed, the manifest written."""
        self._made_folders: list[Path] = []
        self._previous: dict[str, str] = {}
        self._current: dict[str, str] = {}
        self._changes: dict[str, str] = {}
        """The entries of `_current` that `_previous` lacks or holds with other bytes."""
        self._staged: list[str] = []
        self._created = False
        self._lock: int | None = None
        self._journaled = False
        self._committed = False
        self._fresh = False
        self._lent = False
        self._removed_early: list[str] = []
        """Files of the last build `make_way` removed before the commit."""

    def __enter__(self) -> OutputWriter:
        self._created = not self._output.exists()
        try:
            self._output.mkdir(parents=True, exist_ok=True)
            self._lock = acquire(
                self._output / LOCK,
                LOCK_TIMEOUT,
                "another build is writing to this output folder",
                "Let it finish and build again, or build into another folder with -o",
            )
            recover(self._output)
            known = self._known
            if known is not None and _identity(self._output / MANIFEST) == known.identity:
                self._previous = dict(known.entries)
            else:
                self._previous = _read_manifest(self._output)
            self._fresh = not self._previous and set(os.listdir(self._output)) <= {LOCK}
            (self._output / STAGING).touch()
            if self._fresh:
                (self._output / FRESH).mkdir()
        except OSError as exc:
            self._release()
            raise _failure(exc, self._output) from None
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self._journaled:
                return  # a commit was under way: the next build finishes its journal
            if self._committed:
                (self._output / STAGING).unlink(missing_ok=True)
                return
            if self._fresh:
                shutil.rmtree(self._output / FRESH, ignore_errors=True)  # all it staged
            else:
                for relative in self._staged:
                    _temporary(self._output / relative).unlink(missing_ok=True)
            for folder in reversed(self._made_folders):
                _prune_empty(folder, self._output)
            if kind is not None and self._created:
                shutil.rmtree(self._output, ignore_errors=True)  # it held only our files
                return
            stopped = kind is not None and issubclass(kind, BuildCancelled)
            if kind is not None and (self._lent or not stopped):
                _sweep(self._output)  # files staged by workers whose results never came
            (self._output / STAGING).unlink(missing_ok=True)
        except OSError:
            pass  # the staging marker stays: the next build clears what is left
        finally:
            self._release()

    def _release(self) -> None:
        if self._lock is not None:
            release(self._lock)
            self._lock = None

    @property
    def output_dir(self) -> Path:
        return self._output

    @property
    def fresh(self) -> bool:
        """Whether this is a first build, which gathers its files in `FRESH`: pass it
        to `stage`."""
        return self._fresh

    @property
    def staged(self) -> tuple[str, ...]:
        """The files staged so far whose bytes differ from what is there."""
        return tuple(self._staged)

    @property
    def previous(self) -> dict[str, str]:
        """The SHA-256 of each file the last build wrote, by path: pass it to `stage`."""
        return self._previous

    def lend(self) -> None:
        """Say that worker processes stage files for this writer from now on. If the build
        then stops, the whole output folder is searched for files they staged whose
        results never came, and those are deleted. (That search follows any exception
        but `BuildCancelled`, which is raised only between steps, when every file staged
        in this process is recorded.)"""
        self._lent = True

    def make_way(self, paths: list[str]) -> None:
        """Before anything is staged, given every path this build writes: remove the
        last build's files that stand where the site now needs a folder (`static/x`
        now `static/x/y`), or in a folder where it now needs a file (the reverse),
        which staging or committing could not get past. They are files of the last
        build that this one does not make, so the commit would remove them anyway;
        removed early, they are gone even if this build fails. `BuildError` if such a
        folder holds files this tool did not write."""
        new = [path for path in paths if path not in self._previous]
        if not new or self._fresh:
            return
        stale = self._previous.keys() - set(paths)
        in_the_way = {folder for path in new for folder in folders_of(path) if folder in stale}
        output = str(self._output)
        folders = [path for path in new if os.path.isdir(os.path.join(output, path))]
        for folder in folders:
            in_the_way.update(p for p in stale if p.startswith(folder + "/"))
        for relative in sorted(in_the_way):
            _remove(self._output, relative)
            del self._previous[relative]
        self._removed_early += in_the_way
        for folder in folders:
            if os.path.isdir(os.path.join(output, folder)):
                raise BuildError(
                    (
                        error(
                            str(self._output / folder),
                            None,
                            "holds files this tool did not write, where the site now has a "
                            "file; move them away and build again",
                        ),
                    )
                )

    def keep(self, relative: str, digest: str, checked: bool = False) -> bool:
        """Keep the file at `relative` as it is, if an earlier build wrote it with the
        SHA-256 `digest` and it is still there; `checked`: the manifest says so and
        `files_present` found it (in a worker, perhaps)."""
        if not (checked or still_there(self._output, self._previous, relative, digest)):
            return False
        self._current[relative] = digest
        self._changes.pop(relative, None)
        return True

    def keep_all(self) -> None:
        """Keep every file the last build wrote as it is (`keep`, trusting the manifest),
        but for those staged from now on: a commit that changes a few files and no others."""
        self._current.update(self._previous)
        self._changes.clear()

    def add(self, relative: str, data: bytes) -> str:
        """Stage `data` for `relative`, unless the file there already holds these bytes.
        Returns the SHA-256 of `data`."""
        staged = stage(self._output, self._previous, relative, data, self._fresh)
        self.record(staged)
        return staged.digest

    def copy(
        self, relative: str, source: str, read_back: bool = True
    ) -> tuple[str, os.stat_result] | Diagnostic:
        """Stage a copy of the file at `source` for `relative` (`stage_copy`), unless the
        file there already holds its bytes. Returns their SHA-256 and the source's
        status as it was opened; or why the source could not be read."""
        copied = stage_copy(self._output, self._previous, relative, source, self._fresh, read_back)
        if isinstance(copied, Diagnostic):
            return copied
        staged, status = copied
        self.record(staged)
        return staged.digest, status

    def record(self, staged: Staged) -> None:
        """Take in a file staged by `stage`, perhaps in a worker process."""
        self._current[staged.relative] = staged.digest
        if self._previous.get(staged.relative) == staged.digest:
            self._changes.pop(staged.relative, None)
        else:
            self._changes[staged.relative] = staged.digest
        if staged.written:
            self._staged.append(staged.relative)
        self._made_folders.extend(self._output / folder for folder in staged.folders)

    def commit(self) -> WriteReport:
        """Journal the commit, then rename, remove stale files and write the manifest."""
        stale = sorted(self._previous.keys() - self._current.keys())
        final = self._current
        try:
            if self._fresh:
                journal = Journal((), (), final, self._move_order())
            else:
                changes = dict(self._changes)
                journal = Journal(self._rename_order(), tuple(stale), changes, changes=True)
            _write_atomically(self._output / JOURNAL, journal.text())
            self._journaled = True
            manifest, entries = journal.apply(self._output, self._previous)
            self._journaled, self._committed = False, True
            identity = _identity(self._output / MANIFEST)
            self.written = Manifest(identity, entries) if identity else None
        except OSError as exc:
            raise _failure(exc, self._output, self._journaled) from None
        unchanged = len(final) - len(self._staged)
        removed = len(stale) + len(self._removed_early)
        changed = tuple(sorted({*self._staged, *stale, *self._removed_early}))
        return WriteReport(len(self._staged), max(0, unchanged), removed, manifest, changed)

    def _move_order(self) -> tuple[str, ...]:
        """The top-level entries a first build gathered, the home page last."""
        names = os.listdir(self._output / FRESH)
        return tuple(sorted(names, key=lambda name: (name == HOME, name)))

    def _rename_order(self) -> tuple[str, ...]:
        """Staged files: new ones, then ones no build wrote, then the site's own."""

        output = str(self._output)

        def step(relative: str) -> int:
            if not os.path.exists(os.path.join(output, relative)):
                return 0
            return 1 if relative not in self._previous else 2

        return tuple(sorted(self._staged, key=lambda p: (step(p), -p.count("/"), p)))


@dataclass(frozen=True, slots=True)
class Journal:
    """A commit's steps, written down before the first one so a killed commit can be
    finished: a first build's moves, renames in order, stale files to remove, and the
    manifest to write (or, with `changes`, its entries that change)."""

    renames: tuple[str, ...]
    removals: tuple[str, ...]
    manifest: dict[str, str]
    moves: tuple[str, ...] = ()
    """A first build's: the entries of `FRESH` to move into the output folder, first."""
    changes: bool = False
    """Whether `manifest` holds only the entries that are new or changed: the manifest to
    write is then the one in the output folder with those entries set and the
    removals taken out. Until the commit writes it, that manifest is the one the
    commit started from; after, it is the one it wrote, which those steps leave as
    it is: either way they give the same."""

    def text(self) -> str:
        lines = [_CHANGES_HEADER if self.changes else _JOURNAL_HEADER]
        lines += [f"T {name}" for name in self.moves]
        lines += [f"R {p}" for p in self.renames]
        lines += [f"D {p}" for p in self.removals]
        lines += [f"M {digest} {p}" for p, digest in sorted(self.manifest.items())]
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Journal | None:
        lines = text.split("\n")
        if lines[0] not in (_JOURNAL_HEADER, _CHANGES_HEADER) or lines[-1] != "":
            return None  # not ours, or cut short: it was never used
        renames, removals, manifest, moves = [], [], {}, []
        for line in lines[1:-1]:
            kind, _, rest = line.partition(" ")
            if kind == "T":
                moves.append(rest)
            elif kind == "R":
                renames.append(rest)
            elif kind == "D":
                removals.append(rest)
            elif kind == "M":
                digest, _, relative = rest.partition(" ")
                manifest[relative] = digest
        changes = lines[0] == _CHANGES_HEADER
        return cls(tuple(renames), tuple(removals), manifest, tuple(moves), changes)

    def apply(
        self, output_dir: Path, standing: dict[str, str] | None = None
    ) -> tuple[str, dict[str, str]]:
        """Do (or finish) every step; steps already done are skipped, so a commit killed
        at any point, or killed again while being finished, can always be finished.
        `standing`: the entries of the manifest in the output folder, if known (else
        read, when the journal holds only `changes`). Returns the digest of the
        manifest written, and its entries."""
        if self.changes:
            manifest = dict(_read_manifest(output_dir) if standing is None else standing)
            for relative in self.removals:
                manifest.pop(relative, None)
            manifest.update(self.manifest)
        else:
            manifest = dict(self.manifest)
        output = str(output_dir)
        for name in self.moves:
            if "/" in name or name in RESERVED or name in ("", ".", ".."):
                continue  # not an entry a build gathers
            with contextlib.suppress(FileNotFoundError):  # moved before a kill
                os.rename(os.path.join(output, FRESH, name), os.path.join(output, name))
        if self.moves:
            shutil.rmtree(os.path.join(output, FRESH), ignore_errors=True)  # empty by now
        for relative in self.renames:
            try:
                target = _safe_path(output, relative)
            except BuildError:
                manifest.pop(relative, None)
                continue
            folder, name = os.path.split(target)
            try:
                os.replace(os.path.join(folder, _temporary_name(name)), target)
            except FileNotFoundError:
                if os.path.isfile(target):
                    # Renamed before the kill, or staged no more: record what is there.
                    manifest[relative] = _digest(Path(target))
                else:
                    manifest.pop(relative, None)
        for relative in self.removals:
            _remove(output_dir, relative)
        digest, written = _write_manifest(output_dir, manifest)
        (output_dir / JOURNAL).unlink(missing_ok=True)
        return digest, written


def recover(output_dir: Path) -> None:
    """Finish a commit a killed build left half done, and delete temporary files a
    killed build left behind. Call with the lock held."""
    journal_path = output_dir / JOURNAL
    if journal_path.exists():
        journal = Journal.parse(journal_path.read_text(encoding="utf-8", errors="replace"))
        if journal is not None:
            journal.apply(output_dir)
        journal_path.unlink(missing_ok=True)
    if (output_dir / STAGING).exists():
        shutil.rmtree(output_dir / FRESH, ignore_errors=True)  # a first build's, cut short
        _sweep(output_dir)
        (output_dir / STAGING).unlink(missing_ok=True)


def _sweep(output_dir: Path) -> None:
    """Delete every temporary file in the output folder, and the folders left empty."""
    for folder, _, files in os.walk(output_dir, topdown=False):
        for name in files:
            if name.endswith(TEMPORARY_SUFFIX):
                (Path(folder) / name).unlink(missing_ok=True)
        if Path(folder) != output_dir:
            _prune_empty(Path(folder), output_dir)


def stage(
    output_dir: Path, previous: dict[str, str], relative: str, data: bytes, fresh: bool = False
) -> Staged:
    """Write `data` to a temporary file beside `relative`'s target in `output_dir`, unless
    the target already holds these bytes; for a first build (`fresh`), to `relative` in
    the `FRESH` folder. A file the last build's manifest (`previous`) lists with other
    bytes is written without reading it; any other is read back, not taken from the
    manifest, so a file changed by hand is made right again. Changes nothing visible,
    so worker processes may stage files while the `OutputWriter` holds the lock; it
    `record`s what they staged."""
    if fresh:
        return _stage_fresh(output_dir / FRESH, relative, data)
    target = safe_target(output_dir, relative)
    digest = hashlib.sha256(data).hexdigest()
    if previous.get(relative, digest) == digest and _same_bytes(target, data):
        return Staged(relative, digest, written=False)
    temporary = _temporary(target)
    folders: list[Path] = []
    try:
        try:
            temporary.write_bytes(data)
        except FileNotFoundError:
            folders = _make_folders(target.parent, output_dir)
            temporary.write_bytes(data)
    except OSError as exc:
        raise _failure(exc, temporary) from None
    made = tuple(f.relative_to(output_dir).as_posix() for f in folders)
    return Staged(relative, digest, written=True, folders=made)


def _stage_fresh(gathered: Path, relative: str, data: bytes) -> Staged:
    target = _safe_path(str(gathered), relative)
    folder = os.path.dirname(target)
    try:
        # Nearly every page has a folder of its own, made here: make it first, rather
        # than fail to open the file and look for the folder.
        try:
            os.mkdir(folder)
        except FileExistsError:
            pass
        except FileNotFoundError:
            os.makedirs(folder, exist_ok=True)  # another worker may be making them too
        _write_file(target, data)
    except OSError as exc:
        raise _failure(exc, Path(target)) from None
    return Staged(relative, hashlib.sha256(data).hexdigest(), written=True)


def stage_copy(
    output_dir: Path,
    previous: dict[str, str],
    relative: str,
    source: str,
    fresh: bool = False,
    read_back: bool = True,
) -> tuple[Staged, os.stat_result] | Diagnostic:
    """`stage` for a copy of the file at `source`, read `COPY_CHUNK` bytes at a time,
    never whole. Where the target may already hold its bytes (a file of its size that
    the manifest, `previous`, lists with their digest, or does not list), they are
    hashed first, and the target is kept if it does: one the manifest lists is taken at
    its word, unless `read_back`, and any other is read back. Otherwise they are copied,
    and hashed as they are. Returns what was staged, with the source's status as it was
    opened (before a byte was read); or why the source could not be read, with nothing
    left staged for it."""
    try:
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return _unreadable(source, exc)
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            return error(source, None, "cannot read: it is no longer a file; build again")
        try:
            staged = _stage_copy(
                output_dir, previous, relative, fd, status.st_size, fresh, read_back
            )
        except _Unreadable as exc:
            return _unreadable(source, exc.reason)
    finally:
        os.close(fd)
    return staged, status


def _stage_copy(
    output_dir: Path,
    previous: dict[str, str],
    relative: str,
    fd: int,
    size: int,
    fresh: bool,
    read_back: bool,
) -> Staged:
    """`stage_copy` for the open file `fd` of `size` bytes."""
    if fresh:
        gathered = _safe_path(str(output_dir / FRESH), relative)
        try:
            os.makedirs(os.path.dirname(gathered), exist_ok=True)
            return Staged(relative, _copy_into(fd, gathered), written=True)
        except OSError as exc:
            raise _failure(exc, Path(gathered)) from None
    target = safe_target(output_dir, relative)
    if _size(target) == size:
        digest, listed = _file_digest(fd), previous.get(relative)
        if listed in (None, digest) and (
            (listed == digest and not read_back) or _digest_of(target) == digest
        ):
            return Staged(relative, digest, written=False)
    temporary = _temporary(target)
    folders: list[Path] = []
    try:
        try:
            digest = _copy_into(fd, str(temporary))
        except FileNotFoundError:
            folders = _make_folders(target.parent, output_dir)
            digest = _copy_into(fd, str(temporary))
    except OSError as exc:
        raise _failure(exc, temporary) from None
    made = tuple(f.relative_to(output_dir).as_posix() for f in folders)
    return Staged(relative, digest, written=True, folders=made)


class _Unreadable(Exception):
    """The source of a copy could not be read (an `OSError` apart from the output's)."""

    def __init__(self, reason: OSError) -> None:
        super().__init__(reason)
        self.reason = reason


def _unreadable(source: str, exc: OSError) -> Diagnostic:
    """Why the static or root file at `source` could not be copied."""
    if isinstance(exc, FileNotFoundError):
        return error(source, None, "cannot read: it was removed during the build; build again")
    return error(source, None, f"cannot read: {exc.strerror}; check the file's permissions")


def _chunks(fd: int) -> Iterator[memoryview]:
    """The bytes of the open file `fd`, from its start, `COPY_CHUNK` at a time, in one
    buffer used again for each: take each chunk in before asking for the next."""
    buffer = bytearray(COPY_CHUNK)
    view = memoryview(buffer)
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        while count := os.readv(fd, [buffer]):
            yield view[:count]
    except OSError as exc:
        raise _Unreadable(exc) from None


def _file_digest(fd: int) -> str:
    """SHA-256 of the open file `fd`, read in chunks."""
    digest = hashlib.sha256()
    for chunk in _chunks(fd):
        digest.update(chunk)
    return digest.hexdigest()


def _digest_of(path: Path) -> str | None:
    """SHA-256 of the output file at `path`, read in chunks; None if it cannot be read."""
    try:
        return _digest(path)
    except OSError:
        return None


def _size(path: Path) -> int | None:
    """The size of the file at `path`; None if it is not a file."""
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def _copy_into(fd: int, path: str) -> str:
    """Copy the open file `fd`, a chunk at a time, to the file at `path` (created or
    truncated); the SHA-256 of what was copied. Whatever stops the copy removes the
    file at `path` again, so nothing is left half written."""
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    digest = hashlib.sha256()
    try:
        try:
            for chunk in _chunks(fd):
                digest.update(chunk)
                while chunk:
                    chunk = chunk[os.write(out, chunk) :]
        finally:
            os.close(out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(path)
        raise
    return digest.hexdigest()


def _write_file(path: str, data: bytes) -> None:
    """Create or truncate the file at `path` and write `data` to it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _make_folders(folder: Path, output_dir: Path) -> list[Path]:
    """Make `folder` and its missing parents; returns the ones made, outermost first.
    Another process may be making the same ones."""
    missing = []
    while folder != output_dir and not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    missing.reverse()
    for made in missing:
        made.mkdir(exist_ok=True)
    return missing


def still_there(output_dir: Path, previous: Mapping[str, str], relative: str, digest: str) -> bool:
    """Whether the file at `relative` is one an earlier build wrote with the SHA-256
    `digest` (as `previous`, its manifest, says) and is still in the output folder."""
    # Only looked at, never written: the path was checked when it was written.
    return previous.get(relative) == digest and os.path.isfile(f"{output_dir}/{relative}")


LOOKED_UP_AT_ONCE = 512
"""Files `files_present` looks up one after another before it times them."""
SLOW_LOOKUP_NS = 30_000
"""The time a look-up takes on average, beyond which `files_present` takes the file
system for one answering from its disk (a look-up answered from memory takes a few
microseconds, one that reads the disk a hundred and more)."""
LOOKERS = 16
"""Threads that look files up at once when the file system answers from its disk."""


def files_present(
    folder: str, relatives: Sequence[str], cancel: threading.Event | None = None
) -> list[bool]:
    """Whether each of `relatives` is a file in `folder`, in order. They are looked up
    one after another, `LOOKED_UP_AT_ONCE` at a time, while the file system answers
    from memory. Once a batch takes longer than `SLOW_LOOKUP_NS` a file (the caches are
    cold: after a reboot, or on a machine that gave their memory back), the rest are
    looked up by `LOOKERS` threads at once, which a disk answers side by side: at
    136,000 pages of a site, 14 s one after another, 3 to 4 s so. `BuildCancelled`
    between batches once `cancel` is set."""
    found: list[bool] = []
    while len(found) < len(relatives):
        stop_if_cancelled(cancel)
        started = time.perf_counter_ns()
        batch = _present(folder, relatives[len(found) : len(found) + LOOKED_UP_AT_ONCE])
        found += batch
        if time.perf_counter_ns() - started > SLOW_LOOKUP_NS * len(batch):
            found += _present_side_by_side(folder, relatives[len(found) :], cancel)
    return found


def _present(folder: str, relatives: Sequence[str]) -> list[bool]:
    isfile = os.path.isfile
    return [isfile(f"{folder}/{relative}") for relative in relatives]


def _present_side_by_side(
    folder: str, relatives: Sequence[str], cancel: threading.Event | None
) -> list[bool]:
    """`_present` for `relatives`, a batch a thread, `LOOKERS` threads at a time."""
    step = LOOKED_UP_AT_ONCE // 2
    batches = [relatives[at : at + step] for at in range(0, len(relatives), step)]
    found: list[bool] = []
    pool = ThreadPoolExecutor(LOOKERS, thread_name_prefix="broadsheet-lookup")
    try:
        for batch in pool.map(lambda some: _present(folder, some), batches):
            found += batch
            stop_if_cancelled(cancel)
    finally:
        pool.shutdown(cancel_futures=True)
    return found


def manifest_digest(output_dir: Path) -> str | None:
    """Digest of the manifest, if every file it lists is still in the output folder and
    no build was cut short there (no journal or staging marker is left)."""
    if (output_dir / JOURNAL).exists() or (output_dir / STAGING).exists():
        return None
    try:
        data = (output_dir / MANIFEST).read_bytes()
        listed = _parse_manifest(data.decode("utf-8"))
    except (OSError, UnicodeDecodeError):
        return None
    if not all(files_present(str(output_dir), list(listed))):
        return None
    return hashlib.sha256(data).hexdigest()


def _temporary(target: Path) -> Path:
    return target.with_name(_temporary_name(target.name))


def _temporary_name(name: str) -> str:
    """The name of the temporary file staged beside the file called `name`."""
    return f".{name}{TEMPORARY_SUFFIX}"


def _digest(path: Path) -> str:
    """SHA-256 of the file at `path`, read in chunks (it may be a copied file of any
    size); `OSError` if it cannot be read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        return _file_digest(fd)
    except _Unreadable as exc:
        raise exc.reason from None
    finally:
        os.close(fd)


def _same_bytes(target: Path, data: bytes) -> bool:
    try:
        return target.stat().st_size == len(data) and target.read_bytes() == data
    except OSError:
        return False


def _identity(path: Path) -> tuple[int, ...]:
    """What tells one version of a file from another: its device, inode, size and times
    (the manifest is replaced whole, by a rename, so each version is a new file); empty
    if it cannot be measured."""
    try:
        status = os.stat(path)
    except OSError:
        return ()
    return (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)


def _read_manifest(output_dir: Path) -> dict[str, str]:
    try:
        text = (output_dir / MANIFEST).read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return {}
    return _parse_manifest(text)


def _parse_manifest(text: str) -> dict[str, str]:
    entries = {}
    for line in text.splitlines():
        digest, _, relative = line.partition(" ")
        if len(digest) == 64 and relative:
            entries[relative] = digest
    return entries


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + TEMPORARY_SUFFIX)
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def _write_manifest(output_dir: Path, entries: dict[str, str]) -> tuple[str, dict[str, str]]:
    """Write the manifest of `entries`, in path order; return its digest and the entries in
    that order (a later writer that takes them sorts them again at no cost)."""
    ordered = {p: entries[p] for p in sorted(entries)}
    text = "".join([f"{digest} {p}\n" for p, digest in ordered.items()])
    _write_atomically(output_dir / MANIFEST, text)
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), ordered


def _remove(output_dir: Path, relative: str) -> None:
    try:
        target = safe_target(output_dir, relative)
    except BuildError:
        return  # a manifest line this tool would not write: never delete it
    target.unlink(missing_ok=True)
    _prune_empty(target.parent, output_dir)


def _prune_empty(folder: Path, output_dir: Path) -> None:
    """Remove `folder` and its parents while they are empty, up to the output folder."""
    while folder != output_dir and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
