"""The command line: init, new, build, check and their options, exit codes and output."""

from __future__ import annotations

import gc
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import REPO, SITE_YAML, BuildSite, MakeSite, article
from generator.cli import SET_ASIDE_NOTE, main
from generator.model import Article
from generator.parallel import release


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def article_pages(output: Path) -> set[str]:
    return {
        p.parent.relative_to(output).as_posix()
        for p in output.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/*/index.html")
    }


def test_init_creates_a_site_that_builds(tmp_path: Path) -> None:
    site = tmp_path / "newsroom"
    code, out, err = run("init", str(site))
    assert code == 0, err
    assert (site / "site.yaml").is_file()
    assert len(list((site / "content").rglob("*.md"))) == 2
    code, out, err = run("build", str(site))
    assert code == 0, err
    assert err == ""
    assert out.splitlines()[-1].startswith("2 articles, ")
    assert len(article_pages(site / "output")) == 2
    assert (site / "output" / "index.html").is_file()


def test_init_dates_its_articles_in_the_new_site_s_zone_not_the_machine_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "Pacific/Kiritimati")  # UTC+14: another day most of the time
    time.tzset()
    try:
        assert run("init", str(tmp_path / "site"))[0] == 0
    finally:
        monkeypatch.undo()
        time.tzset()
    [welcome] = (tmp_path / "site/content").glob("*-welcome.md")
    published = re.search(r"publishedDateTime: (\S+)", welcome.read_text()).group(1)
    moment = datetime.fromisoformat(published)
    assert moment.utcoffset() == timedelta(0)
    assert welcome.name == f"{moment:%Y-%m-%d}-welcome.md"
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 60


def test_the_build_command_that_init_prints_works_from_where_init_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run("init", "news room")
    assert code == 0, err
    command = shlex.split(out.splitlines()[-1].removeprefix("build it with: broadsheet "))
    assert command == ["build", "news room"]
    code, out, err = run(*command)  # the site folder is relative to the working one
    assert (code, err) == (0, "")
    site = tmp_path / "news room"
    assert len(article_pages(site / "output")) == 2
    monkeypatch.chdir(site)
    (site / "output").rename(tmp_path / "first")
    for command in (["build"], ["check"], ["build", "--jobs", "2"]):  # the default folder, "."
        code, out, err = run(*command)
        assert (code, err) == (0, ""), command
    assert snapshot(site / "output") == snapshot(tmp_path / "first")


def test_a_build_about_to_exit_leaves_what_it_made_unfreed(make_site: MakeSite) -> None:
    site = make_site({"content/a.md": article("Kept for the exit", "2024-03-01T08:00:00Z")})

    def alive() -> int:
        release()  # what the build published for its workers
        gc.collect()
        return sum(
            1 for o in gc.get_objects() if isinstance(o, Article) and o.title == "Kept for the exit"
        )

    out, err = io.StringIO(), io.StringIO()
    assert main(["build", str(site)], out, err) == 0
    assert alive() == 0  # freed when the build returned
    shutil.rmtree(site / "output")
    left: list[object] = []
    assert main(["build", str(site)], out, err, leave=left) == 0
    assert alive() >= 1
    left.clear()
    assert alive() == 0


def test_init_on_an_existing_site_fails_and_changes_nothing(tmp_path: Path) -> None:
    site = tmp_path / "newsroom"
    assert run("init", str(site))[0] == 0
    (site / "site.yaml").write_text(SITE_YAML, encoding="utf-8")  # edited by its owner
    before = snapshot(site)
    code, _, err = run("init", str(site))
    assert code == 2
    assert "exists already" in err
    assert snapshot(site) == before


def test_new_creates_an_article_that_builds(make_site: MakeSite) -> None:
    site = make_site({})
    code, out, err = run("new", "Harbour Wall Repaired", "--topic", "X", "--topic", "Y", str(site))
    assert code == 0, err
    [created] = list((site / "content").rglob("*.md"))
    assert f"created {created}" in out
    assert created.is_relative_to(site / "content")
    assert "harbour-wall-repaired" in created.name
    code, _, err = run("build", str(site))
    assert code == 0, err
    [page] = article_pages(site / "output")
    assert page.endswith("/harbour-wall-repaired")
    html = (site / "output" / page / "index.html").read_text(encoding="utf-8")
    assert '<h1 dir="auto">Harbour Wall Repaired</h1>' in html
    assert (site / "output" / "topics" / "x" / "index.html").is_file()
    assert (site / "output" / "topics" / "y" / "index.html").is_file()
    assert '<a href="/topics/x/"><bdi>X</bdi></a>' in html
    assert '<a href="/topics/y/"><bdi>Y</bdi></a>' in html


@pytest.mark.parametrize(
    ("title", "settings", "message"),
    [
        ("", SITE_YAML, "error: the title is empty"),
        ("   ", SITE_YAML, "error: the title is empty"),
        ("A headline", None, "error: no site.yaml in "),
        ("A headline", SITE_YAML.replace("UTC", "Mars/Olympus"), "site.yaml:4: error: 'timezone'"),
    ],
)
def test_new_refuses_what_would_not_build(
    tmp_path: Path, title: str, settings: str | None, message: str
) -> None:
    if settings is not None:
        (tmp_path / "site.yaml").write_text(settings, encoding="utf-8")
    code, _, err = run("new", title, str(tmp_path))
    assert code == 2
    assert err.startswith(message)
    assert not (tmp_path / "content").exists()


def test_new_keeps_a_title_on_one_line_without_control_characters(make_site: MakeSite) -> None:
    site = make_site({})
    code, _, err = run("new", "Harbour\tWall\x07 Repaired\n", "--topic", "Ports\x1b", str(site))
    assert code == 0, err
    [created] = list((site / "content").rglob("*.md"))
    text = created.read_text(encoding="utf-8")
    assert 'title: "Harbour Wall Repaired"' in text
    assert '  - "Ports"' in text
    code, out, err = run("build", str(site))
    assert (code, err) == (0, "")
    assert ", 0 warnings" in out


def test_new_with_the_path_first(make_site: MakeSite) -> None:
    site = make_site({})
    code, out, err = run("new", "Quay Reopens", str(site), "--topic", "Port")
    assert code == 0, err
    [created] = list((site / "content").rglob("*.md"))
    assert 'title: "Quay Reopens"' in created.read_text(encoding="utf-8")
    assert str(created) in out


def test_check_writes_nothing_and_matches_build_exit_code(make_site: MakeSite) -> None:
    site = make_site(
        {"content/good.md": article("Good"), "content/bad.md": article("Bad", "yesterday")}
    )
    check_code, _, check_err = run("check", str(site))
    assert not (site / "output").exists()
    assert "content/bad.md:3: error:" in check_err
    build_code, _, build_err = run("build", str(site))
    assert check_code == build_code == 1
    note = f"{SET_ASIDE_NOTE}; fix them and build again\n"
    assert check_err + note == build_err
    assert (site / "output" / "index.html").is_file()


def test_a_broken_edit_keeps_the_live_article_until_it_is_fixed(make_site: MakeSite) -> None:
    site = make_site(
        {
            "content/a.md": article("Kept", "2024-05-02T09:00:00Z", body="Its *own* words."),
            "content/b.md": article("Other"),
        }
    )
    output = site / "output"
    page, day = output / "2024/05/02/kept/index.html", output / "2024/05/02/index.html"
    assert run("build", str(site))[0] == 0 and page.is_file()
    before = snapshot(output)
    (site / "content/a.md").write_text(article("Kept", "yesterday"), encoding="utf-8")
    code, _, err = run("build", str(site))
    assert code == 1 and "content/a.md:3: error:" in err
    assert snapshot(output) == before  # the site is as the broken edit found it
    # Built anew around its last good version: under new settings, beside new articles.
    (site / "content/c.md").write_text(article("New one"), encoding="utf-8")
    yaml = (site / "site.yaml").read_text(encoding="utf-8")
    (site / "site.yaml").write_text(yaml.replace("Test Times", "Renamed Times"), encoding="utf-8")
    assert run("build", str(site))[0] == 1  # still broken: kept again
    text = page.read_text(encoding="utf-8")
    assert "Renamed Times" in text and "<em>own</em> words" in text and "/2024/05/02/" in text
    assert day.is_file() and "Kept" in (output / "index.html").read_text(encoding="utf-8")
    assert "/2024/05/02/kept/" in (output / "sitemap.xml").read_text(encoding="utf-8")
    assert (output / "2024/05/01/new-one/index.html").is_file()
    (site / "content/a.md").unlink()
    assert run("build", str(site))[0] == 0
    assert not page.exists() and not day.exists()


def test_a_build_with_errors_keeps_only_the_pages_of_articles_set_aside(
    make_site: MakeSite,
) -> None:
    site = make_site(
        {
            "content/a.md": article("Kept"),
            "content/b.md": article("Taken down"),
            "content/d.md": article("Secret draft", draft="true"),
        }
    )
    output = site / "output/2024/05/01"
    assert run("build", "--drafts", str(site))[0] == 0
    assert {p.name for p in output.iterdir() if p.is_dir()} == {
        "kept",
        "taken-down",
        "secret-draft",
    }
    (site / "content/a.md").write_text(article("Kept", "yesterday"), encoding="utf-8")
    (site / "content/b.md").unlink()
    assert run("build", str(site))[0] == 1
    assert {p.name for p in output.iterdir() if p.is_dir()} == {"kept"}  # no draft, none taken down


def test_a_broken_article_keeps_its_last_good_version_and_a_broken_draft_stays_hidden(
    make_site: MakeSite,
) -> None:
    site = make_site(
        {
            "content/x1.md": article("Same", "2024-05-01T08:00:00Z"),
            "content/x2.md": article("Same", "2024-05-01T09:00:00Z"),
            "content/d.md": article("Draft", "2024-05-01T10:00:00Z", draft="true"),
        }
    )
    output = site / "output/2024/05/01"
    assert run("build", "--drafts", str(site))[0] == 0
    assert {p.name for p in output.iterdir() if p.is_dir()} == {"same", "same-2", "draft"}
    (site / "content/x2.md").write_text(article("Same", "yesterday"), encoding="utf-8")
    (site / "content/d.md").write_text(article("Draft", "yesterday", draft="true"))
    assert run("build", str(site))[0] == 1
    assert {p.name for p in output.iterdir() if p.is_dir()} == {"same", "same-2"}
    # With its neighbour gone, its last good version stays at the address it has.
    (site / "content/x1.md").unlink()
    assert run("build", str(site))[0] == 1
    assert {p.name for p in output.iterdir() if p.is_dir()} == {"same-2"}


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)//",
        "example.org/news/",
        "https://t.example/?q=1",
        "ftp://t.example/",
        "",
        "https://t.example/index.html",
        "https://t.example//",
        "https://t.example/news/../",
    ],
)
@pytest.mark.parametrize("command", ["build", "check"])
def test_a_base_url_flag_is_checked_as_site_yaml_is(
    make_site: MakeSite, command: str, url: str
) -> None:
    site = make_site({"content/a.md": article()})
    code, _, err = run(command, str(site), "--base-url", url)
    assert code == 2
    assert err.startswith("--base-url: error: must ")
    assert not (site / "output").exists()
    assert run(command, str(site), "--base-url", "https://cdn.t.example/sub")[0] == 0


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        ("file", "is a file"),
        ("dangling", "is a link to nowhere/out, which does not exist"),
        ("content/out", "is inside content/"),
        ("content", "is inside content/"),
        ("static/out", "is inside static/"),
        ("templates", "is inside templates/"),
        (".broadsheet-cache/out", "is inside .broadsheet-cache/"),
        ("root/out", "is inside root/"),
        (".", "is the site's folder or holds it"),
        ("..", "is the site's folder or holds it"),
    ],
)
def test_an_output_folder_the_build_must_not_write_is_refused(
    make_site: MakeSite, where: str, reason: str
) -> None:
    site = make_site({"content/a.md": article()})
    output = site / where
    if where == "file":
        output.write_text("not a folder")
    elif where == "dangling":
        output.symlink_to("nowhere/out")
    before = snapshot(site)
    code, _, err = run("build", str(site), "-o", str(output))
    assert code == 2
    assert err.startswith(f"{where}: error: the output folder {reason}")  # from the site
    assert snapshot(site) == before


@pytest.mark.parametrize("port", ["70000", "-1"])
def test_a_port_out_of_range_is_refused(
    make_site: MakeSite, port: str, capsys: pytest.CaptureFixture[str]
) -> None:
    site = make_site({"content/a.md": article()})
    with pytest.raises(SystemExit) as exited:
        run("serve", str(site), f"--port={port}")
    assert exited.value.code == 2
    assert f"must be a port from 0 (any) to 65535, not {port}" in capsys.readouterr().err
    assert not (site / "output").exists()


def test_drafts_are_hidden_unless_asked_for(make_site: MakeSite) -> None:
    site = make_site(
        {
            "content/final.md": article("Final", "2024-05-01T09:00:00Z"),
            "content/wip.md": article("Work in progress", "2024-05-02T09:00:00Z", draft="true"),
        }
    )
    assert run("build", str(site))[0] == 0
    assert article_pages(site / "output") == {"2024/05/01/final"}
    assert run("build", "--drafts", str(site))[0] == 0
    assert article_pages(site / "output") == {"2024/05/01/final", "2024/05/02/work-in-progress"}


def test_hide_unpublished(make_site: MakeSite) -> None:
    files = {
        "content/shown.md": article("Shown", "2024-05-01T09:00:00Z"),
        "content/unpublished.md": article("Withdrawn", "2024-05-02T09:00:00Z", published="false"),
    }
    site = make_site(files)
    assert run("build", str(site))[0] == 0
    assert article_pages(site / "output") == {"2024/05/01/shown", "2024/05/02/withdrawn"}
    make_site({**files, "site.yaml": SITE_YAML + "hide_unpublished: true\n"})
    assert run("build", str(site))[0] == 0
    assert article_pages(site / "output") == {"2024/05/01/shown"}


def test_hide_future_holds_an_article_back_until_a_build_after_its_time(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    files = {
        "content/past.md": article("Past", "2024-05-01T09:00:00Z"),
        "content/embargo.md": article("Embargo", "2024-05-02T09:00:00Z"),
    }
    site = make_site({**files, "site.yaml": SITE_YAML + "hide_future: true\n"})
    before = datetime(2024, 5, 2, 8, 59, tzinfo=UTC)
    assert build_site(site, now=before).articles == 1
    assert article_pages(site / "output") == {"2024/05/01/past"}
    assert "Embargo" not in (site / "output/feed.xml").read_text(encoding="utf-8")
    again = build_site(site, now=before)  # nothing changed, nothing due: nothing to do
    assert again.written is not None and again.written.written == 0
    due = build_site(site, now=datetime(2024, 5, 2, 9, 0, tzinfo=UTC))  # no file changed
    assert due.articles == 2
    assert article_pages(site / "output") == {"2024/05/01/past", "2024/05/02/embargo"}
    assert "Embargo" in (site / "output/feed.xml").read_text(encoding="utf-8")
    make_site(files)  # without hide_future, the clock does not matter
    assert build_site(site, now=before).articles == 2


def test_strict_turns_a_warning_into_a_failure_and_writes_nothing(make_site: MakeSite) -> None:
    site = make_site(
        {
            "content/twin-a.md": article("Twin", "2024-05-03T08:00:00Z"),
            "content/twin-b.md": article("Twin", "2024-05-03T09:00:00Z"),
        }
    )
    code, _, err = run("check", str(site))
    assert code == 0
    assert "content/twin-b.md:2: warning:" in err
    code, _, err = run("build", "--strict", str(site))
    assert code != 0
    assert "content/twin-b.md:2: error:" in err
    assert not (site / "output").exists()


@pytest.mark.parametrize("damage", ["garbage", "a file"])
def test_strict_is_about_the_content_not_a_damaged_cache(make_site: MakeSite, damage: str) -> None:
    site = make_site({"content/a.md": article("Alpha")})
    assert run("build", str(site))[0] == 0
    cache = site / ".broadsheet-cache"
    if damage == "garbage":
        (cache / "cache.sqlite").write_text("garbage")
    else:
        shutil.rmtree(cache)
        cache.write_text("not a folder")
    code, _, err = run("check", "--strict", str(site))  # which never reads the cache
    assert (code, err) == (0, "")
    code, out, err = run("build", "--strict", str(site))
    assert code == 0, err
    assert err.startswith(".broadsheet-cache") and ": warning: cache" in err
    assert ", 0 errors, 1 warning" in out
    assert (site / "output" / "index.html").is_file()


def test_a_static_folder_where_the_theme_has_a_file_is_refused(make_site: MakeSite) -> None:
    site = make_site({"content/a.md": article("Alpha"), "static/style.css/extra.txt": "x"})
    code, _, err = run("build", str(site))
    assert code == 2
    assert err.startswith(
        "static/style.css: error: is written as a file, and as a folder holding other outputs"
    )
    assert not (site / "output").exists()


def test_files_in_root_are_published_at_the_top_of_the_site(make_site: MakeSite) -> None:
    site = make_site(
        {
            "content/a.md": article("Alpha"),
            "root/CNAME": "news.example.org\n",
            "root/.well-known/security.txt": "Contact: mailto:desk@example.org\n",
            "root/.git/config": "[core]\n",
            "root/.htaccess": "Options -Indexes\n",
            "root/robots.txt": "User-agent: *\nDisallow: /drafts/\n",
            "root/static/style.css": "p {}",
            "root/static/new.css": "p {}",
        }
    )
    code, _, err = run("build", str(site))
    assert code == 0
    assert err.splitlines() == [
        "root/static/new.css: warning: skipped: static files go in static/; move it there",
        "root/static/style.css: warning: skipped: static files go in static/; move it there",
    ]
    assert not (site / "output/static/new.css").exists()
    output = site / "output"
    assert (output / "CNAME").read_text() == "news.example.org\n"
    assert (output / ".well-known/security.txt").is_file()
    assert (output / ".htaccess").is_file()
    assert (output / "static/style.css").read_text() != "p {}"
    assert not (output / ".git").exists()
    assert (output / "robots.txt").read_text() == "User-agent: *\nDisallow: /drafts/\n"
    (site / "root/CNAME").write_text("www.example.org\n")
    code, out, _ = run("build", str(site))
    assert code == 0 and "(1 written," in out
    assert (output / "CNAME").read_text() == "www.example.org\n"


@pytest.mark.parametrize(
    ("name", "clash"),
    [
        ("index.html", "root/index.html: error: is on the path of a page, feed or sitemap"),
        ("sitemap.xml", "root/sitemap.xml: error: is on the path of a page, feed or sitemap"),
        ("topics", "root/topics: error: is on the path of a page, feed or sitemap"),
        ("feed.xml/a", "root/feed.xml/a: error: is on the path of a page, feed or sitemap"),
        (
            "topics/ports/feed.xml/b",
            "root/topics/ports/feed.xml/b: error: is on the path of a page, feed or sitemap",
        ),
    ],
)
def test_a_root_file_on_a_page_s_path_is_refused(
    make_site: MakeSite, name: str, clash: str
) -> None:
    site = make_site({"content/a.md": article("Alpha", topics="[Ports]"), f"root/{name}": "x"})
    code, _, err = run("check", str(site))
    assert code == 2 and clash in err, err
    code, _, err = run("build", str(site))
    assert code == 2 and clash in err, err
    assert not (site / "output").exists()


def test_static_entries_follow_the_rules_of_content(make_site: MakeSite, tmp_path: Path) -> None:
    site = make_site({"content/a.md": article("Alpha"), "static/inside.txt": "kept"})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not the site's")
    (site / "static" / "out.txt").symlink_to(outside / "secret.txt")
    (site / "static" / "folder").symlink_to(outside)
    (site / "static" / "in.txt").symlink_to(site / "static" / "inside.txt")
    os.mkfifo(site / "static" / "pipe")
    code, _, err = run("build", str(site))
    assert code == 0
    assert err.splitlines() == [
        "static/folder: warning: skipped: a symlink pointing outside the site; copy the file "
        "in if it belongs",
        "static/out.txt: warning: skipped: a symlink pointing outside the site; copy the file "
        "in if it belongs",
        "static/pipe: warning: skipped: not a regular file; replace it with a file",
    ]
    published = site / "output" / "static"
    assert (published / "in.txt").read_text() == "kept"
    assert not (published / "out.txt").exists() and not (published / "folder").exists()


@pytest.mark.parametrize("jobs", ["-1", "two"])
def test_jobs_must_be_a_count(make_site: MakeSite, jobs: str) -> None:
    site = make_site({"content/a.md": article()})
    with pytest.raises(SystemExit) as exited:
        run("build", str(site), "--jobs", jobs)
    assert exited.value.code == 2
    assert not (site / "output").exists()


def test_check_says_check_failed(make_site: MakeSite) -> None:
    site = make_site({"content/a.md": article(), "templates/article.html": "{% if %}"})
    code, _, err = run("check", str(site))
    assert code == 2
    assert err.splitlines()[-1] == "check failed"


def test_site_template_overrides_the_theme(make_site: MakeSite) -> None:
    template = (
        '{% extends "base.html" %}\n'
        "{% block content %}\n"
        '<p class="marker">SITE-ARTICLE-TEMPLATE</p><h1>{{ page.article.title }}</h1>\n'
        "{% endblock %}\n"
    )
    site = make_site(
        {
            "content/a.md": article("Alpha", "2024-05-01T09:00:00Z"),
            "content/b.md": article("Beta", "2024-05-02T09:00:00Z"),
            "templates/article.html": template,
        }
    )
    code, _, err = run("build", str(site))
    assert code == 0, err
    output = site / "output"
    for page in ("2024/05/01/alpha", "2024/05/02/beta"):
        html = (output / page / "index.html").read_text(encoding="utf-8")
        assert "SITE-ARTICLE-TEMPLATE" in html
        assert 'class="story"' not in html  # the theme's article body is replaced
    assert "SITE-ARTICLE-TEMPLATE" not in (output / "index.html").read_text(encoding="utf-8")


def test_site_template_can_extend_the_theme_template(make_site: MakeSite) -> None:
    template = (
        '{% extends "theme/article.html" %}\n'
        "{% block content %}"
        '<p class="marker">EXTENDED-{{ page.article.title }}</p>{{ super() }}'
        "{% endblock %}\n"
    )
    site = make_site(
        {
            "content/a.md": article("Alpha", body="Alpha body text."),
            "templates/article.html": template,
        }
    )
    code, _, err = run("build", str(site))
    assert code == 0, err
    html = (site / "output" / "2024/05/01/alpha/index.html").read_text(encoding="utf-8")
    assert '<p class="marker">EXTENDED-Alpha</p>' in html
    assert 'class="story"' in html  # the theme's block still renders via super()
    assert "Alpha body text." in html
    assert html.index("EXTENDED-Alpha") < html.index('class="story"')


@pytest.mark.parametrize(
    ("template", "line", "fragment"),
    [
        ('{% extends "base.html" %}\n{% block content %}\n{% if %}\n{% endblock %}\n', 3, ""),
        (
            '{% extends "base.html" %}\n{% block content %}\n{{ no_such_thing }}\n{% endblock %}\n',
            3,
            "no_such_thing",
        ),
        (
            '{% extends "base.html" %}\n{% block content %}\n\n{{ 1 // 0 }}\n{% endblock %}\n',
            4,
            "ZeroDivisionError: integer division or modulo by zero",
        ),
        (
            '{% extends "base.html" %}\n{% block content %}\n{{ "%d" % "x" }}\n{% endblock %}\n',
            3,
            "TypeError: %d format",
        ),
        (
            '{% extends "base.html" %}\n{% block content %}\n{% include "nothere.html" %}\n'
            "{% endblock %}\n",
            3,
            "no template 'nothere.html' in the site's templates/ or the theme's",
        ),
        (
            '{% extends "base.html" %}\n{% block content %}\n{{ site.nope }}\n{% endblock %}\n',
            3,
            "template: 'site' has no attribute 'nope'",
        ),
        (
            '{% extends "base.html" %}\n{% block content %}\n{% set x = "\\ud800" %}\n'
            "<p>{{ x }}</p>\n{% endblock %}\n",
            4,
            "template: writes U+D800, a lone surrogate, which UTF-8 cannot encode; remove it",
        ),
        (
            '<main>\n\n{% include "article.html" %}\n</main>\n',
            3,
            "template: templates extend, include or import one another without end",
        ),
        (
            '\n{% extends "article.html" %}\n',
            2,
            'template: {% extends "article.html" %} names this template itself, without end; '
            'to extend the theme\'s version, write {% extends "theme/article.html" %}',
        ),
    ],
    ids=[
        "syntax-error",
        "undefined-variable",
        "division-by-zero",
        "type-error",
        "missing",
        "site-attribute",
        "lone-surrogate",
        "including-itself",
        "extending-itself",
    ],
)
def test_template_error_fails_the_build_and_writes_nothing(
    make_site: MakeSite, template: str, line: int, fragment: str
) -> None:
    site = make_site({"content/a.md": article("Alpha"), "templates/article.html": template})
    for command in ("build", "check"):
        code, _, err = run(command, str(site))
        assert code == 2, command
        assert err.startswith(f"templates/article.html:{line}: error: template"), err
        assert fragment in err
        assert "Traceback" not in err
    assert not (site / "output").exists()


def test_a_template_writing_what_utf8_cannot_encode_is_named_and_changes_nothing(
    make_site: MakeSite,
) -> None:
    site = make_site({"content/a.md": article("Alpha")})
    assert run("build", str(site))[0] == 0
    before = snapshot(site / "output")
    # The block is kept in a variable by the theme and written by its base.html: the
    # error names the line of the site's template that wrote the character.
    (site / "templates").mkdir()
    (site / "templates/article.html").write_text(
        '{% extends "theme/article.html" %}\n{% block description %}\n'
        '{{ "\\ud800" }}{% endblock %}\n'
    )
    for command in ("build", "check"):
        code, _, err = run(command, str(site))
        assert code == 2, err
        assert err.startswith("templates/article.html:3: error: template: writes U+D800"), err
    assert snapshot(site / "output") == before
    (site / "templates/article.html").write_text(
        '{% extends "theme/article.html" %}\n{% block description %}\n'
        '{{ "mended" }}{% endblock %}\n'
    )
    code, _, err = run("build", str(site))
    assert code == 0, err
    assert 'content="mended"' in (site / "output/2024/05/01/alpha/index.html").read_text()


def test_a_template_not_in_utf8_is_a_template_error_naming_it(make_site: MakeSite) -> None:
    site = make_site({"content/a.md": article("Alpha")})
    (site / "templates/partials").mkdir(parents=True)
    (site / "templates/partials/note.txt").write_bytes(b"ok\ncaf\xe9\n")
    article_html = site / "templates/article.html"
    article_html.write_bytes(b'{% extends "theme/article.html" %}\n<p>caf\xe9</p>\n')
    for command in ("build", "check"):
        code, _, err = run(command, str(site))
        assert code == 2 and "Traceback" not in err
        assert err.startswith(
            "templates/article.html:2: error: template: not valid UTF-8 (byte 0xe9); "
            "save it as UTF-8\n"
        ), err
    article_html.write_text(
        '{% extends "theme/article.html" %}\n'
        '{% block read_at %}{% include "partials/note.txt" %}{% endblock %}\n'
    )
    code, _, err = run("build", str(site))
    assert code == 2
    assert err.startswith("templates/partials/note.txt:2: error: template: not valid UTF-8")
    assert not (site / "output").exists()


def test_a_byte_order_mark_in_a_template_never_reaches_the_pages(make_site: MakeSite) -> None:
    bom = "\ufeff"
    site = make_site(
        {
            "content/a.md": article("Alpha"),
            "templates/article.html": bom + '{% extends "theme/article.html" %}\n'
            '{% block read_at %}{% include "partials/note.html" %}{% endblock %}\n',
            "templates/base.html": bom + '{% extends "theme/base.html" %}\n',
            "templates/partials/note.html": bom + "<p>Noted</p>\n",
        }
    )
    code, _, err = run("build", str(site))
    assert code == 0, err
    page = (site / "output/2024/05/01/alpha/index.html").read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and "<p>Noted</p>" in page
    pages = [p.read_text(encoding="utf-8") for p in (site / "output").rglob("*.html")]
    assert len(pages) > 3 and not any(bom in text for text in pages)


def test_a_syntax_error_in_the_site_s_own_theme_is_reported_once(make_site: MakeSite) -> None:
    site = make_site({"content/a.md": article("Alpha"), "site.yaml": SITE_YAML + "theme: mine\n"})
    shutil.copytree(REPO / "themes/default", site / "themes/mine")
    with (site / "themes/mine/templates/home.html").open("a") as home:
        home.write("{% if %}\n")
    code, _, err = run("check", str(site))
    assert code == 2
    [reported] = [line for line in err.splitlines() if ": error: " in line]
    assert reported.startswith("themes/mine/templates/home.html:71: error: template: ")


@pytest.mark.parametrize(
    ("made", "problem"),
    [
        ("", "names an unknown theme 'mine'; put it in themes/mine/ or use 'default'"),
        ("themes/mine/static", "names the theme in themes/mine/, which has no templates/ folder"),
    ],
)
def test_a_theme_that_cannot_be_used_is_named_with_what_it_lacks(
    make_site: MakeSite, made: str, problem: str
) -> None:
    site = make_site({"content/a.md": article("Alpha"), "site.yaml": SITE_YAML + "theme: mine\n"})
    if made:
        (site / made).mkdir(parents=True)
    code, _, err = run("build", str(site))
    assert code == 2 and err.startswith(f"site.yaml:6: error: 'theme' {problem}"), err


def test_templates_are_named_from_the_site_s_folder_however_it_is_given(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = '{% extends "base.html" %}\n{% block content %}\n{{ nothing }}\n{% endblock %}\n'
    site = make_site({"content/a.md": article("Alpha"), "templates/article.html": template})
    (site.parent / "linked").symlink_to(site)
    monkeypatch.chdir(site.parent)
    for given in ("site", "./site/", "linked", str(site.parent / "linked")):
        code, _, err = run("build", given)
        assert code == 2 and err.startswith("templates/article.html:3: error: template"), err


def test_a_template_in_a_linked_folder_is_followed_when_it_changes(make_site: MakeSite) -> None:
    site = make_site({"content/a.md": article("Alpha")})
    shared = site.parent / "shared"
    shared.mkdir()
    (shared / "note.html").write_text("<p>First note</p>\n")
    (shared / "again").symlink_to(shared)  # a loop: each folder is read once
    (site / "templates").mkdir()
    (site / "templates/partials").symlink_to(shared)
    (site / "templates/article.html").write_text(
        '{% extends "theme/article.html" %}\n'
        '{% block read_at %}{% include "partials/note.html" %}{% endblock %}\n'
    )
    page = site / "output/2024/05/01/alpha/index.html"
    assert run("build", str(site))[0] == 0
    assert "First note" in page.read_text(encoding="utf-8")
    (shared / "note.html").write_text("<p>Second note</p>\n")
    code, out, _ = run("build", str(site))
    assert code == 0 and "(1 written," in out
    assert "Second note" in page.read_text(encoding="utf-8")


def test_python_dash_m_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "generator", "--help"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("build", "check", "new", "init"):
        assert command in result.stdout


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )


def test_importing_the_package_imports_none_of_the_pipeline() -> None:
    # What the command runs before it can answer Ctrl-C in one line.
    result = _python(
        "import sys, generator\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('generator'))))\n"
        "from generator import BuildError, BuildOptions, build\n"
        "print(build.__module__, BuildOptions.__module__, BuildError.__module__)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "generator generator.version",
        "generator.builder generator.builder generator.diagnostics",
    ]
    missing = _python("import generator; generator.nothing_here")
    assert "AttributeError: module 'generator' has no attribute 'nothing_here'" in missing.stderr


@pytest.mark.parametrize("module", ["generator.cli", "generator.builder", "jinja2", "yaml"])
def test_ctrl_c_while_the_command_starts_is_one_line_and_reads_nothing(
    make_site: MakeSite, module: str
) -> None:
    # Ctrl-C landing while Python imports the program (its first quarter second), at the
    # import of `module`, as the `broadsheet` script runs the command.
    site = make_site({"content/a.md": article("Alpha", "2024-05-01T09:00:00Z")})
    result = _python(
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from generator.__main__ import main\n"
        "main()\n",
        "build",
        str(site),
    )
    assert (result.returncode, result.stderr, result.stdout) == (
        130,
        "interrupted while starting: nothing was read or written\n",
        "",
    )
    assert not (site / "output").exists()
    assert not (site / ".broadsheet-cache").exists()


def test_summary_is_the_last_line_of_out(make_site: MakeSite) -> None:
    site = make_site(
        {
            "content/a.md": article("Alpha", "2024-05-01T09:00:00Z", topics="[One]"),
            "content/b.md": article("Beta", "2024-05-02T09:00:00Z", topics="[Two]"),
        }
    )
    code, out, err = run("build", str(site))
    assert code == 0, err
    last = out.rstrip("\n").splitlines()[-1]
    for word in ("articles", "pages", "feeds", "errors", "warnings", " s"):
        assert word in last, (word, last)
    assert last.startswith("2 articles, ")
    assert "0 errors, 0 warnings" in last


@pytest.mark.parametrize("broken", [False, True])
def test_the_command_delivers_all_its_output_and_exit_code_through_pipes(
    make_site: MakeSite, broken: bool
) -> None:
    files = {"content/a.md": article("Alpha", "2024-05-01T09:00:00Z")}
    if broken:
        files["content/b.md"] = "---\ntitle: [unclosed\n---\n"
    site = make_site(files)
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    result = subprocess.run(
        [sys.executable, "-m", "generator", "build", str(site)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=buffered,
        timeout=60,
        check=False,
    )
    assert result.returncode == (1 if broken else 0), result.stderr
    # Piped output is block-buffered: it arrives only if the exit flushed it.
    assert result.stdout.splitlines()[-1].startswith("1 article, 9 pages, ")
    assert ("content/b.md:3: error: invalid YAML" in result.stderr) is broken


@pytest.mark.parametrize("command", ["build", "check", "serve"])
def test_a_path_that_is_not_a_site_folder_is_named_as_such(tmp_path: Path, command: str) -> None:
    (tmp_path / "file.md").write_text("x")
    (tmp_path / "empty").mkdir()
    for name, expected in [
        ("missing", "error: no site folder {path}\n"),
        ("file.md", "error: {path} is a file, not a site folder\n"),
        ("empty", "error: no site.yaml in {path}: not a site; start one there with: "),
    ]:
        path = tmp_path / name
        code, _, err = run(command, str(path))
        assert code == 2 and err.startswith(expected.format(path=path)), err
    assert not (tmp_path / "empty" / "output").exists()


def test_init_refuses_a_file(tmp_path: Path) -> None:
    (tmp_path / "site.yaml").write_text("title: T\n")
    code, _, err = run("init", str(tmp_path / "site.yaml"))
    assert (
        code == 2
        and err == f"error: {tmp_path / 'site.yaml'} is a file; give a folder for the new site\n"
    )


def test_an_unknown_option_is_shown_with_its_command_s_usage(
    make_site: MakeSite, capsys: pytest.CaptureFixture[str]
) -> None:
    site = make_site({"content/a.md": article()})
    with pytest.raises(SystemExit) as exited:
        run("build", str(site), "--bogus")
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: broadsheet build ")
    assert err.endswith("broadsheet build: error: unrecognized arguments: --bogus\n")


def test_the_last_good_version_outlives_builds_that_fail_meanwhile(make_site: MakeSite) -> None:
    site = make_site(
        {"content/a.md": article("Kept", body="Its *own* words."), "content/b.md": article("B")}
    )
    page = site / "output/2024/05/01/kept/index.html"
    assert run("build", str(site))[0] == 0
    before = snapshot(site / "output")
    (site / "content/a.md").write_text(article("Kept", "yesterday"), encoding="utf-8")
    assert run("build", "--strict", str(site))[0] == 1  # stops before writing anything
    (site / "templates").mkdir()
    (site / "templates/base.html").write_text("{% block %}", encoding="utf-8")
    assert run("build", str(site))[0] == 2  # a template error: nothing built
    (site / "templates/base.html").unlink()
    assert run("build", str(site))[0] == 1
    assert snapshot(site / "output") == before and "<em>own</em>" in page.read_text("utf-8")
    (site / "content/a.md").write_text(article("Kept", "still wrong"), encoding="utf-8")
    assert run("build", str(site))[0] == 1  # broken otherwise: kept again
    assert snapshot(site / "output") == before
