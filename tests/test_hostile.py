"""Hostile input: the corpus in `tests/hostile/` (plus files made here that cannot be
committed: binary, huge, a symlink, a FIFO) built alongside the example site.

Every file gives exactly the outcome in `EXPECTED`; the build never crashes; and the
output carries nothing the content smuggled in: no script the theme did not write, no
`javascript:`/`data:`/`vbscript:` URL, no event-handler attribute, no `secured` value,
no file outside the output folder, no character an HTML page or XML feed may not hold.
"""

from __future__ import annotations

import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import feedparser
import html5lib
import pytest

from conftest import REPO, SITE_YAML
from generator import BuildOptions, BuildReport, build, loader
from generator.cli import SET_ASIDE_NOTE, main
from generator.config import parse_config
from generator.diagnostics import BuildError
from generator.loader import load_articles

HOSTILE = Path(__file__).resolve().parent / "hostile"
FOLDER = "content/hostile"
SECRET = "hostile-secured-value-never-shown"
PWNED = Path("/tmp/broadsheet-hostile-pwned")  # what yaml-python-tag.md would create
URL_ATTRIBUTES = frozenset(
    {"href", "src", "srcset", "action", "formaction", "poster", "data", "cite", "background"}
)
UNSAFE_SCHEMES = ("javascript:", "data:", "vbscript:")
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


@dataclass(frozen=True)
class Outcome:
    """What one file must give: `built` (no diagnostic), `warned` (built, one warning),
    `set aside` (not built, one error) or `skipped` (not built, one warning)."""

    kind: str
    page: str | None = None
    """The article page a built file makes."""
    line: int | None = None
    fragments: tuple[str, ...] = ()

    @property
    def severity(self) -> str | None:
        return {"warned": "warning", "set aside": "error", "skipped": "warning"}.get(self.kind)


def built(page: str) -> Outcome:
    return Outcome("built", page)


def warned(page: str, line: int | None, *fragments: str) -> Outcome:
    return Outcome("warned", page, line, fragments)


def set_aside(line: int | None, *fragments: str) -> Outcome:
    return Outcome("set aside", None, line, fragments)


def skipped(*fragments: str) -> Outcome:
    return Outcome("skipped", None, None, fragments)


CJK_SLUG = "gang-kou-de-chao-xi-fa-dian-ji-du-guo-liao-di-yi-ge-dong-tian"
LONG_SLUG = "harbour-turbines-harbour-turbines-harbour-turbines-harbour-turbines-harbour"
EXPECTED: dict[str, Outcome] = {
    # YAML structure
    "yaml-unterminated-quote.md": set_aside(
        3, "invalid YAML", "a quote opened on this line is never closed"
    ),
    "yaml-deep-flow.md": set_aside(4, "maximum nesting depth", "at most 50 levels"),
    "yaml-deep-block.md": set_aside(16, "nested more than 50 levels deep", "flatten"),
    "yaml-alias-bomb.md": set_aside(9, "more than 100,000 values", "alias bomb"),
    "yaml-alias-loop.md": set_aside(4, "alias refers to the value that holds it"),
    "yaml-duplicate-key.md": set_aside(4, "duplicate key 'title'", "first set at line 2"),
    "yaml-duplicate-nested-key.md": set_aside(7, "duplicate key 'url'", "first set at line 5"),
    "yaml-tab-indent.md": set_aside(5, "invalid YAML", "indent with spaces"),
    "yaml-tabs-in-values.md": built("2020/01/02/tabs-inside-the-title/"),
    "yaml-not-a-mapping.md": set_aside(2, "must be a mapping of key: value"),
    "yaml-python-tag.md": set_aside(2, "python/object/apply", "remove the '!' tag"),
    "yaml-huge-integer.md": set_aside(4, "invalid YAML value", "put the value in quotes"),
    "yaml-bad-bool-tag.md": set_aside(4, "invalid YAML value ('maybe')", "'!!' tag"),
    # Encodings and sizes (made by `write_generated`)
    "encoding-bom.md": built("2020/01/12/bom/"),
    "encoding-crlf.md": built("2020/01/12/crlf-line-ends/"),
    "encoding-cr.md": built("2020/01/12/cr-line-ends/"),
    "encoding-nul.md": set_aside(5, "contains a NUL byte", "save it as UTF-8 text"),
    "encoding-latin1.md": set_aside(2, "not valid UTF-8 (byte 0xe9)", "save the file as UTF-8"),
    "encoding-utf16.md": set_aside(1, "UTF-16", "save it as UTF-8"),
    "empty.md": set_aside(1, "no front matter: the file is empty", "start it with a '---'"),
    "whitespace-only.md": set_aside(1, "the file is empty"),
    "huge-20mb.md": set_aside(
        None, "20.0 MB, over the max_file_size limit of 2.0 MB", "raise max_file_size"
    ),
    # Characters no page or feed may hold
    "control-raw.md": warned(
        "2020/01/12/raw-bell-in-the-title/", 2, "removed 2 control characters", "U+0007, U+001B"
    ),
    "control-escaped.md": warned(
        "2020/01/03/bell-and-escape-31m-red/", 2, "title: removed 2 control characters"
    ),
    "xml-cdata-end.md": warned(
        "2020/01/03/ends-here-and-there/", 5, "excerpt: removed 2 control characters"
    ),
    # Dates
    "date-feb-30.md": set_aside(3, "'2023-02-30' is not an ISO 8601 date", "write e.g."),
    "date-year-1.md": set_aside(3, "'0001-01-01' is before the year 1000", "check the date"),
    "date-year-9999.md": built("9999/12/31/the-last-second/"),
    "date-offset-overflow.md": set_aside(3, "out of the supported range of dates"),
    "date-yesterday.md": set_aside(3, "'yesterday' is not an ISO 8601 date"),
    # Titles
    "title-emoji.md": built("2020/01/04/n-9fb6d580/"),
    "title-cjk.md": built(
        "2020/01/04/gang-kou-de-chao-xi-fa-dian-ji-du-guo-liao-di-yi-ge-dong-tian/"
    ),
    "title-rtl.md": built("2020/01/04/mrhb-bl-lm-shlvm-vlm-evil/"),
    "title-2000-chars.md": built(f"2020/01/04/{LONG_SLUG}/"),
    # Slugs
    "slug-dotdot-passwd.md": built("2020/01/05/etc-passwd/"),
    "slug-slashes.md": built("2020/01/05/a-b-c/"),
    "slug-percent-dots.md": built("2020/01/05/2e-2e-2f-2e-2e-2fetc/"),
    "slug-device-con.md": built("2020/01/05/con-x/"),
    "title-device-nul.md": built("2020/01/05/nul-x/"),
    # Topics
    "topics-ai.md": built("2020/01/06/three-spellings-of-ai/"),
    "topics-c-family.md": built("2020/01/06/c-and-its-cousins/"),
    # Markup in every text field
    "script-everywhere.md": built(
        "2020/01/07/script-alert-1-script-title-script-b-onmouseover-alert-2-title/"
    ),
    "body-raw-html.md": built("2020/01/09/raw-html-body/"),
    "body-markdown-links.md": built("2020/01/09/markdown-links/"),
    # Unsafe URLs
    "url-javascript.md": set_aside(4, "originalUrl: unsafe URL scheme 'javascript:'"),
    "url-data-weburl.md": set_aside(4, "webUrl: unsafe URL scheme 'data:'"),
    "url-vbscript-image.md": set_aside(
        5, "images: item 1: url: unsafe URL scheme 'vbscript:'", "remove the value"
    ),
    "url-data-image.md": set_aside(5, "images: item 1: url: unsafe URL scheme 'data:'"),
    "url-climbing-image.md": set_aside(
        5, "images: item 1: url: 'static/../../private/photo.jpg' climbs above the site's root"
    ),
    "url-protocol-relative-related.md": set_aside(
        5, "related: item 1: webUrl: '//evil.example/story' is protocol-relative", "https://"
    ),
    "url-backslash-relative.md": set_aside(4, "originalUrl:", "is protocol-relative"),
    "url-mixed-case-related-amp.md": set_aside(
        5, "related: item 1: ampWebUrl: unsafe URL scheme 'javascript:'"
    ),
    "url-javascript-provider-free.md": set_aside(
        5, "related: item 1: images: item 1: url: unsafe URL scheme 'javascript:'"
    ),
    # Files that are not articles
    "symlink-outside.md": skipped("a symlink pointing outside the site", "copy the file"),
    "fifo.md": skipped("not a regular file"),
    # Two sources, one title, one day: both kept
    "same-title-one.md": built("2020/01/10/storm-closes-the-harbour/"),
    "same-title-two.md": warned(
        "2020/01/10/storm-closes-the-harbour-2/",
        2,  # its title's line: the slug comes from the title
        "slug 'storm-closes-the-harbour' is taken",
        "using 'storm-closes-the-harbour-2'",
    ),
    "secured.md": built("2020/01/11/has-a-secured-value/"),
}


def _article(title: str, date: str, body: str = "Body.\n") -> str:
    return f'---\ntitle: "{title}"\npublishedDateTime: {date}\n---\n{body}'


def write_generated(folder: Path, outside: Path) -> None:
    """The cases that cannot be committed as text: odd bytes, 20 MB, a symlink, a FIFO."""
    files: dict[str, bytes] = {
        "encoding-bom.md": "\ufeff".encode() + _article("BOM", "2020-01-12T08:00Z").encode(),
        "encoding-crlf.md": _article("CRLF line ends", "2020-01-12T09:00Z", "One.\nTwo.\n")
        .replace("\n", "\r\n")
        .encode(),
        "encoding-cr.md": _article("CR line ends", "2020-01-12T10:00Z", "One.\nTwo.\n")
        .replace("\n", "\r")
        .encode(),
        "encoding-nul.md": _article("NUL bytes", "2020-01-12T11:00Z", "Bo\0dy.\n").encode(),
        "encoding-latin1.md": _article("Café in latin-1", "2020-01-12T12:00Z").encode("latin-1"),
        "encoding-utf16.md": _article("UTF-16", "2020-01-12T13:00Z").encode("utf-16"),
        "empty.md": b"",
        "whitespace-only.md": b"\n \n\t\n",
        "control-raw.md": _article(
            "Raw bell\x07 in the title", "2020-01-12T15:00Z", "Raw escape \x1b[31m in the body.\n"
        ).encode(),
    }  # fmt: skip
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with (folder / "huge-20mb.md").open("wb") as huge:
        huge.write(_article("Huge", "2020-01-12T14:00Z").encode())
        huge.write(b"x" * (20 * 1024 * 1024))
    outside.write_text(_article("Outside the site", "2020-01-12T16:00Z"), encoding="utf-8")
    (folder / "symlink-outside.md").symlink_to(outside)
    os.mkfifo(folder / "fifo.md")


def make_hostile_site(root: Path) -> Path:
    """The example site with the hostile corpus in `content/hostile/`."""
    site = root / "site"
    site.mkdir(parents=True)
    shutil.copy(REPO / "site.yaml", site / "site.yaml")
    shutil.copytree(REPO / "content", site / "content")
    shutil.copytree(REPO / "static", site / "static")
    shutil.copytree(HOSTILE, site / FOLDER)
    write_generated(site / FOLDER, root / "outside.md")
    return site


def make_example_site(root: Path) -> Path:
    site = root / "example"
    site.mkdir(parents=True)
    shutil.copy(REPO / "site.yaml", site / "site.yaml")
    shutil.copytree(REPO / "content", site / "content")
    shutil.copytree(REPO / "static", site / "static")
    return site


def files_outside_output(root: Path) -> dict[str, int]:
    """Every path under `root` that is not in an output folder or a cache, with its size."""
    found = {}
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if "output" in parts or ".broadsheet-cache" in parts:
            continue
        found[path.relative_to(root).as_posix()] = 0 if path.is_dir() else path.lstat().st_size
    return found


@dataclass(frozen=True)
class Built:
    root: Path
    site: Path
    output: Path
    report: BuildReport
    before: dict[str, int]
    example_output: Path
    example_report: BuildReport

    def diagnostics_for(self, name: str) -> list[str]:
        return [str(d) for d in self.report.diagnostics if d.path == f"{FOLDER}/{name}"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Built:
    PWNED.unlink(missing_ok=True)
    root = tmp_path_factory.mktemp("hostile")
    site = make_hostile_site(root)
    before = files_outside_output(root)
    report = build(site, BuildOptions(jobs=2))
    example = make_example_site(tmp_path_factory.mktemp("example"))
    example_report = build(example, BuildOptions(jobs=2))
    return Built(root, site, site / "output", report, before, example / "output", example_report)


def test_the_corpus_has_forty_cases_or_more() -> None:
    committed = {p.name for p in HOSTILE.iterdir()}
    assert committed <= set(EXPECTED), committed - set(EXPECTED)
    assert len(EXPECTED) >= 40


@pytest.mark.parametrize("name", EXPECTED)
def test_each_file_gives_its_outcome(hostile: Built, name: str) -> None:
    expected = EXPECTED[name]
    found = hostile.diagnostics_for(name)
    if expected.severity is None:
        assert found == []
    else:
        assert len(found) == 1, found
        where = f"{FOLDER}/{name}" + ("" if expected.line is None else f":{expected.line}")
        assert found[0].startswith(f"{where}: {expected.severity}: "), found[0]
        for fragment in expected.fragments:
            assert fragment in found[0], (fragment, found[0])
    if expected.page is not None:
        assert (hostile.output / expected.page / "index.html").is_file()


def test_only_the_corpus_has_problems_and_only_its_good_files_are_built(hostile: Built) -> None:
    assert {d.path for d in hostile.report.diagnostics} == {
        f"{FOLDER}/{name}" for name, outcome in EXPECTED.items() if outcome.severity
    }
    assert hostile.example_report.diagnostics == ()
    pages = sum(1 for outcome in EXPECTED.values() if outcome.page)
    assert hostile.report.articles == hostile.example_report.articles + pages
    assert hostile.report.errors == sum(o.kind == "set aside" for o in EXPECTED.values())


def test_the_command_line_never_crashes(tmp_path: Path) -> None:
    site = make_hostile_site(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "generator", "build", str(site), "--jobs", "2"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    *lines, note = result.stderr.splitlines()
    assert note == f"{SET_ASIDE_NOTE}; fix them and build again"
    problems = {line.split(":", 1)[0] for line in lines}
    assert problems == {
        f"{FOLDER}/{name}" for name, outcome in EXPECTED.items() if outcome.severity
    }


def _elements(page: Path) -> list[ET.Element]:
    document = html5lib.parse(page.read_bytes(), namespaceHTMLElements=False)
    return [e for e in document.iter() if isinstance(e.tag, str)]


def _scripts(output: Path) -> set[tuple[str | None, str | None]]:
    return {
        (e.get("type"), e.get("src"))
        for page in output.rglob("*.html")
        for e in _elements(page)
        if e.tag.rpartition("}")[2] == "script"
    }


def test_no_script_but_the_themes(hostile: Built) -> None:
    theme_scripts = _scripts(hostile.example_output)
    assert _scripts(hostile.output) <= theme_scripts
    for page in hostile.output.rglob("*.html"):
        for element in _elements(page):
            if element.tag == "script" and element.get("type") == "application/ld+json":
                json.loads(element.text or "")  # all of it data: nothing closed it early


def test_no_unsafe_url_and_no_event_handler(hostile: Built) -> None:
    found = []
    for page in hostile.output.rglob("*.html"):
        for element in _elements(page):
            for name, value in element.attrib.items():
                name = name.rpartition("}")[2].lower()
                if name.startswith("on"):
                    found.append(f"{page}: {element.tag} {name}")
                bare = re.sub(r"[\x00-\x20]", "", value).lower()
                if name in URL_ATTRIBUTES and bare.startswith(UNSAFE_SCHEMES):
                    found.append(f"{page}: {element.tag} {name}={value}")
    assert found == []


def test_no_secured_value_and_no_forbidden_character(hostile: Built) -> None:
    for path in hostile.output.rglob("*"):
        if path.is_file() and not path.name.startswith("."):
            data = path.read_bytes()
            assert SECRET.encode() not in data, path
            if path.suffix in (".html", ".xml"):
                assert not FORBIDDEN_CHARACTERS.search(data.decode("utf-8")), path


def test_nothing_is_written_outside_the_output_folder(hostile: Built) -> None:
    assert files_outside_output(hostile.root) == hostile.before
    assert not PWNED.exists()
    output = hostile.output.resolve()
    for path in hostile.output.rglob("*"):
        assert not path.is_symlink(), path
        assert path.resolve().is_relative_to(output), path


def test_every_page_and_feed_is_well_formed(hostile: Built) -> None:
    for page in hostile.output.rglob("*.html"):
        html5lib.HTMLParser(strict=True).parse(page.read_bytes())
    for feed in hostile.output.rglob("*.xml"):
        ET.parse(feed)
        if feed.name in ("feed.xml", "atom.xml"):
            parsed = feedparser.parse(feed.read_bytes())
            assert not parsed.bozo, (feed, parsed.get("bozo_exception"))


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _page(hostile: Built, name: str) -> str:
    return _text(hostile.output / str(EXPECTED[name].page) / "index.html")


def test_markup_in_text_fields_is_shown_as_text(hostile: Built) -> None:
    page = _page(hostile, "script-everywhere.md")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;/title&gt;" in page
    assert "<script>alert" not in page
    topic = hostile.output / "topics/title-script-alert-3-script/feed.xml"
    assert "&lt;/title&gt;&lt;script&gt;alert(3)" in _text(topic)
    for feed in hostile.output.rglob("*.xml"):
        assert "<script" not in _text(feed), feed


def test_slugs_stay_inside_the_site_and_short(hostile: Built) -> None:
    names = [p.name for p in hostile.output.rglob("*")]
    assert max(len(n) for n in names) <= 100
    for device in ("con", "nul", "aux", "lpt1", "com9"):
        assert device not in {n.lower() for n in names}
    topics = hostile.output / "topics"
    for slug in ("ai", "a-i", "c", "c-plus-plus", "c-sharp", "con-x", "aux-x", "lpt1-x"):
        assert (topics / slug / "index.html").is_file(), slug
    assert not (hostile.root / "etc").exists()


def test_xml_feeds_keep_cdata_ends_as_text(hostile: Built) -> None:
    feed = hostile.output / "topics/hostile-xml/feed.xml"
    parsed = feedparser.parse(feed.read_bytes())
    assert not parsed.bozo
    assert [entry.title for entry in parsed.entries] == ["Ends ]]> here & <there>"]
    summary = parsed.entries[0].summary_detail  # HTML, as an RSS description is read
    assert summary.type == "text/html"
    assert html.unescape(summary.value) == "Vertical tab and form feed and ]]> again"


def test_control_characters_are_gone_from_pages(hostile: Built) -> None:
    page = _page(hostile, "control-raw.md")
    assert '<h1 dir="auto">Raw bell in the title</h1>' in page
    assert "Raw escape [31m in the body." in page
    assert '<h1 dir="auto">Bell and escape[31m red</h1>' in _page(hostile, "control-escaped.md")


def test_strict_fails_on_any_warning_before_writing_anything(tmp_path: Path) -> None:
    site = make_example_site(tmp_path)
    assert build(site, BuildOptions(jobs=1)).exit_code == 0
    before = {p: p.read_bytes() for p in (site / "output").rglob("*") if p.is_file()}
    shutil.copy(HOSTILE / "control-escaped.md", site / "content" / "control-escaped.md")
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", "--strict", str(site)], out=out, err=err)
    assert code == 1
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("content/control-escaped.md:2: error: title: removed 2 control")
    assert lines[-1] == "--strict: problems found, nothing was written"
    after = {p: p.read_bytes() for p in (site / "output").rglob("*") if p.is_file()}
    assert after == before
    assert main(["build", str(site)], out=out, err=io.StringIO()) == 0  # a warning only


def test_max_file_size_is_a_setting(tmp_path: Path) -> None:
    config = parse_config(SITE_YAML + "max_file_size: 4096\n")
    assert config.max_file_size == 4096
    assert parse_config(SITE_YAML).max_file_size == 2 * 1024 * 1024
    with pytest.raises(BuildError, match="'max_file_size' must be at least 1024, not 10"):
        parse_config(SITE_YAML + "max_file_size: 10\n")
    site = tmp_path / "site"
    (site / "content").mkdir(parents=True)
    (site / "content" / "long.md").write_text(_article("Long", "2024-05-01") + "x" * 5000)
    (site / "content" / "short.md").write_text(_article("Short", "2024-05-01"))
    loaded = load_articles(site, ZoneInfo("UTC"), max_file_size=4096)
    assert [a.title for a in loaded.articles] == ["Short"]
    assert [str(d) for d in loaded.diagnostics] == [
        "content/long.md: error: the file is 5,058 bytes, over the max_file_size limit of "
        "4,096 bytes; shorten it, or raise max_file_size in site.yaml"
    ]


def test_files_asked_for_ahead_load_as_they_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a read is slow, the rest of its batch is asked for ahead: every file still
    loads as it is read one by one, and neither a link nor a FIFO (which would wait
    for a writer) is asked for."""
    site = make_hostile_site(tmp_path)
    tz = ZoneInfo("UTC")
    asked: list[str] = []
    advise = os.posix_fadvise

    def noted(descriptor: int, offset: int, length: int, advice: int) -> None:
        advise(descriptor, offset, length, advice)
        asked.append(os.readlink(f"/proc/self/fd/{descriptor}"))

    monkeypatch.setattr(os, "posix_fadvise", noted)
    monkeypatch.setattr(loader, "SLOW_READ_NS", 10**15)  # every read is quick
    one_by_one = load_articles(site, tz)
    assert asked == []
    monkeypatch.setattr(loader, "SLOW_READ_NS", -1)  # every read is slow
    ahead: list[loader.Loaded] = []
    loading = threading.Thread(target=lambda: ahead.append(load_articles(site, tz)), daemon=True)
    loading.start()
    loading.join(timeout=60)
    assert not loading.is_alive(), "asking for a FIFO ahead waits for a writer"
    assert ahead == [one_by_one]
    folder = (site / FOLDER).resolve()
    assert len(asked) > 20
    assert all(Path(path).is_relative_to(site.resolve()) for path in asked)
    assert not {folder / "fifo.md", tmp_path / "outside.md"} & {Path(path) for path in asked}
