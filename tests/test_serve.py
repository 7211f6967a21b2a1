"""`broadsheet serve`: a real server on a free port, real HTTP, a real watcher.

Content types, path safety, the base path and 404 page, the injected script, rebuilds
on changes (one per burst, none for ignored files), live-reload events, the error
status while a file is broken, and a clean stop, from the library and the command.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest
from serving import TIMEOUT, EventStream, Served, fetch, running, wait_until, write

from conftest import SITE_YAML, MakeSite, article
from generator import builder as builder_module
from generator import preview as preview_module
from generator.builder import BuildOptions, BuildReport, Session, build
from generator.cli import _report_outcome
from generator.parallel import shared
from generator.preview import BuildOutcome, Preview, PreviewOptions
from generator.server import byte_range
from generator.watch import ChangeSet, Watcher, WatchTargets, is_relevant

ARTICLE_URL = "/2024/05/01/first-story/"
FILES = {
    "content/first.md": article("First story", body="The first body.", topics="[Harbours]"),
    "content/second.md": article("Second story", "2024-05-02T10:00:00Z"),
    "static/logo.svg": '<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"/>',
}
SECRET = "top-secret-outside-the-output"
QUIET = 1.0
"""Long enough after a change for any rebuild it would cause to have started."""

Serve = Callable[..., Served]


@pytest.fixture
def serve(make_site: MakeSite) -> Iterator[Serve]:
    with ExitStack() as stack:

        def start(files: dict[str, str] | None = None) -> Served:
            return stack.enter_context(running(make_site({**FILES, **(files or {})})))

        yield start


@pytest.mark.parametrize(
    ("relative", "relevant"),
    [
        ("content/2024/story.md", True),
        ("content/images/photo.jpg", True),
        ("site.yaml", True),
        ("templates/article.html", True),
        ("static/style.css", True),
        ("content/.story.md.swp", False),
        ("content/.story.md.swx", False),
        ("content/story.md~", False),
        ("content/#story.md#", False),
        ("content/.#story.md", False),
        ("content/4913", False),
        ("content/story.md.tmp", False),
        ("content/.git/index", False),
        ("root/CNAME", True),
        ("root/.well-known/security.txt", True),
        ("root/.git/config", False),
        ("output/index.html", False),
        (".broadsheet-cache/articles", False),
        ("README.md", False),
        ("site.yaml~", False),
    ],
)
def test_which_changes_count(tmp_path: Path, relative: str, relevant: bool) -> None:
    site = tmp_path / "site"
    folders = (
        site / "content",
        site / "templates",
        site / "static",
        site / "root",
        site / "output",
    )
    targets = WatchTargets(
        folders=folders,
        files=(site / "site.yaml",),
        ignored=(site / "output", site / ".broadsheet-cache"),
    )
    assert is_relevant(site / relative, targets) is relevant


def test_pages_feeds_and_assets_have_their_content_types(serve: Serve) -> None:
    served = serve()
    expected = {
        "/": "text/html",
        ARTICLE_URL: "text/html",
        "/topics/harbours/": "text/html",
        "/feed.xml": "application/rss+xml",
        "/topics/harbours/feed.xml": "application/rss+xml",
        "/atom.xml": "application/atom+xml",
        "/sitemap.xml": "application/xml",
        "/robots.txt": "text/plain",
        "/static/style.css": "text/css",
        "/static/logo.svg": "image/svg+xml",
    }
    for path, media_type in expected.items():
        response = served.request(path)
        assert response.status == 200, path
        assert response.media_type == media_type, path
        assert int(response.headers["content-length"]) == len(response.body)
    assert served.request("/").headers["content-type"] == "text/html; charset=utf-8"
    assert "First story" in served.request(ARTICLE_URL).text
    head = served.request(ARTICLE_URL, method="HEAD")
    assert head.status == 200 and head.body == b""


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("bytes=0-9", (0, 10)),
        ("bytes=5-", (5, 10)),
        ("bytes=-3", (7, 10)),
        ("bytes=-30", (0, 10)),
        ("bytes=2-1000", (2, 10)),
        ("bytes=0-0,5-6", None),
        ("bytes=9-3", None),
        ("bytes=x-3", None),
        ("items=0-1", None),
        ("bytes=10-", "416"),
        ("bytes=-0", "416"),
    ],
)
def test_which_bytes_a_range_header_asks_for(header: str | None, expected: object) -> None:
    if expected == "416":
        with pytest.raises(ValueError):
            byte_range(header, 10)
    else:
        assert byte_range(header, 10) == expected


def test_a_file_is_served_in_part_when_a_range_is_asked_for(serve: Serve) -> None:
    served = serve({"static/clip.mp4": "0123456789" * 10})
    whole = served.request("/static/clip.mp4")
    assert whole.status == 200 and whole.headers["accept-ranges"] == "bytes"
    part = served.request("/static/clip.mp4", headers={"Range": "bytes=10-14"})
    assert part.status == 206 and part.body == b"01234"
    assert part.headers["content-range"] == "bytes 10-14/100"
    assert part.headers["content-type"] == "video/mp4"
    tail = served.request("/static/clip.mp4", headers={"Range": "bytes=-3"})
    assert tail.status == 206 and tail.body == b"789"
    beyond = served.request("/static/clip.mp4", headers={"Range": "bytes=100-"})
    assert beyond.status == 416 and beyond.headers["content-range"] == "bytes */100"
    missing = served.request("/nothing/", headers={"Range": "bytes=0-1"})
    assert missing.status == 404 and b"</body>" in missing.body


def test_methods_and_files_a_browser_may_ask_about(serve: Serve) -> None:
    served = serve({"root/CNAME": "news.example.org\n"})
    cname = served.request("/CNAME")
    assert cname.status == 200 and cname.media_type == "text/plain"
    for method in ("POST", "PUT", "DELETE", "OPTIONS"):
        refused = served.request("/__broadsheet/status", method=method)
        assert refused.status == 405 and refused.headers["allow"] == "GET, HEAD", method
    events = served.request("/__broadsheet/events", method="HEAD")
    assert events.status == 200 and events.media_type == "text/event-stream"


def test_a_large_file_is_sent_whole_or_in_part_across_many_reads(serve: Serve) -> None:
    served = serve()
    data = bytes(range(256)) * (3 * 4096 + 7)  # 3 MiB and a little: several reads
    big = served.site / "output/static/big.bin"  # served as it is, as a rebuild leaves it
    big.write_bytes(data)
    whole = served.request("/static/big.bin")
    assert whole.status == 200 and whole.body == data
    assert whole.headers["content-length"] == str(len(data))
    part = served.request("/static/big.bin", headers={"Range": "bytes=10-2097161"})
    assert part.status == 206 and part.body == data[10:2097162]
    head = served.request("/static/big.bin", method="HEAD", headers={"Range": "bytes=-5"})
    assert head.status == 206 and head.body == b"" and head.headers["content-length"] == "5"


def test_well_known_files_are_served_and_the_writer_s_files_are_not(serve: Serve) -> None:
    served = serve({"root/.well-known/security.txt": "Contact: mailto:desk@example.org\n"})
    found = served.request("/.well-known/security.txt")
    assert found.status == 200 and found.text.startswith("Contact:")
    assert served.request("/.broadsheet-manifest").status == 404


def test_a_folder_without_its_slash_redirects(serve: Serve) -> None:
    response = serve().request(ARTICLE_URL.rstrip("/"))
    assert response.status in (301, 302)
    assert response.headers["location"] == ARTICLE_URL


TRAVERSALS = (
    "/../etc/passwd",
    "/../../../../../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
    "/static/..%2f..%2fsite.yaml",
    "/static/..%2F..%2Fsecret.txt",
    "/static/%2e%2e/%2e%2e/site.yaml",
    "/static/../../site.yaml",
    "/static/..\\..\\site.yaml",
    "/static/%5c..%5c..%5csite.yaml",
    "/..%5c..%5csite.yaml",
    "/index.html%00.txt",
    "/%00/etc/passwd",
    "//etc/passwd",
    "/etc/passwd",
    "/leak.txt",
    "/linked/secret.txt",
    "/linked/site/site.yaml",
    "/linked/",
    "/.broadsheet-manifest",
)


def test_nothing_outside_the_output_folder_is_served(serve: Serve) -> None:
    served = serve()
    outside = served.site.parent
    (outside / "secret.txt").write_text(SECRET, encoding="utf-8")
    (served.output / "leak.txt").symlink_to(outside / "secret.txt")
    (served.output / "linked").symlink_to(outside, target_is_directory=True)
    for path in TRAVERSALS:
        response = served.request(path)
        assert response.status in (403, 404), path
        assert SECRET not in response.text, path
        assert "root:" not in response.text, path
        assert "base_url" not in response.text, path
    assert served.request("/%2e%2e/%2e%2e/etc/passwd").status == 403
    assert served.request("/leak.txt").status == 403


def test_a_site_under_a_path_is_served_there(serve: Serve) -> None:
    served = serve({"site.yaml": SITE_YAML.replace("test.example/", "test.example/news/")})
    page = served.request("/news" + ARTICLE_URL)
    assert page.status == 200
    assert 'href="/news/static/style.css"' in page.text
    for path in ("/", "/news"):
        response = served.request(path)
        assert response.status in (301, 302), path
        assert response.headers["location"] == "/news/"
    assert served.request("/news/").status == 200
    assert served.request("/news/feed.xml").media_type == "application/rss+xml"
    assert served.request(ARTICLE_URL).status == 404  # outside the base path


def test_a_site_under_a_path_is_served_there_while_its_settings_are_broken(
    make_site: MakeSite,
) -> None:
    config = SITE_YAML.replace("test.example/", "test.example/news/")
    site = make_site({**FILES, "site.yaml": config})
    build(site, BuildOptions())  # the last good site
    (site / "site.yaml").write_text(config + "per_page: -3\n")
    with running(site) as served:
        assert served.status()["errors"] and served.status()["base_path"] == "/news/"
        assert served.request("/news/").status == 200
        assert served.request("/news/static/style.css").status == 200


def test_a_site_under_a_path_with_accents_and_spaces_is_served_there(serve: Serve) -> None:
    served = serve({"site.yaml": SITE_YAML.replace("test.example/", "test.example/la une/")})
    base = "/la%20une/"  # as the pages link to it
    page = served.request(base + ARTICLE_URL.lstrip("/"))
    assert page.status == 200
    assert f'href="{base}static/style.css"' in page.text
    assert served.request(base + "static/style.css").media_type == "text/css"
    for path in ("/", "/la%20une"):
        response = served.request(path)
        assert response.status in (301, 302), path
        assert response.headers["location"] == base
    missing = served.request(base + "no/such/page/")
    assert missing.status == 404
    own = (served.output / "404.html").read_text(encoding="utf-8")
    assert own.split("</head>")[0] in missing.text  # the site's own 404 page


def test_redirects_keep_the_query_and_files_have_no_slash_after_them(serve: Serve) -> None:
    served = serve()
    response = served.request(ARTICLE_URL.rstrip("/") + "?ref=feed")
    assert response.headers["location"] == ARTICLE_URL + "?ref=feed"
    for path in ("/feed.xml/", "/index.html/", "/static/style.css/"):
        assert served.request(path).status == 404, path
    assert served.request("/feed.xml?x=1").status == 200


def test_unknown_paths_get_the_404_page_with_status_404(serve: Serve) -> None:
    served = serve()
    not_found = (served.output / "404.html").read_text(encoding="utf-8")
    title = re.search(r"<title>(.*?)</title>", not_found)
    assert title is not None
    for path in ("/no/such/page/", "/missing.html", "/2024/05/01/nope/"):
        response = served.request(path)
        assert response.status == 404, path
        assert response.media_type == "text/html"
        assert title.group(0) in response.text
        assert "/__broadsheet/live.js" in response.text


def test_the_script_is_injected_into_served_html_only(serve: Serve) -> None:
    served = serve()
    tag = re.compile(r'<script src="/__broadsheet/live\.js"[^>]*></script>\s*</body>')
    for path in ("/", ARTICLE_URL, "/topics/"):
        assert len(tag.findall(served.request(path).text)) == 1, path
    assert "__broadsheet" not in served.request("/feed.xml").text
    assert "__broadsheet" not in served.request("/static/style.css").text
    files = [p for p in served.output.rglob("*") if p.is_file()]
    assert any(p.suffix == ".html" for p in files)
    assert [p for p in files if b"__broadsheet" in p.read_bytes()] == []
    script = served.request("/__broadsheet/live.js")
    assert script.status == 200 and script.media_type == "text/javascript"
    assert "EventSource" in script.text and "textContent" in script.text
    assert "innerHTML" not in script.text
    own = re.compile(r'data-file="([^"]*)"')
    assert own.findall(served.request(ARTICLE_URL).text) == [ARTICLE_URL[1:] + "index.html"]
    assert own.findall(served.request("/").text) == ["index.html"]
    assert own.findall(served.request("/no/such/page/").text) == [""]  # reloads for any


def test_a_new_article_appears_and_pages_are_told_to_reload(serve: Serve) -> None:
    served = serve()
    events = served.events()
    try:
        first = events.next()
        assert first["builds"] == 1 and first["errors"] == []
        assert served.request("/2024/05/03/fresh-news/").status == 404
        write(served.site / "content/fresh.md", article("Fresh news", "2024-05-03T08:00:00Z"))
        event = events.next()
        assert event["builds"] == 2 and event["errors"] == [] and event["reload"] == "page"
        page = served.request("/2024/05/03/fresh-news/")
        assert page.status == 200 and "Fresh news" in page.text
        assert "Fresh news" in served.request("/").text
    finally:
        events.close()


def test_a_status_names_the_files_changed_when_no_page_shows_them_and_they_are_few() -> None:
    named = preview_module._pages_changed
    assert named(("index.html", "feed.xml", "robots.txt")) == (
        "index.html",
        "feed.xml",
        "robots.txt",
    )
    assert named(()) == ()
    assert named(("index.html", "static/logo.svg")) is None  # any page may show it
    many = tuple(f"{n}/index.html" for n in range(preview_module.PAGES_NAMED_UP_TO + 1))
    assert named(many[:-1]) == many[:-1]
    assert named(many) is None


def test_an_edited_article_s_page_is_written_and_reloaded_ahead_of_its_build(
    serve: Serve,
) -> None:
    """Pages are told which files changed: first the edited article's own page, written
    as soon as the edit is read, then what its build changed besides."""
    served = serve()
    page = ARTICLE_URL.strip("/") + "/index.html"
    events = served.events()
    try:
        assert events.next()["builds"] == 1
        edited = article(
            "First story", body="The first body.\n\nA new paragraph.", topics="[Harbours]"
        )
        write(served.site / "content/first.md", edited)
        ahead = events.next()
        assert (ahead["builds"], ahead["first"], ahead["pages"]) == (1, True, [page])
        assert ahead["reload"] == "page" and ahead["build"].endswith("-1-first1")
        built = events.next()
        assert (built["builds"], built["first"]) == (2, False)
        assert page not in built["pages"]  # its build wrote it as it was written ahead
        assert all(p.endswith((".html", ".xml")) for p in built["pages"])
        assert "A new paragraph." in served.request(ARTICLE_URL).text
        write(served.site / "static/logo.svg", FILES["static/logo.svg"] + "\n")
        assert events.next()["pages"] is None  # any page may show an image
    finally:
        events.close()


def test_an_article_held_back_for_its_date_is_published_once_it_comes_due(serve: Serve) -> None:
    due = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=5)
    served = serve(
        {
            "site.yaml": SITE_YAML + "hide_future: true\n",
            "content/embargoed.md": article("Embargoed story", f"{due:%Y-%m-%dT%H:%M:%SZ}"),
        }
    )
    url = f"/{due:%Y/%m/%d}/embargoed-story/"
    events = served.events()
    try:
        first = events.next()
        assert served.request(url).status == 404 and datetime.now(UTC) < due
        event = events.next()  # no file changed: the clock set this build off
        assert datetime.now(UTC) >= due
        assert event["builds"] == first["builds"] + 1 and event["reload"] == "page"
        page = served.request(url)
        assert page.status == 200 and "Embargoed story" in page.text
        assert "Embargoed story" in served.request("/").text
    finally:
        events.close()


def test_a_date_far_ahead_is_waited_for_without_rebuilding(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview_module, "LONGEST_WAIT", 0.2)  # wakes early, many times
    due = datetime.now(UTC) + timedelta(hours=1)
    served = serve(
        {
            "site.yaml": SITE_YAML + "hide_future: true\n",
            "content/later.md": article("Later story", f"{due:%Y-%m-%dT%H:%M:%SZ}"),
        }
    )
    builds = served.builds()
    time.sleep(QUIET * 2)
    assert served.builds() == builds
    assert served.request(f"/{due:%Y/%m/%d}/later-story/").status == 404


def test_a_build_set_off_by_the_clock_says_so(make_site: MakeSite) -> None:
    site = make_site(FILES)
    report = build(site, BuildOptions())
    out, err = io.StringIO(), io.StringIO()
    _report_outcome(BuildOutcome(2, None, report, (), due=True), site, out, err)
    assert "] rebuilt as an article held back for its date came due: 2 articles" in out.getvalue()


def test_a_build_that_took_over_from_a_stopped_one_says_so(make_site: MakeSite) -> None:
    site = make_site(FILES)
    report = build(site, BuildOptions())
    changes = ChangeSet(frozenset({site / "content/a.md"}))
    said = []
    for took_over in (True, False):
        out, err = io.StringIO(), io.StringIO()
        _report_outcome(BuildOutcome(3, changes, report, (), took_over=took_over), site, out, err)
        said.append(out.getvalue())
    stopped = "] rebuilt after a change to content/a.md, the build under way stopped for it: 2 "
    assert stopped in said[0]
    assert "] rebuilt after a change to content/a.md: 2 articles" in said[1]


BuildHook = Callable[[Session | None, threading.Event | None], None]
"""Called with a build's session and its `cancel` event."""


def _around_builds(
    monkeypatch: pytest.MonkeyPatch, before: BuildHook | None = None, after: BuildHook | None = None
) -> None:
    """Have every build of the preview call `before` as it begins and `after` as it ends."""
    build = preview_module.build

    def around(
        site_dir: Path,
        options: BuildOptions,
        session: Session | None = None,
        cancel: threading.Event | None = None,
    ) -> BuildReport:
        if before is not None:
            before(session, cancel)
        report = build(site_dir, options, session, cancel)
        if after is not None:
            after(session, cancel)
        return report

    monkeypatch.setattr(preview_module, "build", around)


def test_the_site_is_served_and_watched_while_the_session_fills(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(FILES)
    filling, go_on = threading.Event(), threading.Event()
    sessions: list[object] = []

    def hold_the_first_with_a_session(session: Session | None, _: object) -> None:
        if session is not None and not filling.is_set():
            filling.set()
            assert go_on.wait(TIMEOUT)

    _around_builds(
        monkeypatch, lambda session, _: sessions.append(session), hold_the_first_with_a_session
    )
    outcomes: list[BuildOutcome] = []
    preview = Preview(site, PreviewOptions(port=0), outcomes.append)
    try:
        preview.start()  # returns after the first build, without the session
        assert filling.wait(TIMEOUT) and not preview.warm.is_set() and preview.building
        page = fetch(preview.server.port, ARTICLE_URL)
        assert page.status == 200 and "First story" in page.text
        edit = article("First story, edited", slug="first-story")
        write(site / "content/first.md", edit)  # its rebuild waits for the session
        time.sleep(QUIET)
        go_on.set()
        assert preview.warm.wait(TIMEOUT)
        edited = wait_until(
            lambda: "First story, edited" in fetch(preview.server.port, ARTICLE_URL).text,
            what="the edit's rebuild",
        )
        assert edited
        assert sessions[0] is None and all(s is sessions[1] for s in sessions[1:])
        # Three builds; on a busy machine the edit's write may come in two bursts, each
        # rebuilt with the session.
        assert sessions[1] is not None and len(sessions) >= 3
        # The edit's build is reported once its files are served, not before.
        assert wait_until(lambda: len(outcomes) >= 2, what="the report of the edit's build")
        assert [o.number for o in outcomes][:2] == [1, 2] and outcomes[1].changes is not None
        assert wait_until(lambda: not preview.building, what="the end of the builds")
    finally:
        go_on.set()
        preview.stop()


def test_a_save_the_filling_build_read_sets_off_no_build_of_its_own(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 100,000 articles filling the session takes seconds, and no save stops it: a
    save it read while under way would otherwise set off one more build, which the next
    save would wait for in turn."""
    site = make_site(FILES)
    started, go_on = threading.Event(), threading.Event()
    calls: list[object] = []

    def hold_the_fill(session: Session | None, _: object) -> None:
        calls.append(session)
        if session is not None and not started.is_set():  # before it reads anything
            started.set()
            assert go_on.wait(TIMEOUT)

    _around_builds(monkeypatch, before=hold_the_fill)
    preview = Preview(site, PreviewOptions(port=0), lambda _: None)
    first = site / "content/first.md"
    try:
        preview.start()
        assert started.wait(TIMEOUT)
        write(first, article("First story, take two", slug="first-story"))
        time.sleep(QUIET)  # the save is noticed while the fill waits
        go_on.set()
        assert preview.warm.wait(TIMEOUT)
        assert "take two" in fetch(preview.server.port, ARTICLE_URL).text  # the fill read it
        time.sleep(QUIET)
        assert len(calls) == 2  # the first build and the fill
        first.write_bytes(first.read_bytes())  # saved once the build has ended: built
        assert wait_until(lambda: len(calls) == 3, what="the save's build")
    finally:
        go_on.set()
        preview.stop()


def test_a_save_while_a_build_is_under_way_stops_that_build(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At 100,000 articles a build takes seconds: a save would wait for it to end, then
    for its own. It is stopped instead, and the save's build starts at once, its page
    written ahead of it; that build is not stopped in turn, so a stream of saves cannot
    keep every build from ending."""
    served = serve()
    cancels: list[threading.Event | None] = []
    _around_builds(monkeypatch, lambda _, cancel: cancels.append(cancel))
    assemble = builder_module.assemble_site
    holding = [threading.Event(), threading.Event()]
    go_on = [threading.Event(), threading.Event()]

    def held(*args: Any, **kwargs: Any) -> Any:
        """The next two builds wait halfway."""
        waiting = next((n for n, e in enumerate(holding) if not e.is_set()), None)
        if waiting is not None:
            holding[waiting].set()
            assert go_on[waiting].wait(TIMEOUT)
        return assemble(*args, **kwargs)

    def take(n: str) -> str:  # where it stood, linked as it was: its page goes ahead
        title = f"First story, take {n}"
        return article(title, body="The first body.", topics="[Harbours]", slug="first-story")

    monkeypatch.setattr(builder_module, "assemble_site", held)
    before, reported = served.builds(), len(served.outcomes)
    first = served.site / "content/first.md"
    events = served.events()
    try:
        assert events.next()["builds"] == before
        write(first, take("one"))
        assert holding[0].wait(TIMEOUT)
        write(first, take("two"))
        assert wait_until(lambda: cancels[0] and cancels[0].is_set(), what="the build stopped")
        go_on[0].set()  # it stops at its next step; the build of take two starts
        assert holding[1].wait(TIMEOUT)
        write(first, take("three"))
        time.sleep(QUIET)  # noticed while the build of take two waits: it goes on
        assert len(cancels) == 2 and cancels[1] is not None and not cancels[1].is_set()
        go_on[1].set()
        statuses = [events.next()]
        while statuses[-1]["builds"] < before + 2 or statuses[-1]["first"]:
            statuses.append(events.next())
    finally:
        for event in go_on:
            event.set()
        events.close()
    assert "take three" in served.request(ARTICLE_URL).text
    # Each take's page went ahead of its build; the stopped build published nothing.
    assert [(s["builds"] - before, s["first"]) for s in statuses] == [
        (0, True), (0, True), (1, False), (1, True), (2, False)
    ]  # fmt: skip
    # The page written ahead of take two's build has a new name: pages reload for it.
    assert len({s["build"] for s in statuses}) == len(statuses)
    assert len(cancels) == 3 and served.builds() == before + 2
    # Each is reported once its files are served.
    assert wait_until(lambda: len(served.outcomes) >= reported + 2, what="the reports")
    assert [o.report is not None for o in served.outcomes[reported:]] == [True, True]
    assert [o.took_over for o in served.outcomes[reported:]] == [True, False]  # told apart
    assert served.preview._session.filled  # the stopped build left the session whole


def test_a_build_lets_go_of_its_site_once_it_is_published(serve: Serve) -> None:
    served = serve()
    assert [o.report is not None for o in served.outcomes] == [True]
    # The workers' share would otherwise hold the whole site until the next build.
    with pytest.raises(KeyError):
        shared("site")


class _Cycle:
    """An object that refers to itself: only a collection frees it."""

    def __init__(self) -> None:
        self.me = self


def test_what_builds_leave_is_out_of_the_collector_s_reach_but_when_quiet(
    serve: Serve, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session's millions of objects at 100,000 articles would make every full pass
    of the collector a stall of the server and the next edit: they are frozen after each
    build, and garbage among them is collected once no build has run for a while."""
    monkeypatch.setattr(preview_module, "QUIET_BEFORE_COLLECTING", 0.2)
    served = serve()
    session_article = next(iter(served.preview._session.articles.values()))
    tracked = {id(o) for o in gc.get_objects()}
    assert id(session_article) not in tracked  # frozen: no collection walks it
    garbage = _Cycle()
    left = weakref.ref(garbage)
    del garbage
    gc.freeze()  # as if a build had left it frozen
    gc.collect()
    assert left() is not None
    before = served.builds()
    edited = article("Second story, edited", "2024-05-02T10:00:00Z")
    write(served.site / "content/second.md", edited)
    assert wait_until(lambda: served.builds() > before, what="the rebuild")
    assert wait_until(lambda: left() is None, what="the garbage collected once quiet")
    # The collection holds the builds' lock until it has frozen what is left.
    assert wait_until(lambda: not served.preview.building, what="the end of the collection")
    assert not any(o is session_article for o in gc.get_objects())
    served.preview.stop()
    assert gc.get_freeze_count() == 0  # the collector as the preview found it


def test_a_burst_of_saves_gives_one_rebuild(serve: Serve) -> None:
    served = serve()
    before = served.builds()
    for n in range(50):
        # As editors save: to a temporary name, then renamed over the article.
        target = served.site / f"content/burst/story-{n}.md"
        temporary = target.with_name(f".{target.name}.tmp")
        write(temporary, article(f"Burst story {n}", "2024-06-01T10:00:00Z"))
        os.replace(temporary, target)
    status = served.wait_for_build(before)
    time.sleep(QUIET)
    assert served.builds() == before + 1
    assert status["errors"] == []
    assert served.outcomes[-1].report is not None
    assert served.outcomes[-1].report.articles == 52


def test_ignored_files_trigger_no_rebuild(serve: Serve) -> None:
    served = serve()
    before = served.builds()
    site = served.site
    for name in (".first.md.swp", ".first.md.swx", "first.md~", "#first.md#", ".#first.md",
                 "4913", "first.md.tmp", ".hidden/new.md"):  # fmt: skip
        write(site / "content" / name, article("Ignored"))
    write(site / "output/extra.html", "<p>not a source</p>")
    write(site / "output/static/more.css", "p {}")
    write(site / ".broadsheet-cache/entry", "cache")
    write(site / "notes.txt", "not part of the site")
    time.sleep(QUIET)
    assert served.builds() == before
    write(site / "content/first.md", article("First story, updated"))  # and a real change
    assert served.wait_for_build(before)["builds"] == before + 1


def test_a_stylesheet_change_swaps_stylesheets_and_an_unchanged_save_reloads_nothing(
    serve: Serve,
) -> None:
    served = serve()
    before = served.builds()
    write(served.site / "static/extra.css", "body { color: red }")
    status = served.wait_for_build(before)
    assert status["reload"] == "css"
    assert served.request("/static/extra.css").text == "body { color: red }"
    first = served.site / "content/first.md"
    first.write_bytes(first.read_bytes())  # saved without a change
    assert served.wait_for_build(before + 1)["reload"] == "none"


def test_a_stylesheet_saved_by_renaming_a_temporary_file_swaps_stylesheets(
    serve: Serve,
) -> None:
    served = serve({"static/extra.css": "body { color: blue }"})
    before = served.builds()
    temporary = served.site / "static/sedX1b2c3"  # as `sed -i` and "safe writes" save
    temporary.write_text("body { color: red }")
    temporary.rename(served.site / "static/extra.css")
    assert served.wait_for_build(before)["reload"] == "css"
    assert served.request("/static/extra.css").text == "body { color: red }"


def test_a_change_is_named_by_a_file_still_there(tmp_path: Path) -> None:
    kept = tmp_path / "static/style.css"
    kept.parent.mkdir()
    kept.write_text("p {}")
    changes = ChangeSet(frozenset({kept, tmp_path / "static/.goutputstream-1", tmp_path / "a"}))
    assert changes.shown[0] == kept and changes.css_only
    assert not ChangeSet(frozenset({kept, tmp_path})).css_only  # a folder is there


def test_the_watching_library_s_warning_of_a_folder_seen_twice_is_not_shown(
    tmp_path: Path,
) -> None:
    watcher = Watcher(WatchTargets((tmp_path,), (), ()), lambda changes: None)
    inotify = {"category": RuntimeWarning, "filename": "inotify.py", "lineno": 365}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        watcher.start()
        try:
            warnings.warn_explicit(
                "Callback with id '7' already exists for watch <...>. It will be Overwritten.",
                module="watchdog.observers.inotify",
                **inotify,
            )
            warnings.warn_explicit("another", module="watchdog.observers.inotify", **inotify)
        finally:
            watcher.stop()
    assert [str(w.message) for w in caught] == ["another"]


def test_a_stylesheet_a_template_includes_reloads_the_pages(serve: Serve) -> None:
    served = serve(
        {
            "templates/partials/inline.css": "p { color: blue }",
            "templates/article.html": '{% extends "theme/article.html" %}\n'
            '{% block read_at %}<style>{% include "partials/inline.css" %}</style>{% endblock %}\n',
        }
    )
    before = served.builds()
    write(served.site / "templates/partials/inline.css", "p { color: red }")
    assert served.wait_for_build(before)["reload"] == "page"
    assert "p { color: red }" in served.request(ARTICLE_URL).text


def test_a_template_in_a_linked_folder_is_watched(make_site: MakeSite) -> None:
    site = make_site(
        {
            **FILES,
            "templates/article.html": '{% extends "theme/article.html" %}\n'
            '{% block read_at %}{% include "partials/note.html" %}{% endblock %}\n',
        }
    )
    shared = site.parent / "shared"
    shared.mkdir()
    (shared / "note.html").write_text("<p>First note</p>\n")
    (site / "templates/partials").symlink_to(shared)
    with running(site) as served:
        assert "First note" in served.request(ARTICLE_URL).text
        before = served.builds()
        write(shared / "note.html", "<p>Second note</p>\n")
        served.wait_for_build(before)
        assert "Second note" in served.request(ARTICLE_URL).text


def test_a_folder_created_while_serving_is_watched(serve: Serve) -> None:
    served = serve()
    before = served.builds()
    override = '{% extends "theme/article.html" %}{% block description %}OVERRIDE{% endblock %}'
    write(served.site / "templates/article.html", override)
    served.wait_for_build(before)
    wait_until(lambda: "OVERRIDE" in served.request(ARTICLE_URL).text, what="the override")


@pytest.mark.parametrize("folder", ["static", "content"])
def test_a_link_in_a_loop_for_a_while_leaves_the_site_watched(serve: Serve, folder: str) -> None:
    served = serve()
    before = served.builds()
    moved = served.site / f"{folder}.away"
    (served.site / folder).rename(moved)
    (served.site / folder).symlink_to(folder)  # leads back to itself
    time.sleep(QUIET * 2)
    (served.site / folder).unlink()
    moved.rename(served.site / folder)
    wait_until(lambda: served.builds() > before, what="a build after the loop")
    before = served.builds()
    write(served.site / "content/fresh.md", article("Fresh news", "2024-05-03T08:00:00Z"))
    served.wait_for_build(before)
    wait_until(lambda: served.request("/2024/05/03/fresh-news/").status == 200, what="the page")


@pytest.mark.parametrize("how", ["renamed", "linked"])
def test_a_content_folder_replaced_while_serving_is_watched_anew(
    serve: Serve, tmp_path: Path, how: str
) -> None:
    # Swapped in by renames (as a deploy script might), or a link pointed elsewhere.
    served = serve()
    content = served.site / "content"
    if how == "linked":
        before = served.builds()
        shutil.move(content, tmp_path / "first")
        content.symlink_to(tmp_path / "first", target_is_directory=True)
        served.wait_for_build(before)
    before = served.builds()
    shutil.copytree(content, tmp_path / "second")
    write(tmp_path / "second/swapped.md", article("Swapped in", "2024-05-05T08:00:00Z"))
    if how == "renamed":
        content.rename(tmp_path / "old")
        (tmp_path / "second").rename(content)
        old = tmp_path / "old"
    else:
        (served.site / "link").symlink_to(tmp_path / "second", target_is_directory=True)
        (served.site / "link").rename(content)
        old = tmp_path / "first"
    served.wait_for_build(before)
    wait_until(lambda: served.request("/2024/05/05/swapped-in/").status == 200, what="the swap")
    before = served.builds()
    write(content / "later.md", article("Added later", "2024-05-06T08:00:00Z"))
    served.wait_for_build(before)
    wait_until(lambda: served.request("/2024/05/06/added-later/").status == 200, what="the add")
    before = served.builds()
    write(old / "unseen.md", article("Not in the site", "2024-05-07T08:00:00Z"))
    write(content / "seen.md", article("In the site", "2024-05-07T09:00:00Z"))
    served.wait_for_build(before)
    wait_until(lambda: served.request("/2024/05/07/in-the-site/").status == 200, what="seen")
    assert served.request("/2024/05/07/not-in-the-site/").status == 404


def test_a_broken_article_is_reported_and_its_last_page_served_until_fixed(
    serve: Serve,
) -> None:
    served = serve()
    before = served.builds()
    events = served.events()
    try:
        assert events.next()["errors"] == []
        path = served.site / "content/first.md"
        write(path, article("First story", "yesterday", slug="first-story"))
        event = events.next()
        assert event["builds"] == before + 1
        assert len(event["errors"]) == 1
        assert re.match(r"^content/first\.md:3: .*'yesterday'", event["errors"][0])
        assert served.status()["errors"] == event["errors"]
        page = served.request(ARTICLE_URL)
        assert page.status == 200 and "First story" in page.text
        write(path, article("First story, fixed"))
        event = events.next()
        assert event["errors"] == [] and event["reload"] == "page"
        assert "First story, fixed" in served.request("/2024/05/01/first-story-fixed/").text
    finally:
        events.close()


def test_a_broken_config_keeps_the_last_site_and_reports_the_line(serve: Serve) -> None:
    served = serve()
    before = served.builds()
    write(served.site / "site.yaml", SITE_YAML + "colour: blue\n")
    status = served.wait_for_build(before)
    assert len(status["errors"]) == 1
    assert status["errors"][0].startswith("site.yaml:6: unknown key 'colour'")
    assert served.request(ARTICLE_URL).status == 200
    write(served.site / "site.yaml", SITE_YAML)
    assert served.wait_for_build(before + 1)["errors"] == []


def test_many_clients_at_once_and_a_stop_that_does_not_wait_for_them(serve: Serve) -> None:
    served = serve()
    streams = [served.events() for _ in range(8)]
    for stream in streams:
        stream.next()
    statuses: Queue[int] = Queue()
    threads = [
        threading.Thread(target=lambda: statuses.put(served.request(ARTICLE_URL).status))
        for _ in range(30)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [statuses.get_nowait() for _ in range(30)] == [200] * 30
    started = time.monotonic()
    served.preview.stop()
    assert time.monotonic() - started < 3
    for stream in streams:
        with pytest.raises((EOFError, OSError)):
            stream.next()
        stream.close()
    with pytest.raises(OSError):
        served.request("/")


def _lines(stream: object) -> Queue[str]:
    lines: Queue[str] = Queue()

    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


@contextmanager
def _command(*args: str) -> Iterator[tuple[subprocess.Popen[str], Queue[str]]]:
    """`python ARGS` running, with its output lines as they come; killed if still
    running on the way out."""
    process = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield process, _lines(process.stdout)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)


def _rest(lines: Queue[str]) -> list[str]:
    """The lines read so far and not yet taken."""
    rest = []
    while not lines.empty():
        rest.append(lines.get())
    return rest


def _line_matching(lines: Queue[str], pattern: str, timeout: float = 10) -> re.Match[str]:
    deadline = time.monotonic() + timeout
    while True:
        try:
            line = lines.get(timeout=max(0.01, deadline - time.monotonic()))
        except Empty:
            raise AssertionError(f"no line matching {pattern!r}") from None
        if found := re.search(pattern, line):
            return found


def test_the_command_takes_the_next_port_and_stops_cleanly_on_ctrl_c(
    make_site: MakeSite,
) -> None:
    site = make_site(FILES)
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    serve = _command("-m", "generator", "serve", str(site), "--port", str(port))
    with serve as (process, lines), contextlib.closing(taken):
        _line_matching(lines, rf"port {port} is in use; using port \d+")
        url = _line_matching(lines, r"serving .* at (http://127\.0\.0\.1:(\d+)/)")
        assert int(url.group(2)) != port
        served_port = int(url.group(2))
        assert fetch(served_port, ARTICLE_URL).status == 200
        events = EventStream(served_port)
        events.next()
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        _line_matching(lines, r"^stopped")
        events.close()
    index = (site / "output/index.html").read_text(encoding="utf-8")
    assert "</html>" in index and "__broadsheet" not in index


def test_a_second_signal_during_the_stop_does_not_cut_it_short(make_site: MakeSite) -> None:
    site = make_site(FILES)
    with _command("-m", "generator", "serve", str(site), "--port", "0") as (process, lines):
        served = _line_matching(lines, r"serving .* at http://127\.0\.0\.1:(\d+)/")
        events = EventStream(int(served.group(1)))  # an open stream makes the stop wait
        events.next()
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        _line_matching(lines, r"^stopped")
        assert not any("Traceback" in line for line in _rest(lines))
        events.close()


@pytest.mark.parametrize("built_before", [False, True])
def test_a_failed_build_says_whether_a_site_is_still_served(
    make_site: MakeSite, built_before: bool
) -> None:
    site = make_site(FILES)
    if built_before:
        assert build(site).exit_code == 0
    (site / "site.yaml").write_text("title: [unclosed\n", encoding="utf-8")
    with _command("-m", "generator", "serve", str(site), "--port", "0") as (process, lines):
        found = _line_matching(lines, r"build failed: (.*)$")
        expected = "still serving the last good site" if built_before else "no site to serve yet"
        assert found.group(1) == expected
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        ended = "output/ holds the last complete build" if built_before else "no site was built"
        assert _line_matching(lines, r"^stopped; (.*)$").group(1) == ended


_SIGNAL_FROM_ANOTHER_THREAD = """
import signal, sys, threading, time
from generator import cli

watching = threading.Event()


class Out:
    def write(self, text: str) -> int:
        sys.stdout.write(text)
        if "press Ctrl-C" in text:
            watching.set()
        return len(text)

    def flush(self) -> None:
        sys.stdout.flush()


def signal_this_thread() -> None:
    watching.wait()
    time.sleep(0.5)  # let the main thread settle into its wait
    signal.pthread_kill(threading.get_ident(), signal.SIGTERM)


threading.Thread(target=signal_this_thread, daemon=True).start()
sys.exit(cli.main(["serve", sys.argv[1], "--port", "0"], out=Out()))
"""


def test_a_signal_received_by_another_thread_still_stops_the_preview(
    make_site: MakeSite,
) -> None:
    # Linux hands a process's signal to any thread that does not block it; Python runs
    # the handler on the main thread only once that thread runs again.
    site = make_site(FILES)
    with _command("-c", _SIGNAL_FROM_ANOTHER_THREAD, str(site)) as (process, lines):
        _line_matching(lines, r"press Ctrl-C to stop")
        assert process.wait(timeout=10) == 0
        _line_matching(lines, r"^stopped")


_SLOW_FIRST_BUILD = """
import sys, time
from generator import builder as build_module, cli
assemble = build_module.assemble_site


def slow_assemble(*args, **kwargs):
    print("assembling", flush=True)
    time.sleep(4)  # a large site's first build
    return assemble(*args, **kwargs)


build_module.assemble_site = slow_assemble
sys.exit(cli.main(["serve", sys.argv[1], "--port", "0"]))
"""


def test_ctrl_c_during_the_first_build_cancels_it(make_site: MakeSite) -> None:
    site = make_site(FILES)
    with _command("-c", _SLOW_FIRST_BUILD, str(site)) as (process, lines):
        _line_matching(lines, r"^assembling")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        _line_matching(lines, r"^stopping the build under way")
        _line_matching(lines, r"^stopped")
        # The build stopped after assembling, before it wrote a page or reported.
        assert not any("Traceback" in line or "serving" in line for line in _rest(lines))
        assert not (site / "output" / "index.html").exists()
