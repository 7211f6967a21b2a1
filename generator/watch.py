"""The watcher: notices changes to a site's sources and reports them, debounced.

Owns the watchdog observer, the rules for which paths matter (never the output
folder, the build cache, dotfiles or editor swap and backup files) and the debouncer
that turns a burst of saves into one `ChangeSet`. Knows nothing of HTTP or builds:
it calls back with the paths that changed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch

from generator.theme import DOT_NAMES_PUBLISHED

_log = logging.getLogger(__name__)

QUIET_SECONDS = 0.1
"""A change is reported once nothing else has changed for this long..."""
MAX_WAIT_SECONDS = 2.0
"""...or once this long has passed since the first change of the burst."""

_RELEVANT_EVENTS = frozenset({"created", "modified", "moved", "deleted", "attrib"})
_SWAP_SUFFIXES = (".swp", ".swx", ".swo", "~", ".tmp")


@dataclass(frozen=True, slots=True)
class WatchTargets:
    """What to watch: folders (with everything below them) and single files."""

    folders: tuple[Path, ...]
    files: tuple[Path, ...]
    ignored: tuple[Path, ...]
    """Folders whose changes never count, even inside a watched folder (the output)."""


@dataclass(frozen=True, slots=True)
class ChangeSet:
    """The paths changed in one burst, reported after it went quiet."""

    paths: frozenset[Path]
    began: float = 0.0
    """When the burst's first change was noticed (`time.monotonic()`)."""

    @property
    def css_only(self) -> bool:
        """Whether only stylesheets changed: every path is one, or is gone (an editor's
        temporary file, renamed onto a stylesheet by a "safe write")."""
        css = {p: p.suffix.lower() == ".css" for p in self.paths}
        return any(css.values()) and all(c or not os.path.lexists(p) for p, c in css.items())

    @property
    def shown(self) -> list[Path]:
        """The paths, those still there first (not an editor's temporary file)."""
        return sorted(self.paths, key=lambda p: (not os.path.lexists(p), p))


def is_scratch_name(name: str) -> bool:
    """Editor swap, backup and temporary files, and dotfiles."""
    return (
        name.startswith(".")  # dotfiles, emacs lock files `.#name`
        or name.endswith(_SWAP_SUFFIXES)
        or (name.startswith("#") and name.endswith("#"))  # emacs autosave
        or name == "4913"  # vim's probe that a folder is writable
    )


def is_relevant(path: Path, targets: WatchTargets) -> bool:
    """Whether a change at `path` (absolute, resolved) should trigger a rebuild."""
    if any(path.is_relative_to(d) for d in targets.ignored):
        return False
    if path in targets.files:
        return True
    for folder in targets.folders:
        if path == folder:
            return True
        if path.is_relative_to(folder):
            parts = path.relative_to(folder).parts
            return not any(is_scratch_name(p) and p not in DOT_NAMES_PUBLISHED for p in parts)
    return False


class Debouncer:
    """Collects paths and calls `on_change` once a burst has gone quiet.

    The callback runs on the debouncer's own thread, one call at a time; paths that
    arrive meanwhile make the next burst.
    """

    def __init__(
        self,
        on_change: Callable[[ChangeSet], None],
        quiet: float = QUIET_SECONDS,
        max_wait: float = MAX_WAIT_SECONDS,
    ) -> None:
        self._on_change = on_change
        self._quiet = quiet
        self._max_wait = max_wait
        self._pending: set[Path] = set()
        self._first = self._last = 0.0
        self._stopped = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="broadsheet-debounce", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def add(self, paths: Iterable[Path]) -> None:
        with self._condition:
            now = time.monotonic()
            if not self._pending:
                self._first = now
            self._pending.update(paths)
            self._last = now
            self._condition.notify()

    def stop(self) -> None:
        """Drop pending changes; wait for a callback in progress to finish."""
        with self._condition:
            self._stopped = True
            self._pending.clear()
            self._condition.notify()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join()

    def _run(self) -> None:
        while True:
            with self._condition:
                changes = self._wait_for_burst()
                if changes is None:
                    return
            try:
                self._on_change(changes)
            except Exception:  # a bug must not end the watching: the next change is built
                _log.exception("a change could not be acted on; watching goes on")

    def _wait_for_burst(self) -> ChangeSet | None:
        while not self._stopped:
            if not self._pending:
                self._condition.wait()
                continue
            now = time.monotonic()
            due = min(self._last + self._quiet, self._first + self._max_wait)
            if now >= due:
                changes = ChangeSet(frozenset(self._pending), self._first)
                self._pending.clear()
                return changes
            self._condition.wait(due - now)
        return None


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: Watcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        self._watcher.notice(event)


class Watcher:
    """Watches `targets` with watchdog and feeds relevant changes to a `Debouncer`.

    Folders that do not exist yet are noticed when they are created: their nearest
    existing parent is watched too. `on_notice`, if given, is called on the observer's
    thread at each relevant change, before its burst is reported: while `on_change`
    runs for the burst before, too.
    """

    def __init__(
        self,
        targets: WatchTargets,
        on_change: Callable[[ChangeSet], None],
        on_notice: Callable[[], None] | None = None,
    ) -> None:
        self._given = targets
        self._targets = _resolved(targets)
        self._on_change = on_change
        self._on_notice = on_notice
        self._resync = threading.Event()
        self._debouncer = Debouncer(self._report)
        self._observer: BaseObserver = Observer()
        self._handler = _Handler(self)
        self._watches: dict[tuple[Path, bool], tuple[ObservedWatch, tuple[int, int]]] = {}
        """Each watch, with the folder it was scheduled on (device and inode)."""
        self._lock = threading.Lock()

    @property
    def targets(self) -> WatchTargets:
        return self._targets

    def start(self) -> None:
        # The file-watching library warns, listing every folder watched, when a folder
        # copied in is seen twice (as new, and while its parent is walked): harmless,
        # and it would bury the builds' reports.
        warnings.filterwarnings(
            "ignore", "Callback with id .* already exists", RuntimeWarning, r"watchdog\."
        )
        self._debouncer.start()
        self._sync()
        self._observer.start()

    def stop(self) -> None:
        """Stop watching; wait for a callback in progress (a rebuild) to finish."""
        self._debouncer.stop()
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join(timeout=5)

    def retarget(self, targets: WatchTargets) -> None:
        """Watch other folders and files from now on (the theme or config changed).

        Call it before `start` or from the `on_change` callback, never from elsewhere.
        """
        resolved = _resolved(targets)
        with self._lock:
            if resolved == self._targets and targets == self._given:
                return
            self._given, self._targets = targets, resolved
        self._sync()

    def notice(self, event: FileSystemEvent) -> None:
        if event.event_type not in _RELEVANT_EVENTS:
            return  # opened, closed: the build itself reading files
        if event.is_directory and event.event_type in ("modified", "attrib"):
            return  # reported for the parent of any changed entry, swap files too
        paths = [Path(os.fsdecode(p)) for p in (event.src_path, event.dest_path) if p]
        targets, given = self._targets, self._given
        named = [p for p in paths if p in given.folders or p in given.files]
        relevant = [p for p in paths if is_relevant(p, targets)] + named
        if named or (event.is_directory and any(p in targets.folders for p in paths)):
            # A watched folder (or a link to one) appeared, went away or was replaced.
            # Rescheduled on the debouncer's thread: the observer holds its own lock
            # while it calls us.
            self._resync.set()
        if relevant:
            self._debouncer.add(relevant)
            if self._on_notice is not None:
                self._on_notice()

    def _report(self, changes: ChangeSet) -> None:
        if self._resync.is_set():
            self._resync.clear()
            self._sync()
        self._on_change(changes)

    def _sync(self) -> None:
        """Watch what the targets name now: a link may lead elsewhere, and a folder
        renamed away is followed by its watch, so one whose path holds another folder
        now (a swap by rename) is watched again."""
        with self._lock:
            self._targets = _resolved(self._given)
            wanted = {point: _identity(point[0]) for point in _watch_points(self._targets)}
            for key, (watch, identity) in list(self._watches.items()):
                if wanted.get(key) != identity:
                    del self._watches[key]
                    with contextlib.suppress(KeyError):  # its emitter already stopped
                        self._observer.unschedule(watch)
            for (folder, recursive), found in sorted(wanted.items()):
                if (folder, recursive) in self._watches or found is None:
                    continue
                try:
                    watch = self._observer.schedule(self._handler, folder, recursive=recursive)
                except OSError:
                    continue  # vanished meanwhile; its parent's watch brings it back
                self._watches[folder, recursive] = watch, found


def _identity(folder: Path) -> tuple[int, int] | None:
    """The folder's device and inode; None if it is not there."""
    try:
        found = folder.stat()
    except OSError:
        return None
    return found.st_dev, found.st_ino


def _resolved(targets: WatchTargets) -> WatchTargets:
    def resolve(paths: tuple[Path, ...]) -> tuple[Path, ...]:
        return tuple(dict.fromkeys(Path(os.path.realpath(p)) for p in paths))

    return WatchTargets(resolve(targets.folders), resolve(targets.files), resolve(targets.ignored))


def _watch_points(targets: WatchTargets) -> Iterable[tuple[Path, bool]]:
    """(folder, recursive) pairs to schedule: each existing target folder, and the
    nearest existing parent of each file and of each missing folder."""
    folders = [f for f in targets.folders if f.is_dir()]
    # A folder inside another watched folder is already covered.
    for folder in folders:
        if not any(folder != other and folder.is_relative_to(other) for other in folders):
            yield folder, True
    for path in (*targets.files, *(f for f in targets.folders if not f.is_dir())):
        parent = path.parent
        while not parent.is_dir() and parent != parent.parent:
            parent = parent.parent
        if not any(parent == f or parent.is_relative_to(f) for f in folders):
            yield parent, False
