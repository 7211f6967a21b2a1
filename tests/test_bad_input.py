"""Bad article files: each is reported as `path:line: severity: message` and set aside,
while every good article of the same site is still built."""

from __future__ import annotations

import errno
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from conftest import BuildSite, MakeSite, article
from generator import BuildError, BuildOptions, BuildReport, Diagnostic, build
from generator import builder as build_module
from generator import loader as loader_module
from generator.cli import SET_ASIDE_NOTE, main
from generator.frontmatter import decode, split
from generator.loader import load_articles
from generator.markup import render_markdown
from generator.model import Article
from generator.schema import parse_article
from generator.theme import Theme

SECRET = "s3cr3t-token-never-shown"
UNKNOWN_VALUE = "unknown-key-value-xyzzy"


@dataclass(frozen=True)
class Case:
    path: str
    line: int | None
    severity: str
    fragments: tuple[str, ...]

    @property
    def prefix(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.severity}: "


# Articles that must be built, keyed by their output page.
GOOD_FILES: dict[str, str] = {
    "content/good-one.md": article("Good one", body="The first good body."),
    "content/good-two.md": article("Good two", "2024-05-02T10:00:00Z", body="Second body."),
    "content/updated-early.md": article(
        "Updated early", "2024-05-02T11:00:00Z", updated="2024-05-01T11:00:00Z"
    ),
    "content/slug-a.md": article("Slug owner", slug="same"),
    "content/twin-a.md": article("Twin", "2024-05-03T08:00:00Z"),
    "content/twin-b.md": article("Twin", "2024-05-03T09:00:00Z"),
    "content/secret.md": article(
        "Has a secret", "2024-05-05T10:00:00Z", secured=f'"{SECRET}"', mood=f'"{UNKNOWN_VALUE}"'
    ),
    # Valid articles that must be skipped because of their names.
    "content/_drafts/skipped-draft.md": article("Skipped draft folder", "2024-05-06T10:00:00Z"),
    "content/.hidden.md": article("Skipped hidden file", "2024-05-06T11:00:00Z"),
}

BAD_FILES: dict[str, str] = {
    "content/bad-yaml.md": (
        '---\npublishedDateTime: 2024-05-01T09:30:00Z\ntitle: "unterminated\n---\n'
    ),
    "content/open-quote.md": (
        '---\ntitle: Open quote\ncategory: "news\npublishedDateTime: 2024-05-01\nexcerpt: x\n---\n'
    ),
    "content/no-front.md": "Just a paragraph of text, no front matter.\n",
    "content/not-closed.md": "---\ntitle: Not closed\npublishedDateTime: 2024-05-01\n",
    "content/no-title.md": "---\npublishedDateTime: 2024-05-01T09:30:00Z\n---\nBody.\n",
    "content/no-date.md": "---\ntitle: No date\n---\n",
    "content/blank-title.md": "---\npublishedDateTime: 2024-05-01T09:30:00Z\ntitle:\n---\n",
    "content/null-date.md": "---\ntitle: Null date\ndate: ~\n---\n",
    "content/yesterday.md": article("Yesterday", "yesterday"),
    "content/feb30.md": article("February 30", "2023-02-30"),
    "content/topics-int.md": article("Topics int", topics="5"),
    "content/js-url.md": article("JS url", originalUrl='"javascript:alert(1)"'),
    "content/js-image.md": article(
        "JS image", images='\n  - url: "javascript:alert(1)"\n    width: 10\n    height: 10'
    ),
    "content/slug-b.md": article("Slug thief", slug="same"),
    "content/empty.md": "",
    "content/too-deep.md": article("Too deep", body="> " * 20_000 + "x\n"),
    "content/related-empty.md": article("Related empty", related="[{}]"),
}
LATIN1_PATH = "content/latin-1.md"
LATIN1_BYTES = (
    b"---\ntitle: Latin one\npublishedDateTime: 2024-05-01T09:30:00Z\n---\nCaf\xe9 au lait\n"
)
BOM_CRLF_PATH = "content/bom-crlf.md"
BOM_CRLF_BYTES = (
    "\ufeff---\r\ntitle: Bom and CRLF\r\npublishedDateTime: 2024-05-04T10:00:00Z\r\n"
    "topics:\r\n  - Windows\r\n---\r\nBody line one.\r\n"
).encode()

CASES = {
    "invalid-yaml": Case("content/bad-yaml.md", 3, "error", ("invalid YAML",)),
    "open-quote": Case(
        "content/open-quote.md", 3, "error", ("a quote opened on this line is never closed",)
    ),
    "no-front-matter": Case("content/no-front.md", 1, "error", ("no front matter",)),
    "not-closed": Case("content/not-closed.md", 1, "error", ("front matter is not closed",)),
    "missing-title": Case("content/no-title.md", 1, "error", ("missing 'title'",)),
    "missing-date": Case("content/no-date.md", 1, "error", ("missing 'publishedDateTime'",)),
    "blank-title": Case("content/blank-title.md", 3, "error", ("title: is empty; write a",)),
    "null-date": Case("content/null-date.md", 3, "error", ("date: is empty; write the date",)),
    "unparseable-date": Case(
        "content/yesterday.md",
        3,
        "error",
        ("publishedDateTime:", "'yesterday' is not an ISO 8601 date"),
    ),
    "impossible-date": Case(
        "content/feb30.md",
        3,
        "error",
        ("publishedDateTime:", "'2023-02-30' is not an ISO 8601 date"),
    ),
    "wrong-type": Case(
        "content/topics-int.md", 4, "error", ("topics:", "must be a list of names", "5")
    ),
    "javascript-original-url": Case(
        "content/js-url.md", 4, "error", ("originalUrl:", "unsafe URL scheme 'javascript:'")
    ),
    "javascript-image-url": Case(
        "content/js-image.md", 5, "error", ("images:", "unsafe URL scheme 'javascript:'")
    ),
    "duplicate-explicit-slug": Case(
        "content/slug-b.md", 4, "error", ("slug 'same'", "content/slug-a.md")
    ),
    "duplicate-title": Case(
        "content/twin-b.md", 2, "warning", ("slug 'twin'", "content/twin-a.md", "'twin-2'")
    ),
    "not-utf8": Case(LATIN1_PATH, 5, "error", ("not valid UTF-8", "0xe9")),
    "empty-file": Case("content/empty.md", 1, "error", ("no front matter",)),
    "empty-related-item": Case(
        "content/related-empty.md",
        4,
        "warning",
        ("related: an item with neither a title nor a webUrl is left out",),
    ),
    "updated-before-published": Case(
        "content/updated-early.md", 4, "warning", ("updated: before the publication date",)
    ),
    "nested-too-deep": Case(
        "content/too-deep.md", 5, "error", ("the body nests 20,001 elements deep", "flatten it")
    ),
}

# Every article page the build must write, and nothing else.
EXPECTED_ARTICLE_PAGES = {
    "2024/05/01/good-one/index.html",
    "2024/05/02/good-two/index.html",
    "2024/05/02/updated-early/index.html",
    "2024/05/01/same/index.html",
    "2024/05/03/twin/index.html",
    "2024/05/03/twin-2/index.html",
    "2024/05/05/has-a-secret/index.html",
    "2024/05/04/bom-and-crlf/index.html",
    "2024/05/01/related-empty/index.html",
}


@dataclass(frozen=True)
class Built:
    site: Path
    output: Path
    report: BuildReport

    def diagnostics_for(self, path: str) -> list[Diagnostic]:
        return [d for d in self.report.diagnostics if d.path == path]

    def article_pages(self) -> set[str]:
        return {
            p.relative_to(self.output).as_posix()
            for p in self.output.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/*/index.html")
        }

    def all_output_bytes(self) -> bytes:
        return b"".join(p.read_bytes() for p in sorted(self.output.rglob("*")) if p.is_file())


@pytest.fixture
def built(make_site: MakeSite, build_site: BuildSite) -> Built:
    site = make_site({**GOOD_FILES, **BAD_FILES})
    (site / LATIN1_PATH).write_bytes(LATIN1_BYTES)
    (site / BOM_CRLF_PATH).write_bytes(BOM_CRLF_BYTES)
    return Built(site, site / "output", build_site(site))


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_bad_file_gives_one_diagnostic_with_path_and_line(built: Built, case: Case) -> None:
    found = built.diagnostics_for(case.path)
    assert len(found) == 1, [str(d) for d in found]
    text = str(found[0])
    assert text.startswith(case.prefix), text
    for fragment in case.fragments:
        assert fragment in text, text


def test_every_diagnostic_is_one_of_the_cases(built: Built) -> None:
    expected_paths = sorted(case.path for case in CASES.values())
    assert sorted(d.path for d in built.report.diagnostics) == expected_paths
    warnings = sum(case.severity == "warning" for case in CASES.values())
    assert (built.report.errors, built.report.warnings) == (len(CASES) - warnings, warnings)


def test_good_articles_are_built_and_bad_ones_are_not(built: Built) -> None:
    assert built.article_pages() == EXPECTED_ARTICLE_PAGES
    assert built.report.articles == len(EXPECTED_ARTICLE_PAGES)
    page = (built.output / "2024/05/01/good-one/index.html").read_text(encoding="utf-8")
    assert '<h1 dir="auto">Good one</h1>' in page
    assert "The first good body." in page
    everything = built.all_output_bytes().decode("utf-8")
    for title in ("Yesterday", "February 30", "Topics int", "JS url", "JS image", "Slug thief"):
        assert title not in everything, title
    assert "Latin one" not in everything


def test_duplicate_explicit_slug_keeps_the_first_file(built: Built) -> None:
    page = (built.output / "2024/05/01/same/index.html").read_text(encoding="utf-8")
    assert "Slug owner" in page
    assert "Slug thief" not in page


def test_duplicate_title_builds_both_with_a_suffix(built: Built) -> None:
    first = (built.output / "2024/05/03/twin/index.html").read_text(encoding="utf-8")
    second = (built.output / "2024/05/03/twin-2/index.html").read_text(encoding="utf-8")
    assert '<h1 dir="auto">Twin</h1>' in first
    assert '<h1 dir="auto">Twin</h1>' in second


def test_exit_code_is_one(built: Built) -> None:
    assert built.report.exit_code == 1


def test_cli_returns_one_and_prints_the_same_lines(built: Built) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(["build", str(built.site)], out=out, err=err)
    assert code == 1
    assert err.getvalue().splitlines() == [
        *(str(d) for d in built.report.diagnostics),
        f"{SET_ASIDE_NOTE}; fix them and build again",
    ]
    warnings = sum(case.severity == "warning" for case in CASES.values())
    assert f"{len(CASES) - warnings} errors, {warnings} warnings" in out.getvalue()


def test_an_update_before_publication_is_not_shown(built: Built) -> None:
    html = (built.output / "2024/05/02/updated-early/index.html").read_text("utf-8")
    assert 'class="updated"' not in html and "modified_time" not in html


def test_bom_and_crlf_file_builds(built: Built) -> None:
    assert built.diagnostics_for(BOM_CRLF_PATH) == []
    page = (built.output / "2024/05/04/bom-and-crlf/index.html").read_text(encoding="utf-8")
    assert '<h1 dir="auto">Bom and CRLF</h1>' in page
    assert "Body line one." in page
    assert "\r" not in page
    assert (built.output / "topics/windows/index.html").is_file()


def test_underscore_folders_and_dot_files_are_skipped(built: Built) -> None:
    shown = {d.path for d in built.report.diagnostics}
    assert not any("_drafts" in p or ".hidden" in p for p in shown)
    everything = built.all_output_bytes().decode("utf-8")
    assert "Skipped draft folder" not in everything
    assert "Skipped hidden file" not in everything
    assert not (built.output / "2024/05/06").exists()


def test_secured_is_never_written(built: Built) -> None:
    page = (built.output / "2024/05/05/has-a-secret/index.html").read_text(encoding="utf-8")
    assert "Has a secret" in page  # the article itself is built
    assert SECRET.encode() not in built.all_output_bytes()


def test_unknown_key_is_kept_in_extra_but_not_shown(built: Built) -> None:
    loaded = load_articles(built.site, ZoneInfo("UTC"))
    by_path = {a.source_path: a for a in loaded.articles}
    secret = by_path["content/secret.md"]
    assert secret.extra == {"mood": UNKNOWN_VALUE}
    assert "secured" not in secret.extra
    assert UNKNOWN_VALUE.encode() not in built.all_output_bytes()


def test_parse_article_keeps_unknown_keys_in_extra() -> None:
    front = split(decode(article("Extra", mood='"calm"', rating="7").encode()))
    parsed, problems = parse_article(
        front, "content/extra.md", "extra", ZoneInfo("UTC"), render_markdown(front.body)
    )
    assert problems == ()
    assert parsed is not None
    assert dict(parsed.extra) == {"mood": "calm", "rating": 7}


def test_heat_below_minus_one_names_the_limit() -> None:
    from generator.schema import FieldError, to_int

    with pytest.raises(FieldError, match=r"must be at least -1, not -5"):
        to_int(-5, -1)


def test_max_file_size_from_site_yaml_sets_big_files_aside(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    from conftest import SITE_YAML

    site = make_site({
        "site.yaml": SITE_YAML + "max_file_size: 1024\n",
        "content/small.md": article("Small"),
        "content/big.md": article("Big", body="word " * 300),
    })  # fmt: skip
    report = build_site(site)
    messages = [str(d) for d in report.diagnostics]
    assert len(messages) == 1 and messages[0].startswith("content/big.md: error: ")
    assert "over the max_file_size limit" in messages[0]
    assert (site / "output/2024/05/01/small/index.html").is_file()


def test_a_file_just_over_the_limit_is_measured_in_bytes(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    from conftest import SITE_YAML

    limit = 2 * 1_048_576
    site = make_site({"site.yaml": SITE_YAML + f"max_file_size: {limit}\n"})
    text = article("Just over", body="word " * (limit // 5 + 10))
    (site / "content").mkdir(exist_ok=True)
    (site / "content" / "over.md").write_text(text)
    [message] = [str(d) for d in build_site(site).diagnostics]
    size = len(text.encode())
    assert f"the file is {size:,} bytes, over the max_file_size limit of {limit:,} bytes" in message


def test_names_that_are_not_utf8_are_errors_naming_their_bytes(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    # As archives unpacked from other systems hold; no page, cache or message can.
    site = make_site({"content/good.md": article("Good")})
    content = site / "content"
    (content / os.fsdecode(b"caf\xe9.md")).write_text(article("Cafe"), encoding="utf-8")
    folder = content / os.fsdecode(b"dir\xff")
    folder.mkdir()
    (folder / "inside.md").write_text(article("Inside"), encoding="utf-8")
    report = build_site(site, jobs=1)
    assert [str(d) for d in report.diagnostics] == [
        "content/caf\\xe9.md: error: the file name is not UTF-8; rename it",
        "content/dir\\xff: error: the folder name is not UTF-8; rename it "
        "(its articles are left out)",
    ]
    assert report.articles == 1 and report.exit_code == 1


def test_a_folder_that_cannot_be_listed_is_an_error_not_a_silence(
    make_site: MakeSite, build_site: BuildSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site({"content/good.md": article("Good"), "content/locked/l.md": article("L")})
    assert build_site(site, jobs=1).articles == 2
    scandir = os.scandir

    def refusing(path: str | Path) -> Iterator[os.DirEntry[str]]:
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", path)
        return scandir(path)

    monkeypatch.setattr(loader_module.os, "scandir", refusing)
    report = build_site(site, jobs=1)
    assert [str(d) for d in report.diagnostics] == [
        "content/locked: error: cannot list this folder: Permission denied; "
        "its articles are left out"
    ]
    assert report.articles == 1 and report.exit_code == 1


def test_a_file_name_with_a_line_break_stays_on_its_report_line(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/evil\nforged.md": article("")})
    report = build_site(site, jobs=1)
    lines = [str(d) for d in report.diagnostics]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert lines[0].startswith("content/evil\\nforged.md:2: error: ")


@pytest.mark.parametrize(
    ("images", "message"),
    [
        ('["https://x.example/y.jpg"]', "item 1: must be a mapping of key: value lines, not text"),
        (
            "[{url: a.jpg}, 42]",
            "item 2: must be a mapping of key: value lines, not a whole number 42",
        ),
        ("https://x.example/y.jpg", "must be a list of mappings, not text"),
    ],
)
def test_an_images_list_names_the_item_that_is_not_a_mapping(images: str, message: str) -> None:
    front = split(decode(article("Pictured", images=images).encode()))
    _, problems = parse_article(front, "content/p.md", "p", ZoneInfo("UTC"), "", "")
    assert len(problems) == 1
    assert problems[0].message.startswith(f"images: {message}")


def test_links_in_content_that_lead_nowhere_or_to_folders_are_reported(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/good.md": article("Good"), "elsewhere/a.md": article("Linked")})
    (site / "content/dangling.md").symlink_to(site / "content/nothing.md")
    (site / "content/linked").symlink_to(site / "elsewhere", target_is_directory=True)
    (site / "content/loop.md").symlink_to("loop.md")
    report = build_site(site, jobs=1)
    assert [str(d) for d in report.diagnostics] == [
        "content/dangling.md: error: cannot read: it links to a file that is not there",
        "content/linked: warning: skipped: a linked folder; move its articles into content/",
        "content/loop.md: error: cannot read: it is a link that leads back to itself",
    ]
    assert report.articles == 1


def test_static_files_with_names_not_utf8_or_links_leading_nowhere_are_skipped(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/good.md": article("Good"), "static/ok.css": "p {}"})
    (site / "static" / os.fsdecode(b"logo\xe9.png")).write_bytes(b"png")
    (site / "static/dangling.css").symlink_to(site / "static/nothing.css")
    (site / "static/loop.css").symlink_to("loop.css")
    report = build_site(site, jobs=1)
    assert [str(d) for d in report.diagnostics] == [
        "static/dangling.css: warning: skipped: a link leading nowhere; fix or remove it",
        "static/logo\\xe9.png: warning: skipped: the name is not UTF-8; rename it",
        "static/loop.css: warning: skipped: a link leading nowhere; fix or remove it",
    ]
    assert (site / "output/static/ok.css").read_text() == "p {}"


def test_static_files_gone_or_unreadable_when_copied_are_errors_naming_them(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"content/good.md": article("Good"), "static/a.css": "a", "static/b.css": "b"}
    site = make_site({**files, "static/c.css": "c", "root/d.txt": "d"})
    build(site, BuildOptions(jobs=1))
    before = _every_file(site / "output")
    (site / "content/more.md").write_text(article("More", "2024-05-02T09:00:00Z"))
    (site / "static/c.css").write_text("changed")
    real_collect, real_open = build_module.collect_static, os.open

    def collected_then_removed(theme: Theme) -> object:
        found = real_collect(theme)
        (site / "static/a.css").unlink()
        (site / "root/d.txt").unlink()
        (site / "root/d.txt").mkdir()
        return found

    def refusing(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("b.css"):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(build_module, "collect_static", collected_then_removed)
    monkeypatch.setattr(os, "open", refusing)
    with pytest.raises(BuildError) as raised:
        build(site, BuildOptions(jobs=1))
    assert [str(d) for d in raised.value.diagnostics] == [
        "root/d.txt: error: cannot read: it is no longer a file; build again",
        "static/a.css: error: cannot read: it was removed during the build; build again",
        "static/b.css: error: cannot read: Permission denied; check the file's permissions",
    ]
    assert _every_file(site / "output") == before  # nothing half written, nothing changed


def _every_file(folder: Path) -> dict[str, bytes]:
    """Every file under `folder`, hidden ones too, by path, with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_templates_with_names_not_utf8_are_skipped_with_a_warning(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/good.md": article("Good"), "templates/ok.html": "{{ 1 }}"})
    (site / "templates" / os.fsdecode(b"caf\xe9.html")).write_text("{{ unclosed")
    report = build_site(site, jobs=1)
    assert [str(d) for d in report.diagnostics] == [
        "templates/caf\\xe9.html: warning: skipped: the name is not UTF-8; rename it",
    ]
    assert report.articles == 1 and (site / "output/index.html").is_file()


def test_a_template_link_leading_nowhere_and_site_folders_that_are_files_are_warned_of(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/good.md": article("Good"), "static": "not a folder"})
    (site / "templates").mkdir()
    (site / "templates/article.html").symlink_to(site / "templates/nowhere.html")
    (site / "root").symlink_to(site / "gone")
    report = build_site(site, jobs=1)
    assert [str(d) for d in report.diagnostics] == [
        "root: warning: skipped: a link leading nowhere; fix or remove it",
        "static: warning: skipped: a file, not a folder; make it a folder",
        "templates/article.html: warning: skipped: a link leading nowhere; fix or remove it",
    ]
    assert (site / "output/2024/05/01/good/index.html").is_file()  # the theme's template


def test_a_template_link_leading_nowhere_is_warned_of_as_soon_as_it_comes_and_goes(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/good.md": article("Good"), "templates/ok.html": "{{ 1 }}"})
    assert build_site(site, jobs=1).diagnostics == ()
    (site / "templates/extra.html").symlink_to("nowhere.html")  # a name no theme has
    warned = "templates/extra.html: warning: skipped: a link leading nowhere; fix or remove it"
    assert [str(d) for d in build_site(site, jobs=1).diagnostics] == [warned]
    (site / "templates/extra.html").unlink()
    assert build_site(site, jobs=1).diagnostics == ()


@pytest.mark.parametrize(
    ("topics", "names", "warned"),
    [('[AI, "", "  ", null]', ["AI"], 3), ('""', [], 1), ("[AI, ai]", ["AI"], 0)],
)
def test_an_empty_topic_name_is_ignored_with_a_warning(
    topics: str, names: list[str], warned: int
) -> None:
    front = split(decode(article("Tagged", topics=topics).encode()))
    found, problems = parse_article(front, "content/t.md", "t", ZoneInfo("UTC"), "", "")
    assert found is not None and [t.name for t in found.topics] == names
    expected = ["content/t.md:4: warning: topics: an empty name is ignored"] * warned
    assert [str(p) for p in problems] == expected


def _parsed(text: str) -> tuple[object, list[str]]:
    front = split(decode(text.encode()))
    found, problems = parse_article(front, "content/n.md", "n", ZoneInfo("UTC"), "", "")
    return found, [str(p) for p in problems]


def test_numbers_where_text_is_wanted_are_kept_as_written() -> None:
    found, problems = _parsed(
        "---\ntitle: 12:30\ndate: 2024-01-01\ncategory: 1.10\ntype: 0x1F\nslug: 0123\n"
        "topics: [3.10, 1_000]\nimages: [{url: 'https://i.example/a.png', width: 0100}]\n"
        "custom: {size: 0x10, count: 12}\n---\n"
    )
    assert problems == []
    assert found is not None
    assert (found.title, found.category, found.type, found.slug) == (
        "12:30",
        "1.10",
        "0x1F",
        "0123",
    )
    assert [t.name for t in found.topics] == ["3.10", "1_000"]
    assert found.images[0].width == 100 and type(found.images[0].width) is int
    assert found.extra == {"custom": {"size": "0x10", "count": 12}}
    assert type(found.extra["custom"]["count"]) is int


@pytest.mark.parametrize(("written", "value"), [("08", 8), ('"100"', 100), ("'0090'", 90)])
def test_a_whole_number_in_digits_is_read_quoted_or_with_a_leading_zero(
    written: str, value: int
) -> None:
    found, problems = _parsed(f"---\ntitle: Q\ndate: 2024-01-01\nquality: {written}\n---\n")
    assert problems == [] and isinstance(found, Article) and found.quality == value


@pytest.mark.parametrize("written", ["0x1F", "1_000", "1:30"])
def test_a_whole_number_not_written_in_digits_is_refused(written: str) -> None:
    _, problems = _parsed(f"---\ntitle: Q\ndate: 2024-01-01\nquality: {written}\n---\n")
    assert problems == [
        f"content/n.md:4: error: quality: must be a whole number written in digits, not '{written}'"
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (f"heat: '{'1' * 4301}'", "heat: must be a whole number, not one of 4301 digits"),
        (
            f"images: [{{url: a.png, width: '{'9' * 5000}'}}]",
            "images: item 1: width: must be a whole number, not one of 5000 digits",
        ),
        (
            "provider: {name: P, domain: 'https://[p.example]'}",
            "provider: domain: 'https://[p.example]' is not a domain or a web address;",
        ),
        (
            "related: [{title: R, provider: {name: P, domain: 'ftp://[x'}}]",
            "related: item 1: provider: domain: 'ftp://[x' is not a domain or a web address;",
        ),
    ],
)
def test_a_value_python_cannot_read_sets_the_article_aside_naming_its_line(
    line: str, message: str
) -> None:
    found, problems = _parsed(f"---\ntitle: Q\ndate: 2024-01-01\n{line}\n---\n")
    assert found is None and len(problems) == 1
    assert problems[0].startswith(f"content/n.md:4: error: {message}")


@pytest.mark.parametrize(
    ("lines", "warning"),
    [
        ('provider: ""', "provider: is empty, so ignored"),
        ("provider: {name: ' ', domain: ''}", "provider: is empty, so ignored"),
        (
            "images: [{url: ''}, {width: 3}, {url: a.png}]",
            "images: an image without a url is left out",
        ),
        (
            "related: [{title: '', webUrl: ''}, {title: Kept}]",
            "related: an item with neither a title nor a webUrl is left out",
        ),
    ],
)
def test_an_empty_provider_image_or_related_item_is_left_out_with_a_warning(
    lines: str, warning: str
) -> None:
    found, problems = _parsed(f"---\ntitle: E\ndate: 2024-01-01\n{lines}\n---\n")
    left_out = 2 if "images" in lines else 1  # one warning for each item left out
    assert problems == [f"content/n.md:4: warning: {warning}"] * left_out
    assert isinstance(found, Article)
    assert found.provider is None and found.source is None
    assert [i.url for i in found.images] == (["a.png"] if "images" in lines else [])
    assert [r.title for r in found.related] == (["Kept"] if "related" in lines else [])


def test_a_key_that_looks_like_a_slip_for_a_known_one_is_warned_about() -> None:
    found, problems = _parsed(
        "---\ntitle: K\ndate: 2024-01-01\ndraf: true\nTopics: [A]\npublished_at: x\n---\n"
    )
    kept = "(it is kept as extra data for templates)"
    assert problems == [
        f"content/n.md:4: warning: 'draf' is not a key of the article format; "
        f"did you mean 'draft'? {kept}",
        f"content/n.md:5: warning: 'Topics' is not a key of the article format; "
        f"did you mean 'topics'? {kept}",
    ]
    assert isinstance(found, Article) and not found.draft
    assert found.extra == {"draf": True, "Topics": ["A"], "published_at": "x"}


def test_a_related_item_takes_date_for_publisheddatetime_as_an_article_does() -> None:
    found, problems = _parsed(
        "---\ntitle: Q\ndate: 2024-01-01\nrelated:\n"
        "  - {title: A, date: 2023-12-30T10:00:00Z}\n"
        "  - {title: B, publishedDateTime: 2023-12-29, date: 2023-12-30}\n"
        "  - {title: C, date: 'last week'}\n---\n"
    )
    assert found is None  # the third item's date cannot be read, and its line is named
    assert sorted(problems) == [
        "content/n.md:6: warning: related: item 2: 'date' is ignored because "
        "'publishedDateTime' is also set; remove one",
        "content/n.md:7: error: related: item 3: date: 'last week' is not an ISO 8601 date "
        "or time; write e.g. 2024-05-01T09:30:00Z",
    ]
    found, problems = _parsed(
        "---\ntitle: Q\ndate: 2024-01-01\nrelated:\n"
        "  - {title: A, date: 2023-12-30T10:00:00Z}\n"
        "  - {title: B, publishedDateTime: 2023-12-29, date: 2023-12-30}\n---\n"
    )
    assert problems == [
        "content/n.md:6: warning: related: item 2: 'date' is ignored because "
        "'publishedDateTime' is also set; remove one"
    ]
    assert isinstance(found, Article)
    assert [(item.published.day, item.published.hour) for item in found.related] == [
        (30, 10),
        (29, 0),
    ]


def test_a_problem_in_a_list_names_the_line_of_its_item() -> None:
    _, problems = _parsed(
        "---\ntitle: Q\ndate: 2024-01-01\nimages:\n"
        "  - url: a.png\n  - url: b.png\n  - url: c.png\n    width: 12px\n"
        "topics:\n  - Kept\n  - [nested]\n"
        "related:\n  - {title: One}\n  -\n    title: Two\n    webUrl: 'javascript:x'\n---\n"
    )
    assert sorted(p.split(": error: ")[0] for p in problems) == [
        "content/n.md:11",  # topics: item 2
        "content/n.md:15",  # related: item 2, whose mapping starts on the line after its '-'
        "content/n.md:7",  # images: item 3
    ]


def test_every_bad_item_of_a_list_is_named_at_once() -> None:
    found, problems = _parsed(
        "---\ntitle: Q\ndate: 2024-01-01\nimages:\n"
        "  - url: a.png\n    width: wide\n  - url: b.png\n  - 7\n"
        "topics: [Kept, [x], {y: 1}]\n"
        "related:\n  - title: One\n    images: [{url: 'javascript:x'}, {url: c.png, height: 0}]\n"
        "  - {title: Two, webUrl: 'javascript:y'}\n---\n"
    )
    assert found is None
    expected = [
        "content/n.md:5: error: images: item 1: width: must be a whole number",
        "content/n.md:8: error: images: item 3: must be a mapping",
        "content/n.md:9: error: topics: must list names as text, not a list",
        "content/n.md:9: error: topics: must list names as text, not a mapping",
        "content/n.md:11: error: related: item 1: images: item 1: url: unsafe URL scheme",
        "content/n.md:11: error: related: item 1: images: item 2: height: must be between",
        "content/n.md:13: error: related: item 2: webUrl: unsafe URL scheme",
    ]
    in_order = sorted(problems, key=lambda p: int(p.split(":")[1]))
    assert len(in_order) == len(expected)
    assert all(p.startswith(e) for p, e in zip(in_order, expected, strict=True)), in_order


def test_every_bad_key_of_one_item_is_named_at_once() -> None:
    found, problems = _parsed(
        "---\ntitle: Q\ndate: 2024-01-01\nimages:\n"
        "  - url: a.png\n    width: wide\n    height: -1\n"
        "related:\n  - title: [One]\n    publishedDateTime: 2024-13-01\n"
        "    date: 2024-01-01\n    provider: {name: [P], domain: p.example}\n---\n"
    )
    assert found is None
    assert sorted(problems) == [
        "content/n.md:5: error: images: item 1: height: must be between 1 and 100000, not -1",
        "content/n.md:5: error: images: item 1: width: must be a whole number, not text "
        "'wide'; write digits only",
        "content/n.md:9: error: related: item 1: provider: name: must be text, not a list; "
        "put the value in quotes",
        "content/n.md:9: error: related: item 1: publishedDateTime: '2024-13-01' is not an "
        "ISO 8601 date or time (there is no month 13: months go from 01 to 12); write e.g. "
        "2024-05-01T09:30:00Z",
        "content/n.md:9: error: related: item 1: title: must be text, not a list; put the "
        "value in quotes",
        "content/n.md:9: warning: related: item 1: 'date' is ignored because "
        "'publishedDateTime' is also set; remove one",
    ]


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("true", "publishedDateTime: must be a date or time, not a boolean; write e.g. 2024"),
        ('""', "publishedDateTime: is empty; write e.g. 2024"),
        ("[2024-01-01]", "publishedDateTime: must be a date or time, not a list; write e.g. 2024"),
        ("{day: 1}", "publishedDateTime: must be a date or time, not a mapping; write e.g. 2024"),
        (
            "2024-01-01T10:00:00+25:00",
            "publishedDateTime: '2024-01-01T10:00:00+25:00' is not an ISO 8601 date or time (its "
            "offset from UTC is not within 24 hours); write e.g. 2024",
        ),
        (
            "2024-13-01",
            "publishedDateTime: '2024-13-01' is not an ISO 8601 date or time (there "
            "is no month 13: months go from 01 to 12); write",
        ),
        (
            "2023-02-29",
            "publishedDateTime: '2023-02-29' is not an ISO 8601 date or time "
            "(February 2023 has 28 days, not 29); write",
        ),
        ("2024-04-00", "(there is no day 0); write"),
        ("2024-04-01T24:00", "(hours go from 00 to 23, not 24); write"),
        ("2024-04-01T10:60", "(minutes go from 00 to 59, not 60); write"),
        ("2024-04-01T10:10:61Z", "(seconds go from 00 to 59, not 61); write"),
        ("0000-04-01", "(there is no year 0); write"),
    ],
)
def test_a_date_of_the_wrong_kind_is_named_in_the_writers_words(written: str, said: str) -> None:
    found, problems = _parsed(f"---\ntitle: Q\npublishedDateTime: {written}\n---\n")
    assert found is None and len(problems) == 1
    assert problems[0].startswith("content/n.md:3: error: publishedDateTime: "), problems[0]
    assert said in problems[0], problems[0]


def test_each_item_left_out_of_a_list_is_named_at_its_line() -> None:
    found, problems = _parsed(
        "---\ntitle: E\ndate: 2024-01-01\nimages:\n  - url: a.png\n  - alt: no url\n  -\n"
        "topics:\n  - Kept\n  -\n  - ' '\nrelated:\n  - title: Kept\n  - {excerpt: x}\n  - ~\n"
        "---\n"
    )
    assert isinstance(found, Article)
    assert [i.url for i in found.images] == ["a.png"] and len(found.related) == 1
    assert sorted(problems, key=lambda p: int(p.split(":")[1])) == [
        "content/n.md:6: warning: images: an image without a url is left out",
        "content/n.md:7: warning: images: an image without a url is left out",
        "content/n.md:10: warning: topics: an empty name is ignored",
        "content/n.md:11: warning: topics: an empty name is ignored",
        "content/n.md:14: warning: related: an item with neither a title nor a webUrl is left out",
        "content/n.md:15: warning: related: an item with neither a title nor a webUrl is left out",
    ]
