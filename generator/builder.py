"""The build: every stage of the pipeline, in order, returning a report.

config -> load -> assemble -> plan -> render -> write. Gathers all data first, then
renders what changed and writes it in one commit; raises `BuildError` when nothing
could be built. For the preview, also writes an edited article's own page ahead of
its build (`write_edited_first`). Never prints, never exits.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import hashlib
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jinja2

import generator.collector as collector
from generator.cache import CACHE_DIR, BuildCache, LastBuild, PageRecord, Remembered
from generator.config import load_config
from generator.diagnostics import (
    BuildCancelled,
    BuildError,
    Diagnostic,
    Severity,
    error,
    sort_key,
    stop_if_cancelled,
)
from generator.feeds import Feed, plan_feeds, render_feed
from generator.fingerprint import KnownPage, PageDigests, Settled, Spelling
from generator.loader import (
    CONTENT_DIR,
    ArticleFiles,
    FileColumns,
    Loaded,
    as_columns,
    content_signature,
    find_article_files,
    from_columns,
    load_articles,
    load_file,
    source_digest,
    still_as_read,
)
from generator.markup import ENGINES
from generator.model import (
    Article,
    CopiedFile,
    OutputFile,
    Page,
    Site,
    Term,
    linked,
    pointing_at,
    showing,
)
from generator.parallel import (
    default_jobs,
    fork_available,
    forks,
    in_background,
    parallel_map,
    shared,
)
from generator.plan import check_nesting, check_unique_paths, folders_of, plan_pages
from generator.render import check_templates, make_environment, render_page, render_pages
from generator.site import Assembled, assemble_site
from generator.sitemap import render_robots, render_sitemaps
from generator.theme import (
    ROOT_DIR,
    TemplateDigests,
    Theme,
    collect_static,
    find_theme,
    skipped_templates,
    source_identity,
    static_signature,
    template_digests,
)
from generator.version import __version__
from generator.writer import (
    Manifest,
    OutputWriter,
    Staged,
    WriteReport,
    files_present,
    manifest_digest,
    stage,
)

PAGES_PER_POOL = 16_384
"""Pages rendered by one set of workers before fresh ones are forked. A worker touches
the objects of every page it renders, and each touch copies the parent's memory page
holding the object; fresh workers keep those copies to what so many pages use (pages
go to workers in date order, so they touch nearby objects). A site of up to about
10,000 articles is rendered by one set, which keeps every listing card it rendered."""

COMPARED_IN_WORKERS_FROM = 4_096
"""Pages from which a command-line build compares the pages' digests with the last
build's in workers, a share of the pages each."""


@dataclass(frozen=True, slots=True)
class BuildOptions:
    output_dir: Path | None = None
    """Defaults to `output/` in the site folder."""
    base_url: str | None = None
    drafts: bool = False
    strict: bool = False
    write: bool = True
    """False for `check`: everything is built in memory, nothing is written."""
    keep_last_good: bool = False
    """When articles are set aside, publish the last good version of each until its file
    is fixed: an edit that breaks a live article changes nothing on the site. And keep
    the addresses the last build published: a live article keeps its numbered slug, a
    topic or source its slug, and an edit or new file never takes them."""
    jobs: int = 0
    """Worker processes; 0 means one per CPU."""
    cache: bool = True
    """Use `.broadsheet-cache/` to skip unchanged files and pages."""
    now: datetime | None = None
    """The moment the site is published at, for `hide_future` (default: the clock's)."""


@dataclass(eq=False)
class Session:
    """What a process that builds one site again and again (the preview) keeps between
    builds: what it holds of the build cache, and the last build's articles with their
    fingerprints, taken again for articles whose links come out the same."""

    cache: Remembered = field(default_factory=Remembered)
    articles: dict[str, Article] = field(default_factory=dict)
    """The last build's assembled articles, by source path."""
    spelled: list[Spelling] = field(default_factory=list)
    """Its articles, with the spelling their fingerprints were made from."""
    pages: dict[str, KnownPage] = field(default_factory=dict)
    """The pages it checked, by path, with their digests."""
    site: Site | None = None
    env: jinja2.Environment | None = None
    """The site it wrote and the templates it rendered it with."""
    manifest: Manifest | None = None
    """The output's manifest as the last commit wrote it."""

    @property
    def filled(self) -> bool:
        """Whether a build has left anything here. Until one has, a build goes through
        every stage even when the output is up to date, so the next one, perhaps for
        a single edit, finds everything here."""
        return self.cache.files is not None

    def forget(self) -> None:
        self.cache.forget()
        self.articles, self.spelled, self.pages = {}, [], {}
        self.site, self.env, self.manifest = None, None, None


@dataclass(frozen=True, slots=True)
class BuildReport:
    articles: int
    pages: int
    feeds: int
    diagnostics: tuple[Diagnostic, ...]
    seconds: float
    written: WriteReport | None
    """None when nothing was written (`check`, or `--strict` with problems)."""
    parsed: int = 0
    """Article files parsed (the rest came from the cache)."""
    rendered: int = 0
    """Pages rendered (the rest were unchanged)."""
    next_due: datetime | None = None
    """When the first article held back for its future date (`hide_future`) is due: a
    build from then on publishes it."""

    @property
    def errors(self) -> int:
        return sum(d.is_error for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def build(
    site_dir: Path,
    options: BuildOptions = BuildOptions(),
    session: Session | None = None,
    cancel: threading.Event | None = None,
    leave: list[object] | None = None,
) -> BuildReport:
    """Build the site. A process that builds the same site again and again (the preview)
    passes the same `session` each time: what it holds is then not read or worked out
    again. Once `cancel` is set, the build stops at its next step with `BuildCancelled`,
    unless it is already committing its files; the session is then fit for the next
    build. A process about to exit passes a list as `leave`: what the build made is left
    there on return rather than freed object by object (0.3 s at 100,000 articles),
    since the system takes the memory back at once. Other builds without a session
    leave garbage cycles to be collected as any Python objects' are; a caller keeping a
    session collects when it sees fit (the preview does once quiet)."""
    collecting = collector.pause()  # until the pages to render are known
    try:
        try:
            return _build(site_dir, options, collecting, session, cancel, leave)
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError):
                raise  # locked or full, not damaged
            # Pages of the cache were damaged where opening it does not look. Once the
            # writer has cleaned up, the build runs again without it, from scratch.
            if session is not None:
                session.forget()
            note = BuildCache.discard(site_dir, str(exc))
            return _build(site_dir, options, collecting, session, cancel, leave, (note,))
    except BaseException as exc:
        # A cancelled build stops between steps, before its commit: the manifest and the
        # page records in the session are still the last commit's, and the articles,
        # spellings and pages it may have put there are taken again only where they are
        # the very objects a later build meets. Other failures may stop anywhere.
        if session is not None and not isinstance(exc, BuildCancelled):
            session.forget()  # the next build starts afresh
        if isinstance(exc, BuildError):
            diagnostics = tuple(_in_site(d, site_dir) for d in exc.diagnostics)
            raise BuildError(diagnostics, exc.midway) from None
        raise
    finally:
        collector.end(collecting, keep_in_step=session is None and leave is None)


def write_edited_first(
    site_dir: Path, paths: Iterable[Path], session: Session, output_dir: Path | None = None
) -> WriteReport | None:
    """Ahead of the build for a change to the files at `paths`, write the pages of the
    articles among them, as the preview does so the page being edited shows the edit
    at once. Only where each file changed is an article the last build (whose `session`
    this is) published, still parses without errors, and stands where it stood, linked
    as it was (`_stands_as`): its page is then the one the build will write, but for
    what it shows of other articles, which the build brings up to date (and, until it
    does, other pages show of it). Files gone that were no article (an editor's
    temporary files) are passed over. None, writing nothing, if that does not hold for
    every file, or no page changed. Into `output_dir` (default: the site's `output/`)."""
    site, env = session.site, session.env
    if site is None or env is None:
        return None
    folder = Path(os.path.realpath(site_dir))
    pages = []
    for path in paths:
        shown = _site_relative(folder, path)
        if shown is None:
            return None
        before = session.articles.get(shown)
        if before is None:
            if os.path.lexists(path):
                return None  # a new file, or one that is no article
            continue
        known = session.pages.get(before.path)
        if known is None or known.page.article is not before:
            return None
        config = site.config
        article, notes = load_file(folder / shown, shown, folder, config.tz, config.max_file_size)
        if article is None or any(note.is_error for note in notes):
            return None
        if not _stands_as(article, before):
            return None
        links = (before.topics, before.source, before.related, before.previous, before.next)
        pages.append(showing(known.page, linked(article, *links, before.more_from_topics)))
    if not pages:
        return None
    with OutputWriter(output_dir or site_dir / "output", session.manifest) as out:
        if out.fresh:
            return None
        out.keep_all()
        for page in pages:
            rendered = render_page(env, site, page, _body_parsed)
            if isinstance(rendered, Diagnostic):
                return None
            out.add(rendered.path, rendered.data)
        if not out.staged:
            return None
        report = out.commit()
    session.manifest = out.written
    return report


def built_as_they_are(site_dir: Path, paths: Iterable[Path], session: Session) -> bool:
    """Whether the last build (whose `session` this is) read the files at `paths` as they
    are now: each holds the very bytes of an article that build published. A change
    saved while a build was under way may have been read by it: the preview then needs
    no build of its own for it."""
    site = session.site
    if site is None:
        return False
    folder = Path(os.path.realpath(site_dir))
    for path in paths:
        shown = _site_relative(folder, path)
        if shown is None:
            return False
        before = session.articles.get(shown)
        if before is None or not before.source_hash:
            return False  # no article of the last build: a new file, a template, ...
        try:
            raw = (folder / shown).read_bytes()
        except OSError:
            return False
        if source_digest(raw, site.config.tz) != before.source_hash:
            return False
    return True


def _site_relative(folder: Path, path: Path) -> str | None:
    """`path` (links resolved) from the site's `folder` (resolved), with `/` separators,
    as the session's articles are keyed; None if it is outside the site."""
    try:
        return Path(os.path.realpath(path)).relative_to(folder).as_posix()
    except ValueError:
        return None


def _stands_as(article: Article, before: Article) -> bool:
    """Whether `article`, parsed anew, stands where `before` stood when the last build
    published it, linked as it was: at the same address, date and visibility, with the
    same topics, source, addresses and related items, which decide what it links to
    and what links to it."""

    def key(term: Term | None) -> str | None:
        return term.key if term is not None else None

    return (
        (article.path, article.published) == (before.path, before.published)
        and (article.draft, article.is_published) == (before.draft, before.is_published)
        and [key(t) for t in article.topics] == [key(t) for t in before.topics]
        and key(article.source) == key(before.source)
        and article.web_url_key == before.web_url_key
        and article.original_url_key == before.original_url_key
        and article.related == tuple(pointing_at(item, None, "") for item in before.related)
    )


def _body_parsed(article: Article) -> str:
    """The body of an article parsed in this process (which holds it)."""
    return article.body_html or ""


def _in_site(diagnostic: Diagnostic, site_dir: Path) -> Diagnostic:
    """The diagnostic naming a file of the site (a template) from the site's folder, as
    articles are named."""
    path = Path(diagnostic.path)
    if not path.is_absolute():
        return diagnostic
    for folder in (os.path.abspath(site_dir), site_dir.resolve()):  # as given, or its target
        with contextlib.suppress(ValueError, OSError):
            return replace(diagnostic, path=path.relative_to(folder).as_posix())
    return diagnostic


def _build(
    site_dir: Path,
    options: BuildOptions,
    collecting: bool,
    session: Session | None,
    cancel: threading.Event | None,
    leave: list[object] | None,
    damaged: tuple[Diagnostic, ...] = (),
) -> BuildReport:
    """The build; `damaged` notes a cache found damaged by an attempt before."""
    started = time.perf_counter()
    now = options.now or datetime.now(UTC)
    config = load_config(site_dir)
    if options.base_url is not None:
        config = config.with_base_url(options.base_url)
    theme = find_theme(site_dir, config.theme)
    jobs = options.jobs or default_jobs()
    output = options.output_dir or site_dir / "output"
    if options.write:
        _check_output(site_dir, output)
    templates = template_digests(theme)
    salt = f"{__version__}|{config!r}"  # each page adds the templates it loaded
    scratch = contextlib.ExitStack()
    remembered = session.cache if session else None
    cache, notes = _open_cache(site_dir, options, config.tz, remembered, scratch)
    notes = damaged + notes
    if leave is not None:
        leave.append(cache)  # with what it read, perhaps ahead of a build with nothing to do
    try:
        last = cache.last_build()
        with _finding_files(site_dir, cache, last, jobs, session is None, cancel) as finding:
            inputs = _inputs_digest(finding.signature(), theme, options, salt, templates)
            up_to_date = (
                last is not None
                and _up_to_date(last.inputs, inputs, options)
                and (last.next_due is None or now < last.next_due)
            )
            same = options.write and up_to_date and (session is None or session.filled)
            if same and last is not None and last.manifest == manifest_digest(output):
                as_read, settled = still_as_read(site_dir, last.unsettled, config.tz)
                if as_read:
                    if settled:  # their times tell changes from now on
                        cache.settle(settled)
                        trusted = {path for path, *_ in settled}
                        left = tuple(f for f in last.unsettled if f[0] not in trusted)
                        cache.put_last_build(replace(last, unsettled=left))
                    return _nothing_to_do(last, notes + cache.unsaved, started)
            cache.read_ahead(until=finding.ready)  # while the files come
            files = finding.files()
        compiled = site_dir / CACHE_DIR / "templates" if options.cache and options.write else None
        env = make_environment(theme, config, compiled)
        check_templates(env)
        loaded = load_articles(
            site_dir, config.tz, cache, jobs, config.max_file_size, files, cancel
        )
        stop_if_cancelled(cancel)
        reuse = session.articles if session else None
        kept = _last_good_versions(loaded, options)
        articles = (*loaded.articles, *kept.values()) if kept else loaded.articles
        stand_ins = loaded.unpublished if options.keep_last_good else None
        published = last.addresses if last is not None and stand_ins is not None else None
        assembled = assemble_site(
            config, articles, options.drafts, reuse, now, stand_ins, published, cancel
        )
        # The parse results, with the versions published last of the files that changed
        # since: those stay the site's until a build writes its own (not a build that
        # stops or writes nothing, as `--strict` does).
        cache.put_files({file.shown for file in files}, loaded.unpublished)
        published_last = _published_last(loaded, assembled)
        kept_any = bool(kept or assembled.stood_in)
        keepable = any(article is not None for article in published_last.values())
        stop_if_cancelled(cancel)
        # The assembled site holds new copies of the articles: let the loaded ones go
        # before workers fork, so they neither inherit nor copy them.
        parsed, found = loaded.parsed, loaded.diagnostics + assembled.diagnostics
        unsettled = loaded.unsettled
        next_due = assembled.next_due
        found += skipped_templates(theme)
        del articles, loaded
        digests = _digests(salt, assembled.site, session, templates)
        beside = options.write and session is None
        settled_digests = scratch.enter_context(_settling(digests, jobs, beside))
        planned = _plan(assembled.site, theme, session, cancel)
        previous = cache.pages() if options.write else {}  # the last build's records
        stop_if_cancelled(cancel)
        site, pages, feeds = planned.site, planned.pages, planned.feeds
        found += planned.skipped
        if options.strict:  # the content's problems; the cache's notes stay warnings
            found = tuple(replace(d, severity=Severity.ERROR) for d in found)
        diagnostics = tuple(sorted(notes + found, key=sort_key))
        written, rendered = None, 0
        if not options.write:
            collector.resume(collecting)
            in_order = sorted(pages, key=_newest_shown)  # the order `_write` renders in
            rendering = render_pages(env, site, in_order, cache.bodies, jobs, PAGES_PER_POOL)
            rendered = sum(1 for _ in rendering)
            for feed in feeds:
                render_feed(site, feed, cache.bodies)
        elif not (options.strict and found):
            written, rendered = _write(
                output,
                env,
                planned,
                cache,
                previous,
                settled_digests,
                jobs,
                collecting,
                session,
                cancel,
            )
            manifest = written.manifest
            counts = (
                len(site.articles),
                len(pages),
                len(feeds),
                written.unchanged + written.written,
            )
            made_from = inputs + _last_good_mark(options, kept_any, keepable)
            last_build = LastBuild(
                made_from, manifest, *counts, found, next_due, unsettled, assembled.addresses
            )
            cache.put_last_build(last_build, published_last)
            if cache.unsaved:
                diagnostics = tuple(sorted(diagnostics + cache.unsaved, key=sort_key))
    except sqlite3.OperationalError as exc:  # full, or read-only: not damaged
        raise BuildError((_cache_unwritable(cache, site_dir, exc),)) from None
    finally:
        cache.close()
        scratch.close()
    if leave is not None:
        leave.extend((planned, digests, previous, files))
    return BuildReport(
        articles=len(site.articles),
        pages=len(pages),
        feeds=len(feeds),
        diagnostics=diagnostics,
        seconds=time.perf_counter() - started,
        written=written,
        parsed=parsed,
        rendered=rendered,
        next_due=next_due,
    )


def _cache_unwritable(
    cache: BuildCache, site_dir: Path, exc: sqlite3.OperationalError
) -> Diagnostic:
    """Why a build stopped before writing anything: its cache (the site's, or one in a
    temporary folder for `check`) could not be written."""
    where = CACHE_DIR
    if cache.path is not None and not cache.path.is_relative_to(site_dir / CACHE_DIR):
        where = str(cache.path.parent)
    return error(
        where,
        None,
        f"the build cache cannot be written ({exc}); free some space or fix the folder's "
        f"permissions (deleting {CACHE_DIR}/ is safe)",
    )


def _last_good_versions(loaded: Loaded, options: BuildOptions) -> dict[str, Article]:
    """With `keep_last_good`, the last good version of each file set aside now, by file
    path, with its body. The build publishes it as it did before the file broke, so a
    broken edit changes nothing on the site until the file is fixed."""
    return dict(loaded.last_good) if options.keep_last_good else {}


def _published_last(loaded: Loaded, assembled: Assembled) -> dict[str, Article | None]:
    """The version the builds so far published last of each file not published as it
    is now (none, for one they never published): those the loader found for the files
    it set aside, and for those the assembler did (their slug is taken); and none for a
    hidden one (a draft), which a later build then takes as new."""
    published: dict[str, Article | None] = dict.fromkeys(assembled.hidden)
    published.update((path, loaded.previous.get(path)) for path in assembled.slug_taken)
    published.update(loaded.last_good)  # a version kept for a file may be set aside too
    return published


SCANNED_BESIDE_CACHE_FROM = 4_096
"""Articles in the last build from which a command-line build finds the article files
in another process, while this one reads the cache's parse results."""


class _Found:
    """The article files as they are found: first their signature (enough to tell that
    nothing changed), then the files themselves."""

    def __init__(
        self, values: Callable[[], str | FileColumns], ready: Callable[[], bool] = lambda: True
    ) -> None:
        self._values = values
        self.ready = ready
        """Whether the next value is here (asking for it now would not wait)."""

    def signature(self) -> str:
        value = self._values()
        assert isinstance(value, str)
        return value

    def files(self) -> ArticleFiles:
        value = self._values()
        assert isinstance(value, tuple)
        return from_columns(value)


@contextlib.contextmanager
def _finding_files(
    site_dir: Path,
    cache: BuildCache,
    last: LastBuild | None,
    jobs: int,
    beside: bool,
    cancel: threading.Event | None,
) -> Iterator[_Found]:
    """The article files. With `beside`, for a site that was large at its last build,
    found by a forked process while this one reads ahead the parse results the build
    will need unless nothing changed (until the files' signature comes: whether
    anything changed is asked first; the build reads on while the files come). Found
    here, they stop with `BuildCancelled` once `cancel` is set."""
    large = last is not None and last.articles >= SCANNED_BESIDE_CACHE_FROM
    if not (beside and large and jobs > 1 and fork_available()):
        yield _Found(functools.partial(next, _found_files(site_dir, cancel)))
        return
    with in_background(_found_files, {"site_dir": site_dir}) as found:
        cache.read_ahead(until=found.ready)
        yield _Found(found, found.ready)


def _found_files(
    site_dir: Path | None = None, cancel: threading.Event | None = None
) -> Iterator[str | FileColumns]:
    """Every article file of the site in `site_dir` (in a worker, the one shared): first
    the files' signature, then the files, as columns."""
    files = find_article_files(site_dir or shared("site_dir"), cancel)
    yield content_signature(files)
    yield as_columns(files)


_SOURCE_DIRS = (CONTENT_DIR, "static", "templates", "themes", ROOT_DIR, CACHE_DIR)
"""Folders of a site that a build reads (or keeps its cache in): never an output."""


def _check_output(site_dir: Path, output: Path) -> None:
    """`BuildError` for an output folder the build cannot or must not write to."""
    # `realpath`, not `resolve`: a link in a loop is a folder that cannot be written.
    site, target = Path(os.path.realpath(site_dir)), Path(os.path.realpath(output))
    inside = [name for name in _SOURCE_DIRS if target.is_relative_to(os.path.realpath(site / name))]
    if output.is_symlink() and not output.exists():
        problem = (
            f"is a link to {os.readlink(output)}, which does not exist (or is a link in a "
            "loop); create that folder, or build into another folder with -o"
        )
    elif output.exists() and not output.is_dir():
        problem = "is a file, not a folder; move it away, or build into another folder with -o"
    elif site.is_relative_to(target):
        problem = "is the site's folder or holds it; build into a folder of its own (output/)"
    elif inside:
        problem = f"is inside {inside[0]}/, which the build reads; build into another folder"
    else:
        return
    raise BuildError((error(str(output), None, f"the output folder {problem}"),))


def _inputs_digest(
    signature: str, theme: Theme, options: BuildOptions, salt: str, templates: TemplateDigests
) -> str:
    """Everything a build reads, down to each file's size and time, and the options that
    change what it writes: equal digests (and an intact output) mean the build would
    write exactly what is there. Where the output goes is left out (the output's own
    manifest is checked), and so is whether a build with errors publishes the last good
    versions of the articles set aside: a build that did, or could have, says so
    (`_last_good_mark`). So is the moment of the build: the last build says when an
    article it held back for its date is due."""
    chosen = replace(options, jobs=0, output_dir=None, keep_last_good=False, now=None)
    parts = (salt, templates.whole, repr(chosen), signature, static_signature(theme))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


_KEPT_LAST_GOOD = "+kept last good versions"
_LEFT_OUT_LAST_GOOD = "+left out last good versions"


def _last_good_mark(options: BuildOptions, kept: bool, keepable: bool) -> str:
    """What follows the inputs digest of a build that published the last good versions of
    articles set aside (as the command line and the preview do), or that had some and did
    not: only a build that does the same may take its output as is."""
    if options.keep_last_good:
        return _KEPT_LAST_GOOD if kept else ""
    return _LEFT_OUT_LAST_GOOD if keepable else ""


def _up_to_date(last_inputs: str, inputs: str, options: BuildOptions) -> bool:
    """Whether the last build, made from `last_inputs`, wrote what a build of `inputs`
    with these options would (given an intact output)."""
    mark = _KEPT_LAST_GOOD if options.keep_last_good else _LEFT_OUT_LAST_GOOD
    return last_inputs in (inputs, inputs + mark)


def _nothing_to_do(last: LastBuild, notes: tuple[Diagnostic, ...], started: float) -> BuildReport:
    return BuildReport(
        articles=last.articles,
        pages=last.pages,
        feeds=last.feeds,
        diagnostics=tuple(sorted(notes + last.diagnostics, key=sort_key)),
        seconds=time.perf_counter() - started,
        written=WriteReport(written=0, unchanged=last.files, removed=0),
        next_due=last.next_due,
    )


def _open_cache(
    site_dir: Path,
    options: BuildOptions,
    tz: ZoneInfo,
    remembered: Remembered | None,
    scratch: contextlib.ExitStack,
) -> tuple[BuildCache, tuple[Diagnostic, ...]]:
    """The site's cache for parse results in the time zone `tz`; or, for a build that
    does not use it (`check`, `cache=False`) or cannot, a new one in a temporary folder
    (deleted when `scratch` closes), which keeps article bodies out of memory all the
    same."""
    # Parse results depend on the generator, its Markdown and sanitiser versions, and
    # the time zone (a file whose size and time are unchanged is not read again, so
    # its digest, which holds the zone too, is not looked at).
    stamp = f"{__version__}|cache 38|{ENGINES}|{tz}"
    notes: tuple[Diagnostic, ...] = ()
    if options.cache and options.write:
        cache, notes = BuildCache.open(site_dir, stamp, remembered)
        if cache.enabled:
            return cache, notes
    with contextlib.suppress(OSError):
        folder = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="broadsheet-")))
        cache, _ = BuildCache.open(folder, stamp)  # disabled if it cannot be made
        return cache, notes
    return BuildCache.disabled(), notes


@dataclass(frozen=True, slots=True)
class _Planned:
    """Every file a build makes, before any is rendered."""

    site: Site
    pages: tuple[Page, ...]
    feeds: tuple[Feed, ...]
    extras: tuple[OutputFile, ...]
    """Files made without templates: sitemaps, `robots.txt`."""
    copies: tuple[CopiedFile, ...]
    """The theme's and the site's static files, and the site's `root/` files."""
    skipped: tuple[Diagnostic, ...]
    """Why static entries were not published."""


def _plan(
    site: Site, theme: Theme, session: Session | None, cancel: threading.Event | None
) -> _Planned:
    """The site's pages, feeds and other files; `BuildError` if two share a path.
    `BuildCancelled` once `cancel` is set, as the pages are planned or after."""
    reuse = {path: known.page for path, known in session.pages.items()} if session else None
    pages = plan_pages(site, reuse, cancel)
    stop_if_cancelled(cancel)
    feeds = plan_feeds(site)
    static, skipped = collect_static(theme)
    own_robots = any(f.path == "robots.txt" for f in static)  # the site's root/ has one
    robots = () if own_robots else (render_robots(site),)
    sitemaps = render_sitemaps(site, pages)
    _check_root_files(static, [*pages, *feeds, *sitemaps])
    extras = (*sitemaps, *robots)
    files = [*(f.path for f in extras), *(f.path for f in static)]
    check_unique_paths([*(p.output_path for p in pages), *(f.path for f in feeds), *files])
    if any(not f.path.startswith("static/") for f in static):  # root/ may clash with pages
        check_nesting([*files, *(p.output_path for p in pages)])
    else:
        check_nesting(files)  # pages and feeds have paths of their own
    return _Planned(site, pages, feeds, extras, static, skipped)


def _check_root_files(
    static: tuple[CopiedFile, ...], made_here: list[Page | Feed | OutputFile]
) -> None:
    """`BuildError` naming each file of the site's `root/` on the path of a page, feed
    or sitemap the build writes (`made_here`): at it, in a folder of that name, or
    named as a folder holding one."""
    from_root = {f.path for f in static if not f.path.startswith("static/")}
    if not from_root:
        return
    made = {f.output_path if isinstance(f, Page) else f.path for f in made_here}
    in_order = sorted(made)

    def holds_one(folder: str) -> bool:
        after = bisect.bisect_left(in_order, folder + "/")
        return after < len(in_order) and in_order[after].startswith(folder + "/")

    clashes = sorted(
        p for p in from_root if p in made or any(f in made for f in folders_of(p)) or holds_one(p)
    )
    if clashes:
        message = "is on the path of a page, feed or sitemap the build writes; rename it"
        raise BuildError(tuple(error(f"{ROOT_DIR}/{p}", None, message) for p in clashes))


def _digests(
    salt: str, site: Site, session: Session | None, templates: TemplateDigests
) -> PageDigests:
    if session is None:
        return PageDigests(salt, site, templates=templates)
    return PageDigests(salt, site, session.spelled, session.pages, templates)


SETTLED_BESIDE_PLAN_FROM = 4_096
"""Articles from which a command-line build spells them all for their fingerprints in
another process, while this one plans the pages."""


@contextlib.contextmanager
def _settling(digests: PageDigests, jobs: int, beside: bool) -> Iterator[Callable[[], PageDigests]]:
    """Settle the `digests` (spell every article of the site) in a forked process, if
    `beside` and the site is large enough; else they settle later, in this process,
    when first needed. Gives what to call for the digests once they are wanted: its
    first call waits for that process, so all the build does until then (planning the
    pages, getting the output folder ready) runs beside it."""
    large = len(digests.site.articles) >= SETTLED_BESIDE_PLAN_FROM
    if not (beside and large and jobs > 1 and fork_available()):
        yield lambda: digests
        return
    with in_background(_settled, {"digests": digests}) as settled:
        adopted = False

        def adopt() -> PageDigests:
            nonlocal adopted
            if not adopted:
                digests.adopt(settled())
                adopted = True
            return digests

        yield adopt


def _settled() -> Iterator[Settled]:
    """In a worker: the digests of the site, settled."""
    digests: PageDigests = shared("digests")
    yield digests.settled()


def _write(
    output: Path,
    env: jinja2.Environment,
    planned: _Planned,
    cache: BuildCache,
    previous: dict[str, PageRecord],
    settled: Callable[[], PageDigests],
    jobs: int,
    collecting: bool,
    session: Session | None,
    cancel: threading.Event | None,
) -> tuple[WriteReport, int]:
    """Render the pages and feeds whose inputs changed since the last build (whose
    records are `previous`) and commit them with the other files (a feed reads nothing
    but its own fields and the settings, which the salt holds); leave in `session`
    what the next build can take again. `settled()` gives the pages' digests (waiting
    for them, if they settle in another process meanwhile). `BuildCancelled` once
    `cancel` is set, until the files are committed."""
    site = planned.site
    records: dict[str, PageRecord] = {}
    pages = sorted(planned.pages, key=_newest_shown)
    with OutputWriter(output, session.manifest if session else None) as out:
        out.make_way(
            [
                *(page.output_path for page in pages),
                *(feed.path for feed in planned.feeds),
                *(file.path for file in planned.extras),
                *(file.path for file in planned.copies),
            ]
        )
        digests = settled()
        changed_feeds: list[tuple[Feed, str]] = []
        for feed in planned.feeds:
            digest = digests.of_feed(feed)
            record = previous.get(feed.path)
            if record and record.digest == digest and out.keep(feed.path, record.output_sha):
                records[feed.path] = record
            else:
                changed_feeds.append((feed, digest))
        render = {
            "env": env,
            "site": site,
            "body_of": cache.bodies,
            "out": out.output_dir,
            "previous": out.previous,
            "fresh": out.fresh,
            "digests": digests,
        }
        # A session learns each page's digest, so its build compares them in this process.
        in_workers = session is None
        compared = _compare(
            pages, previous, digests, changed_feeds, out, jobs, render, in_workers, cancel
        )
        stop_if_cancelled(cancel)
        for result in compared.rendered:
            _take(result, out, records)
        todo: list[Page] = []
        for index, page in enumerate(pages):
            if index in compared.to_render:
                todo.append(page)
            elif index not in compared.changed:
                record = records[page.output_path] = previous[page.output_path]
                out.keep(page.output_path, record.output_sha, checked=True)
        feeds = [] if compared.feeds_rendered else changed_feeds
        # Only pages enough to pay for forking are rendered by workers, and the feeds go
        # with them; a few are rendered here.
        pooled = forks(len(todo), jobs)
        if pooled:
            digests.settle()  # before workers fork
        if session is not None:
            session.articles = {a.source_path: a for a in site.articles}
            session.spelled = digests.spelling()
            session.site, session.env = site, env
        collector.resume(collecting)  # fingerprinting every page above makes no cycles
        share = {**render, "feeds": feeds, "pages": todo}
        # Feeds come first: they go to one worker in the first batch, pages to the others.
        to_render, workers = range(len(feeds) + len(todo)), jobs if pooled else 1
        if pooled:
            out.lend()
        rendering = parallel_map(
            _render_and_stage, to_render, workers, share=share, per_pool=PAGES_PER_POOL
        )
        # Closed on the way out, before the writer cleans up: the workers have stopped
        # staging files by then, so none is left behind.
        with contextlib.closing(rendering):
            for result in rendering:
                _take(result, out, records)
                stop_if_cancelled(cancel)
        for file in planned.extras:
            out.add(file.path, file.data)
        _copy_files(planned.copies, out, previous, records, cancel)
        report = out.commit()
    cache.put_pages(records, previous)
    if session is not None:
        session.manifest = out.written
        known = digests.known_pages()
        for page in todo:  # those rendered by workers are learnt here, for next time
            if page.path not in known:
                digests.of(page, records[page.output_path].uses)
        session.pages = known
    return report, len(compared.changed)


def _copy_files(
    files: tuple[CopiedFile, ...],
    out: OutputWriter,
    previous: dict[str, PageRecord],
    records: dict[str, PageRecord],
    cancel: threading.Event | None,
) -> None:
    """Stage the static and root `files`, each with its record in `records`: the
    identity of its source and the digest of its bytes. `BuildError` naming every file
    that could not be read; `BuildCancelled` once `cancel` is set."""
    unreadable = []
    for file in files:
        stop_if_cancelled(cancel)
        copied = _copied(file, out, previous.get(file.path))
        if isinstance(copied, Diagnostic):
            unreadable.append(copied)
        else:
            records[file.path] = copied
    if unreadable:
        raise BuildError(tuple(unreadable))


def _copied(
    file: CopiedFile, out: OutputWriter, record: PageRecord | None
) -> PageRecord | Diagnostic:
    """Keep the copy of `file` the last build made (its `record`), without reading
    either file, if its source has the path, size and times it had when read then
    (`source_identity`) and the copy is still there; or else stage it (`OutputWriter.copy`).
    With no record (a first build, or the cache deleted), a file already at the
    target is read back rather than taken from the manifest, as a rendered page is."""
    now_ns = time.time_ns()  # before the file is measured
    if record is not None:
        with contextlib.suppress(OSError):  # gone or unreadable: `copy` says which
            identity = source_identity(file.source, os.stat(file.source), now_ns)
            if identity and identity == record.digest and out.keep(file.path, record.output_sha):
                return record
    copied = out.copy(file.path, file.source, read_back=record is None)
    if isinstance(copied, Diagnostic):
        return copied
    digest, status = copied
    return PageRecord(source_identity(file.source, status, now_ns), digest, frozenset())


def _newest_shown(page: Page) -> tuple[bool, datetime | None]:
    """Pages are rendered in order of the newest article they show (those showing none
    first): a set of workers then renders pages that show the same articles, whose
    cards and fingerprints it keeps, and touches nearby objects of the parent's memory."""
    shown = page.article or (page.items[0] if page.items else None)
    return (shown is not None, shown.published if shown else None)


Made = tuple[Staged, PageRecord] | Diagnostic
"""A page or feed rendered and staged, with its record; or why it could not be."""


def _take(result: Made, out: OutputWriter, records: dict[str, PageRecord]) -> None:
    """Take in one rendered page or feed; `BuildError` if it could not be rendered."""
    if isinstance(result, Diagnostic):
        raise BuildError((result,))
    staged, record = result
    out.record(staged)
    records[staged.relative] = record


RENDERED_WHILE_COMPARING = 1_024
"""Changed pages up to which a worker comparing a share of the pages renders those it
finds changed at once. More go to fresh workers, which keep their memory bounded."""


@dataclass(frozen=True, slots=True)
class _Compared:
    changed: set[int]
    """The indexes of the pages (in date order) whose inputs changed, or whose file is gone."""
    to_render: set[int]
    """Those of them still to render."""
    rendered: list[Made]
    """What the workers that compared the pages rendered."""
    feeds_rendered: bool = False
    """Whether they rendered the changed feeds too."""


def _compare(
    pages: list[Page],
    previous: dict[str, PageRecord],
    digests: PageDigests,
    feeds: list[tuple[Feed, str]],
    out: OutputWriter,
    jobs: int,
    render: dict[str, object],
    in_workers: bool,
    cancel: threading.Event | None,
) -> _Compared:
    """Which of the `pages` (in date order) to render: those the last build did not make
    from the same digest (by its `previous` records), or whose file is gone.

    With `in_workers`, a large site's pages are compared by fresh workers, a share each
    (their digests take longer than forking does), which render the changed pages of
    their share, if few, with what `render` holds; one more renders the `feeds`.
    Compared here, they stop with `BuildCancelled` once `cancel` is set."""
    compare = in_workers and bool(previous) and len(pages) >= COMPARED_IN_WORKERS_FROM
    shares = jobs if compare else 1
    if shares == 1:
        changed = set(
            _changed_in_share(pages, previous, digests, out.output_dir, out.previous, cancel)
        )
        return _Compared(changed, changed, [])
    digests.settle()  # every article is spelled once, here: the workers look it up
    check = {**render, "pages": pages, "records": previous, "shares": shares, "feeds": feeds}
    compared = _Compared(set(), set(), [], feeds_rendered=True)
    out.lend()
    tasks = parallel_map(_compare_and_render, range(shares + 1), jobs, check, batch_size=1)
    with contextlib.closing(tasks):  # before the writer cleans up, as for rendering
        for indexes, rendered in tasks:
            compared.changed.update(indexes)
            if rendered is None:
                compared.to_render.update(indexes)
            else:
                compared.rendered.extend(rendered)
    return compared


def _compare_and_render(task: int) -> tuple[list[int], list[Made] | None]:
    """In a worker: the indexes of the changed pages in one share of the date-ordered
    pages, and what rendering them gave (None when there were too many to render
    here); or, for the task after the last share, the changed feeds rendered."""
    pages, shares = shared("pages"), shared("shares")
    if task == shares:
        return [], [_staged_feed(feed, digest) for feed, digest in shared("feeds")]
    first, stop = task * len(pages) // shares, (task + 1) * len(pages) // shares
    changed = _changed_in_share(
        pages[first:stop], shared("records"), shared("digests"), shared("out"), shared("previous")
    )
    indexes = [first + index for index in changed]
    if len(indexes) > RENDERED_WHILE_COMPARING:
        return indexes, None
    return indexes, [_staged_page(pages[index]) for index in indexes]


def _changed_in_share(
    pages: list[Page],
    records: dict[str, PageRecord],
    digests: PageDigests,
    out: Path,
    previous: dict[str, str],
    cancel: threading.Event | None = None,
) -> list[int]:
    """The indexes of the `pages` to render, in order: those the last build did not make
    from the same digest (by its `records`), or whose file is gone (by its manifest,
    `previous`, and then the output folder, looked at once all are digested).
    `BuildCancelled` once `cancel` is set."""
    changed, made = [], []
    for index, page in enumerate(pages):
        if not index % 1024:
            stop_if_cancelled(cancel)
        path = page.output_path
        record = records.get(path)
        if (
            record
            and digests.of(page, record.uses) == record.digest
            and previous.get(path) == record.output_sha
        ):
            made.append(index)
        else:
            changed.append(index)
    present = files_present(str(out), [pages[index].output_path for index in made], cancel)
    gone = [index for index, there in zip(made, present, strict=True) if not there]
    return sorted(changed + gone) if gone else changed


def _render_and_stage(index: int) -> Made:
    """Render one feed (the first indexes) or page, stage its file and fingerprint it: in
    a worker, with the feeds, pages, templates and last manifest inherited from the
    parent, so only small results travel."""
    feeds: list[tuple[Feed, str]] = shared("feeds")
    if index < len(feeds):
        return _staged_feed(*feeds[index])
    return _staged_page(shared("pages")[index - len(feeds)])


def _staged_feed(feed: Feed, digest: str) -> Made:
    staged = _stage(feed.path, render_feed(shared("site"), feed, shared("body_of")).data)
    if isinstance(staged, Diagnostic):
        return staged
    return staged, PageRecord(digest, staged.digest, frozenset())


def _staged_page(page: Page) -> Made:
    rendered = render_page(shared("env"), shared("site"), page, shared("body_of"))
    if isinstance(rendered, Diagnostic):
        return rendered
    staged = _stage(rendered.path, rendered.data)
    if isinstance(staged, Diagnostic):
        return staged
    digest = shared("digests").of(page, rendered.uses)
    return staged, PageRecord(digest, staged.digest, rendered.uses)


def _stage(relative: str, data: bytes) -> Staged | Diagnostic:
    try:
        return stage(shared("out"), shared("previous"), relative, data, shared("fresh"))
    except BuildError as exc:
        return exc.diagnostics[0]
