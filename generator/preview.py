"""The preview: `broadsheet serve`'s loop of build, serve, watch, rebuild and notify.

Owns the order of things: a first build, then the server and the watcher; each burst
of changes gives one full rebuild (none if it came while the build before was under
way and that build read it as it is), whose outcome is published to open pages
(reload, or the error overlay) and handed to the caller's callback; an edited
article's own page may be written and reloaded ahead of it. A change noticed while a
build is under way stops that build, unless it fills the session or took over from a
stopped one: the change's own build follows at once. What builds leave is kept out of
the collector's reach but when the preview is quiet. Never prints, never exits.
"""

from __future__ import annotations

import gc
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from generator.builder import (
    BuildOptions,
    BuildReport,
    Session,
    build,
    built_as_they_are,
    write_edited_first,
)
from generator.config import load_config, named_base_path
from generator.diagnostics import BuildCancelled, BuildError, Diagnostic, error
from generator.parallel import release
from generator.server import EventHub, PreviewServer, SiteStatus
from generator.theme import ROOT_DIR, find_theme, linked_template_folders
from generator.watch import ChangeSet, Watcher, WatchTargets

CACHE_DIR = ".broadsheet-cache"
DUE_MARGIN = 0.2
"""Seconds after an article held back for its date is due that the preview rebuilds."""
LONGEST_WAIT = 86_400.0
"""Seconds after which a preview waiting for an article's date looks at the clock again."""
QUIET_BEFORE_COLLECTING = 10.0
"""Seconds without a build after which the preview looks for garbage among what its
builds left (`Preview._collect`)."""


@dataclass(frozen=True, slots=True)
class PreviewOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    """The first port tried; the next free one is taken if it is in use. 0: any."""
    drafts: bool = False


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    """One build of the preview, for the caller to report."""

    number: int
    changes: ChangeSet | None
    """What set the build off; None for the first build."""
    report: BuildReport | None
    """None when nothing could be built: the last good site is still served."""
    diagnostics: tuple[Diagnostic, ...]
    crash: str | None = None
    """The traceback, when the build raised something other than `BuildError`."""
    due: bool = False
    """Whether the clock set the build off: an article held back for its date came due."""
    took_over: bool = False
    """Whether the build took over from one stopped for a newer save (`Preview._overtake`)."""

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)


@dataclass(frozen=True, slots=True)
class _UnderWay:
    """The build under way: what stops it, and whether a change noticed meanwhile does
    (`Preview._overtake`)."""

    cancel: threading.Event
    overtakable: bool


class Preview:
    """Builds `site_dir` into its `output/`, serves it and rebuilds it on changes.

    Binds the port at once (an `OSError` if it cannot); `start` builds and begins
    serving and watching; `stop` cancels a build in progress, which stops at its next
    step (or ends, if it is committing its files), so `output/` is left complete.
    """

    def __init__(
        self, site_dir: Path, options: PreviewOptions, on_build: Callable[[BuildOutcome], None]
    ) -> None:
        self.site_dir = site_dir.resolve()
        self.output_dir = self.site_dir / "output"
        self.options = options
        self._on_build = on_build
        self._builds = 0
        """Builds published so far."""
        self._session = Session()
        """What one build leaves for the next."""
        self._building = threading.Lock()
        """Held by every build: they share the session and the output folder."""
        self._theme_folders: tuple[Path, ...] = ()
        self.hub = EventHub()
        self.server = PreviewServer(self.output_dir, self.hub, options.host, options.port)
        self._watcher = Watcher(self._watch_targets(), self._rebuild, self._overtake)
        self._first: threading.Thread | None = None
        self._built = threading.Event()
        """Set once the first build has ended."""
        self._watching = threading.Event()
        """Set once changes are watched (or the preview stops before they are)."""
        self._cancel = threading.Event()
        """Set by `stop`: a build under way stops at its next step."""
        self._under_way: _UnderWay | None = None
        self._setting_under_way = threading.Lock()
        """Held while `_under_way` is replaced or its build is stopped."""
        self._overtaken = False
        """Whether the last build was stopped for a newer save: the next one is not."""
        self.warm = threading.Event()
        """Set once the session is filled (or will not be: the preview stopped)."""
        self._due: threading.Timer | None = None
        """Rebuilds when the next article held back for its date (`hide_future`) is due."""
        self._setting_due = threading.Lock()
        """Held while `_due` is replaced (by a build, or by the timer itself)."""
        self._last_build = (0.0, 0.0)
        """When the last build that ended without an exception began and ended
        (`time.monotonic()`)."""
        self._collecting: threading.Timer | None = None
        """Collects garbage once the preview is quiet (`_collect`)."""
        self._setting_collecting = threading.Lock()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def watched(self) -> WatchTargets:
        return self._watcher.targets

    @property
    def building(self) -> bool:
        """Whether a build is under way (`stop` cancels it and waits for it to stop)."""
        return self._building.locked()

    def start(self) -> None:
        # The first builds run on a thread of their own so that Ctrl-C, which lands on
        # the main thread, cannot cut one short anywhere: `stop` cancels them instead,
        # which they check between steps.
        self._first = threading.Thread(target=self._first_builds, name="broadsheet-build")
        self._first.start()
        while not self._built.wait(timeout=0.2):  # in slices, so a signal's handler can run
            pass
        self.server.start()
        self._watcher.start()
        self._watching.set()

    def stop(self) -> None:
        self._cancel.set()
        with self._setting_under_way:
            if self._under_way is not None:
                self._under_way.cancel.set()
        self._watching.set()  # a session not yet being filled is not filled
        if self._first is not None and self._first.is_alive():
            self._first.join()
        with self._setting_due:
            due = self._due
        if due is not None:
            due.cancel()
            if due.is_alive():  # rebuilding: the build stops at its next step
                due.join()
        with self._setting_collecting:
            collecting = self._collecting
        if collecting is not None:
            collecting.cancel()
            collecting.join()
        self._watcher.stop()
        self.server.stop()
        gc.unfreeze()  # the process's collector as the preview found it

    def _first_builds(self) -> None:
        """The command line's build, which only looks when `output/` is up to date, so
        the site is served at once; then, while it is served and watched, a build that
        fills the session, so the first change rebuilds as quickly as the next. (Filling
        it reads every article: seconds at 10,000, tens of seconds at 100,000.)"""
        try:
            self._build_and_publish(None, None)
        finally:
            self._built.set()
        try:
            self._watching.wait()
            if self._cancel.is_set():  # stopping
                return
            with self._building:
                outcome = self._build(None, self._session)
                if outcome is None:
                    return
                written = outcome.report.written if outcome.report else None
                # Published only if the site changed since the first build looked and
                # this build wrote it (a failure is left to the rebuild the change sets off).
                wrote = written is not None and (written.written or written.removed) > 0
                if wrote:
                    self._publish(outcome)
            if wrote:
                self._on_build(outcome)
        finally:
            self.warm.set()

    def _rebuild(self, changes: ChangeSet) -> None:
        self._build_and_publish(changes, self._session)

    def _overtake(self) -> None:
        """On a change noticed (on the watcher's thread), stop the build under way: the
        change's own build, its edited page first, then follows at once instead of
        once that build has ended. Neither the build filling the session (the first
        edits wait for it) nor one that took over from a stopped build is stopped, so
        a stream of saves cannot keep every build from ending."""
        with self._setting_under_way:
            under_way = self._under_way
            if under_way is not None and under_way.overtakable:
                under_way.cancel.set()

    def _come_due(self, moment: datetime) -> None:
        if self._cancel.is_set():
            return
        if datetime.now(UTC) < moment:  # woken early, for a moment far ahead
            self._set_due(moment)
            return
        self._build_and_publish(None, self._session, due=True)

    def _build_and_publish(
        self, changes: ChangeSet | None, session: Session | None, due: bool = False
    ) -> None:
        with self._building:
            if changes is not None and session is not None:
                if self._read_already(changes, session):
                    return
                self._publish_first(changes, session)
            outcome = self._build(changes, session, due)
            if outcome is None:
                return  # cancelled: the preview is stopping, or a newer save's build follows
            self._publish(outcome)
            self._watcher.retarget(self._watch_targets())
        self._on_build(outcome)

    def _publish(self, outcome: BuildOutcome) -> None:
        errors = tuple(_overlay_line(d) for d in outcome.errors)
        warnings = tuple(str(d) for d in outcome.diagnostics if not d.is_error)
        status = SiteStatus(
            outcome.number,
            errors,
            warnings,
            _reload_kind(outcome),
            self._base_path(),
            _pages_changed(outcome.report.written.changed)
            if outcome.report and outcome.report.written
            else None,
        )
        self._builds = outcome.number
        self.hub.publish(status)

    def _read_already(self, changes: ChangeSet, session: Session) -> bool:
        """Whether the `changes` were saved while the last build was under way, and it read
        them as they are now: it published them, and they need no build of their own.
        (Not after a build with errors, which may have published older versions of
        articles: a build of their own says whether those stand.)"""
        began, ended = self._last_build
        return (
            began <= changes.began < ended
            and not self.hub.status.errors
            and built_as_they_are(self.site_dir, changes.paths, session)
        )

    def _publish_first(self, changes: ChangeSet, session: Session) -> None:
        """Write the pages of the edited articles at once, and reload them, when their
        build would write them as they are now but for what they show of other articles
        (`write_edited_first`); the build that follows brings those up to date."""
        try:
            written = write_edited_first(self.site_dir, changes.paths, session, self.output_dir)
        except Exception:  # the build that follows reports whatever this ran into
            return
        if written is not None:
            ahead = self.hub.status.first + 1  # the build before may have been stopped
            status = replace(self.hub.status, reload="page", pages=written.changed, first=ahead)
            self.hub.publish(status)

    def _build(
        self, changes: ChangeSet | None, session: Session | None, due: bool = False
    ) -> BuildOutcome | None:
        """The outcome of one build; None if it was cancelled. A build that succeeds sets
        the rebuild for when the next article it held back for its date is due."""
        number = self._builds + 1
        options = BuildOptions(
            output_dir=self.output_dir, drafts=self.options.drafts, keep_last_good=True
        )
        took_over = self._overtaken
        overtakable = session is not None and session.filled and not took_over
        under_way = _UnderWay(threading.Event(), overtakable)
        with self._setting_under_way:
            if self._cancel.is_set():
                under_way.cancel.set()
            self._under_way = under_way
        self._overtaken = False
        began = time.monotonic()
        try:
            report = build(self.site_dir, options, session, under_way.cancel)
            self._last_build = (began, time.monotonic())
        except BuildCancelled:
            self._overtaken = True
            return None
        except BuildError as exc:
            return BuildOutcome(number, changes, None, exc.diagnostics, None, due, took_over)
        except Exception as exc:  # a bug must not end the preview: report it, keep serving
            problem = error("(build)", None, f"the build crashed: {type(exc).__name__}: {exc}")
            crash = traceback.format_exc()
            return BuildOutcome(number, changes, None, (problem,), crash, due, took_over)
        finally:
            with self._setting_under_way:
                self._under_way = None
            # The build's site and pages stay published for its workers until released:
            # freed now, between builds, not while the next build loads its own.
            release()
            # What the build left (the session: millions of objects at 100,000 articles)
            # is kept out of the collector's own runs, whose full passes over it would
            # stall the server and the next edit for a second or more at unforeseen
            # moments; the preview looks for garbage among it once quiet.
            gc.freeze()
            self._collect_later()
        self._set_due(report.next_due)
        return BuildOutcome(number, changes, report, report.diagnostics, None, due, took_over)

    def _set_due(self, moment: datetime | None) -> None:
        """Rebuild at `moment` (once, unless the preview stops), instead of when the
        last build said."""
        with self._setting_due:
            if self._due is not None:
                self._due.cancel()
                self._due = None
            if moment is None or self._cancel.is_set():
                return
            delay = (moment - datetime.now(UTC)).total_seconds() + DUE_MARGIN
            wait = min(max(delay, 0.0), LONGEST_WAIT)  # a timer cannot wait for centuries
            self._due = threading.Timer(wait, self._come_due, (moment,))
            self._due.daemon = True
            self._due.name = "broadsheet-due"
            self._due.start()

    def _collect_later(self) -> None:
        """Collect garbage (`_collect`) once no build has run for `QUIET_BEFORE_COLLECTING`
        seconds: each build puts it off again."""
        with self._setting_collecting:
            if self._collecting is not None:
                self._collecting.cancel()
                self._collecting = None
            if self._cancel.is_set():
                return
            self._collecting = threading.Timer(QUIET_BEFORE_COLLECTING, self._collect)
            self._collecting.daemon = True
            self._collecting.name = "broadsheet-collect"
            self._collecting.start()

    def _collect(self) -> None:
        """A full collection over everything builds left, frozen again after it: what a
        rebuild replaced (articles, pages, rendering's cycles) is freed. About 1.5 s at
        100,000 articles, during which the server waits; skipped if a build is under
        way, which asks for another."""
        if self._cancel.is_set() or not self._building.acquire(blocking=False):
            return
        try:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        finally:
            self._building.release()

    def _base_path(self) -> str:
        try:
            return load_config(self.site_dir).base_path
        except BuildError:  # the last good site is served where site.yaml says, if it can
            return named_base_path(self.site_dir) or self.hub.status.base_path

    def _watch_targets(self) -> WatchTargets:
        site = self.site_dir
        try:
            theme = find_theme(site, load_config(site).theme)
            linked = linked_template_folders(theme)
            self._theme_folders = (*theme.template_dirs, *linked, *theme.static_dirs)
        except BuildError:
            pass  # a broken site.yaml: keep watching the theme we had
        folders = (
            site / "content",
            site / "templates",
            site / "static",
            site / "themes",
            site / ROOT_DIR,
        )
        return WatchTargets(
            folders=(*folders, *self._theme_folders),
            files=(site / "site.yaml",),
            ignored=(self.output_dir, site / CACHE_DIR),
        )


PAGE_SUFFIXES = (".html", ".xml", ".txt")
"""Files no page shows but itself: pages, feeds and sitemaps, `robots.txt`."""
PAGES_NAMED_UP_TO = 1_000
"""Changed files a build's status names at most: more, and every open page reloads."""


def _pages_changed(changed: tuple[str, ...]) -> tuple[str, ...] | None:
    """The files a build changed, for open pages to tell whether theirs is one; None if
    a page may show one of them (a stylesheet, an image), or they are too many to
    send to every page."""
    if len(changed) > PAGES_NAMED_UP_TO:
        return None
    return changed if all(path.endswith(PAGE_SUFFIXES) for path in changed) else None


def _reload_kind(outcome: BuildOutcome) -> Literal["page", "css", "none"]:
    if outcome.report is None:
        return "none"  # the build failed: the output is as it was
    written = outcome.report.written
    if written is not None and written.written == 0 and written.removed == 0:
        return "none"  # e.g. a file saved unchanged: no reason to reload
    css_only = outcome.changes is not None and outcome.changes.css_only
    # A stylesheet a template includes changes the pages too: they are reloaded.
    return "css" if css_only and not outcome.report.rendered else "page"


def _overlay_line(diagnostic: Diagnostic) -> str:
    where = diagnostic.path if diagnostic.line is None else f"{diagnostic.path}:{diagnostic.line}"
    return f"{where}: {diagnostic.message}"
