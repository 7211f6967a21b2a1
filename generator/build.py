"""The build: every stage of the pipeline, in order, returning a report.

config -> load -> assemble -> plan -> render -> write. Gathers all data first, then
writes; raises `BuildError` when nothing could be built. Never prints, never exits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path

from generator.config import load_config
from generator.diagnostics import Diagnostic, Severity, sort_key
from generator.feeds import render_feeds
from generator.loader import load_articles
from generator.plan import check_unique_paths, plan_pages
from generator.render import check_templates, make_environment, render_pages
from generator.site import assemble_site
from generator.sitemap import render_robots, render_sitemap
from generator.theme import collect_static, find_theme
from generator.writer import WriteReport, write_site


@dataclass(frozen=True, slots=True)
class BuildOptions:
    output_dir: Path | None = None
    """Defaults to `output/` in the site folder."""
    base_url: str | None = None
    drafts: bool = False
    strict: bool = False
    write: bool = True
    """False for `check`: everything is built in memory, nothing is written."""
    keep_stale_on_errors: bool = False
    """When articles are set aside, keep the previous build's files that this build no
    longer makes, so a preview keeps showing a broken article's last good page."""


@dataclass(frozen=True, slots=True)
class BuildReport:
    articles: int
    pages: int
    feeds: int
    diagnostics: tuple[Diagnostic, ...]
    seconds: float
    written: WriteReport | None
    """None when nothing was written (`check`, or `--strict` with problems)."""

    @property
    def errors(self) -> int:
        return sum(d.is_error for d in self.diagnostics)

    @property
    def warnings(self) -> int:
        return len(self.diagnostics) - self.errors

    @property
    def exit_code(self) -> int:
        return 1 if self.errors else 0


def build(site_dir: Path, options: BuildOptions = BuildOptions()) -> BuildReport:
    started = time.perf_counter()
    config = load_config(site_dir)
    if options.base_url:
        config = config.with_base_url(options.base_url)
    theme = find_theme(site_dir, config.theme)
    env = make_environment(theme, config)
    check_templates(env)
    loaded = load_articles(site_dir, config.tz)
    assembled = assemble_site(config, loaded.articles, drafts=options.drafts)
    site = assembled.site
    pages = plan_pages(site)
    feeds = render_feeds(site)
    files = (
        *render_pages(env, site, pages),
        *feeds,
        render_sitemap(site, pages),
        render_robots(site),
        *collect_static(theme),
    )
    check_unique_paths(f.path for f in files)
    diagnostics = tuple(sorted(loaded.diagnostics + assembled.diagnostics, key=sort_key))
    if options.strict:
        diagnostics = tuple(replace(d, severity=Severity.ERROR) for d in diagnostics)
    blocked = options.strict and bool(diagnostics)
    written = None
    if options.write and not blocked:
        prune = not (options.keep_stale_on_errors and any(d.is_error for d in diagnostics))
        written = write_site(options.output_dir or site_dir / "output", files, prune=prune)
    return BuildReport(
        articles=len(site.articles),
        pages=len(pages),
        feeds=len(feeds),
        diagnostics=diagnostics,
        seconds=time.perf_counter() - started,
        written=written,
    )
