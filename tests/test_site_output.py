"""The built site as a whole: page kinds, links, reachability, feeds, determinism."""

from __future__ import annotations

import html
import random
import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import feedparser
import jinja2
import pytest

from conftest import SITE_YAML, BuildSite, MakeSite, article, build_example
from generator import BuildError, BuildOptions, BuildReport, build
from generator.config import SiteConfig, load_config
from generator.feeds import absolute_links
from generator.loader import load_articles
from generator.model import Archive, Page, Site
from generator.plan import plan_pages
from generator.render import FragmentCache
from generator.schema import to_timestamp, to_url
from generator.site import assemble_site
from generator.sitemap import SITEMAP_NS, render_sitemaps
from generator.urls import absolute_link_to, link_to
from site_checks import broken_links, page_links, reachable_pages

SECRET = "SECRET-Qm9yZWFsaXMgdHVyYmluZSBrZXkgbWF0ZXJpYWwgbmV2ZXIgdG8gYmUgcHVibGlzaGVk"


@pytest.fixture(scope="module")
def example_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's example site, built once into a temporary folder."""
    return build_example(tmp_path_factory.mktemp("example"), with_full_article=True)


def test_every_page_kind_exists(example_output: Path) -> None:
    expected = [
        "index.html", "page/2/index.html",
        "2024/03/12/port-cranes-at-the-container-terminal-go-fully-automated/index.html",
        "2024/03/12/index.html", "2024/03/index.html", "2024/index.html", "archive/index.html",
        "topics/index.html", "topics/shipping/index.html", "topics/shipping/page/1/index.html",
        "sources/index.html", "sources/harbourlight-example/index.html",
        "feed.xml", "atom.xml", "topics/shipping/feed.xml", "sources/harbourlight-example/feed.xml",
        "sitemap.xml", "robots.txt", "404.html", "static/style.css",
    ]  # fmt: skip
    missing = [p for p in expected if not (example_output / p).is_file()]
    assert missing == []


def test_tricky_topics_get_distinct_readable_slugs(example_output: Path) -> None:
    for slug in ("c-plus-plus", "c-sharp", "dotnet", "economie", "ai"):
        assert (example_output / "topics" / slug / "index.html").is_file(), slug
    # `AI` and `ai` are one topic, shown in its most common spelling.
    topics_index = (example_output / "topics" / "index.html").read_text("utf-8")
    assert '<a href="/topics/ai/">AI</a>' in topics_index
    assert ">ai<" not in topics_index


def test_every_internal_link_resolves(example_output: Path) -> None:
    assert broken_links(example_output) == []


def test_every_page_is_reachable_from_home(example_output: Path) -> None:
    pages = set(example_output.rglob("*.html")) - {example_output / "404.html"}
    unreachable = sorted(
        str(p.relative_to(example_output)) for p in pages - reachable_pages(example_output)
    )
    assert unreachable == []


def test_secured_appears_nowhere(example_output: Path) -> None:
    for path in example_output.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def test_reference_shaped_article_is_complete(example_output: Path) -> None:
    page = (
        example_output / "2021/03/02/tidal-turbines-pass-their-first-winter-in-the-sound/index.html"
    )
    html = page.read_text("utf-8")
    assert '<h1 dir="auto">Tidal turbines pass their first winter in the sound</h1>' in html
    assert 'href="/sources/tidewatch-example/"><bdi>Tidewatch</bdi></a>' in html
    assert 'href="/topics/marine-energy/"><bdi>Marine Energy</bdi></a>' in html
    assert 'src="https://img.tidewatch.example/turbine-array.jpg"' in html
    assert 'width="800" height="450"' in html
    original = "https://tidewatch.example/energy/turbines-first-winter"
    read_at = "<span>Read at <bdi>Tidewatch</bdi></span>"
    assert f'<a href="{original}" rel="noopener">{read_at}</a>' in html
    assert "Turbine makers look for bigger blades" in html
    assert 'href="/2021/03/02/"' in html
    assert 'rel="next"' in html and 'rel="prev"' not in html  # the oldest article


def test_related_item_links_to_our_own_article(example_output: Path) -> None:
    html = (
        example_output / "2024/03/12/the-automated-port-still-needs-people/index.html"
    ).read_text("utf-8")
    own = "/2024/03/12/port-cranes-at-the-container-terminal-go-fully-automated/"
    title = "Port cranes at the container terminal go fully automated"
    assert f'<a href="{own}" dir="auto">{title}</a>' in html
    assert 'href="https://rivertrade.example/analysis/inland-terminals-remote-operation"' in html


def test_an_untitled_related_item_of_ours_shows_our_title_and_follows_it(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    target = "https://wire.example/tides"
    site = make_site({
        "content/tides.md": article("Tides run high", "2024-05-01T09:00:00Z", slug="tides",
                                    webUrl=target),
        "content/between.md": article("Between them", "2024-05-01T12:00:00Z"),
        "content/follow.md": article("Follow-up", "2024-05-02T09:00:00Z",
                                     related=f"[{{webUrl: '{target}'}}, "
                                             "{webUrl: 'https://other.example/x'}]"),
    })  # fmt: skip
    build_site(site)
    page = site / "output/2024/05/02/follow-up/index.html"
    html = page.read_text("utf-8")
    assert '<a href="/2024/05/01/tides/" dir="auto">Tides run high</a>' in html
    assert f">{target}<" not in html
    assert ">https://other.example/x</a>" in html  # not ours: its address, as before
    (site / "content/tides.md").write_text(
        article("Tides run higher", "2024-05-01T09:00:00Z", slug="tides", webUrl=target)
    )
    build_site(site)
    assert '<a href="/2024/05/01/tides/" dir="auto">Tides run higher</a>' in page.read_text()


def test_draft_is_not_built_but_unpublished_is(example_output: Path) -> None:
    built = {p.parent.name for p in example_output.glob("20*/*/*/*/index.html")}
    assert not any("satellite" in name and "slip" in name for name in built)
    assert any("counting" in name for name in built)  # published: false, hide_unpublished off


FEEDS = ["feed.xml", "atom.xml", "topics/shipping/feed.xml", "topics/c-plus-plus/feed.xml",
         "sources/harbourlight-example/feed.xml"]  # fmt: skip


@pytest.mark.parametrize("name", FEEDS)
def test_feed_parses_with_absolute_links_and_unique_guids(example_output: Path, name: str) -> None:
    parsed = feedparser.parse((example_output / name).read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.entries
    ids = [entry.id for entry in parsed.entries]
    assert len(ids) == len(set(ids))
    for entry in parsed.entries:
        assert entry.link.startswith("https://gazette.example.org/")
        assert entry.id.startswith("https://gazette.example.org/")
        assert entry.published_parsed is not None
        page = (
            example_output / entry.link.removeprefix("https://gazette.example.org/") / "index.html"
        )
        assert page.is_file(), entry.link


def test_rss_dates_are_rfc_822_and_items_capped(example_output: Path) -> None:
    root = ET.parse(example_output / "feed.xml").getroot()
    items = root.findall("channel/item")
    assert len(items) == 20  # feeds.items in the example site.yaml
    for item in items:
        date = item.findtext("pubDate")
        assert date is not None and re.fullmatch(
            r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}", date
        )
        assert parsedate_to_datetime(date).tzinfo is not None
    newest = parsedate_to_datetime(items[0].findtext("pubDate") or "")
    assert all(parsedate_to_datetime(i.findtext("pubDate") or "") <= newest for i in items)


def test_sitemap_lists_pages_and_robots_points_at_it(example_output: Path) -> None:
    root = ET.parse(example_output / "sitemap.xml").getroot()
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locations = {loc.text for loc in root.findall("s:url/s:loc", ns)}
    assert "https://gazette.example.org/" in locations
    assert "https://gazette.example.org/topics/shipping/" in locations
    assert not any(loc and loc.endswith("404.html") for loc in locations)
    html_pages = [p for p in example_output.rglob("index.html")]
    assert len(locations) == len(html_pages)
    robots = (example_output / "robots.txt").read_text("utf-8")
    assert "Sitemap: https://gazette.example.org/sitemap.xml" in robots


def _site_and_pages(make_site: MakeSite, base_url: str) -> tuple[Site, tuple[Page, ...]]:
    files = {
        f"content/a{n}.md": article(f"Item {n} & <co>", f"2024-05-{n + 1:02d}T09:00:00Z")
        for n in range(7)
    }
    folder = make_site({**files, "site.yaml": SITE_YAML.replace("https://test.example/", base_url)})
    config = load_config(folder)
    site = assemble_site(config, load_articles(folder, config.tz).articles).site
    return site, plan_pages(site)


def test_sitemap_text_is_what_elementtree_would_write(make_site: MakeSite) -> None:
    site, pages = _site_and_pages(make_site, "https://test.example/news&views<1>/")
    (sitemap,) = render_sitemaps(site, pages)
    assert b"/news&amp;views%3C1%3E/2024/05/01/item-0-and-co/</loc>" in sitemap.data
    ns = {"s": SITEMAP_NS}
    entries = [
        (url.findtext("s:loc", None, ns), url.findtext("s:lastmod", None, ns))
        for url in ET.fromstring(sitemap.data)
    ]
    assert entries[:2] == [
        (
            "https://test.example/news&views%3C1%3E/2024/05/01/item-0-and-co/",
            "2024-05-01T09:00:00+00:00",
        ),
        (
            "https://test.example/news&views%3C1%3E/2024/05/02/item-1-and-co/",
            "2024-05-02T09:00:00+00:00",
        ),
    ]
    reference = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for loc, lastmod in entries:
        url = ET.SubElement(reference, "url")
        ET.SubElement(url, "loc").text = loc
        if lastmod:
            ET.SubElement(url, "lastmod").text = lastmod
    written = ET.tostring(reference, encoding="utf-8", xml_declaration=False)
    assert sitemap.data == b'<?xml version="1.0" encoding="utf-8"?>\n' + written + b"\n"


def test_a_large_sitemap_is_split_under_an_index(make_site: MakeSite) -> None:
    site, pages = _site_and_pages(make_site, "https://test.example/")
    files = render_sitemaps(site, pages, limit=4)
    ns = {"s": SITEMAP_NS}
    index = ET.fromstring(files[0].data)
    assert files[0].path == "sitemap.xml" and index.tag == f"{{{SITEMAP_NS}}}sitemapindex"
    # Beside the index: a sitemap may list only addresses under its own folder.
    assert [f.path for f in files[1:]] == [f"sitemap-{n}.xml" for n in range(1, len(files))]
    named = [loc.text for loc in index.findall("s:sitemap/s:loc", ns)]
    assert named == [f"https://test.example/{f.path}" for f in files[1:]]
    urls = [loc.text for f in files[1:] for loc in ET.fromstring(f.data).findall("s:url/s:loc", ns)]
    assert all(len(ET.fromstring(f.data)) <= 4 for f in files[1:])
    listed = [f"https://test.example/{p.path}" for p in pages if p.kind != "404"]
    assert sorted(urls) == sorted(listed)
    assert urls[0].endswith("/item-0-and-co/")  # articles first, oldest first


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_two_builds_are_byte_identical(make_site: MakeSite, tmp_path: Path) -> None:
    site = make_site({
        f"content/a{n}.md": article(f"Story {n % 3}", f"2024-05-0{1 + n % 4}T0{n % 9}:00:00Z",
                                    topics=f"[Topic {n % 4}, topic {n % 2}]")
        for n in range(12)
    })  # fmt: skip
    build(site, BuildOptions(output_dir=tmp_path / "one"))
    build(site, BuildOptions(output_dir=tmp_path / "two"))
    one, two = _tree(tmp_path / "one"), _tree(tmp_path / "two")
    assert one.keys() == two.keys() and len(one) > 20
    assert one == two


def test_site_under_a_path_links_only_under_it(make_site: MakeSite, build_site: BuildSite) -> None:
    site = make_site({
        "site.yaml": SITE_YAML.replace("https://test.example/", "https://host.example/news/"),
        "content/a.md": article("First", topics="[Alpha]", originalUrl="https://elsewhere.example/a"),
        "content/b.md": article("Second", "2024-05-02T10:00:00Z", topics="[Alpha, Beta]"),
    })  # fmt: skip
    build_site(site)
    output = site / "output"
    assert broken_links(output, base_path="/news/") == []
    for page in output.rglob("*.html"):
        for link in page_links(page):
            assert link.startswith(("/news/", "https://", "#")), f"{page}: {link}"
            if link.startswith("https://host.example"):
                assert link.startswith("https://host.example/news/")
    feed = feedparser.parse((output / "feed.xml").read_bytes())
    assert all(e.link.startswith("https://host.example/news/") for e in feed.entries)
    assert reachable_pages(output, "/news/") >= {output / "topics/alpha/index.html"}


def test_archive_days_follow_the_site_time_zone(make_site: MakeSite, build_site: BuildSite) -> None:
    site = make_site({
        "site.yaml": SITE_YAML.replace("timezone: UTC", "timezone: Asia/Tokyo"),
        "content/late.md": article("Late news", "2024-03-31T23:30:00Z"),
    })  # fmt: skip
    build_site(site)
    output = site / "output"
    assert (output / "2024/04/01/late-news/index.html").is_file()
    assert (output / "2024/04/01/index.html").is_file()
    assert not (output / "2024/03").exists()
    html = (output / "2024/04/01/late-news/index.html").read_text("utf-8")
    assert 'datetime="2024-04-01T08:30:00+09:00"' in html


@pytest.mark.parametrize("year", [1000, 1970, 2024, 2100, 9999])
def test_archives_are_named_and_placed_as_their_dates_are_written(year: int) -> None:
    first = datetime(year, 1, 1, tzinfo=ZoneInfo("Europe/Paris"))
    for moment in (first + timedelta(days=n) for n in range(365)):
        day, month, whole = (Archive(kind, moment, ()) for kind in ("day", "month", "year"))
        assert day.name == f"{moment:%A} {moment.day} {moment:%B %Y}"
        assert (month.name, whole.name) == (f"{moment:%B %Y}", f"{moment:%Y}")
        assert day.path == f"{moment:%Y/%m/%d}/"
        assert (month.path, whole.path) == (f"{moment:%Y/%m}/", f"{moment:%Y}/")


@pytest.mark.parametrize(
    "text", ["2024-03-31T23:30:00Z", "2024-03-31t23:30:00z", "2024-03-31 23:30:00z"]
)
def test_rfc_3339_dates_are_read_in_either_case(text: str) -> None:
    moment = to_timestamp(text, ZoneInfo("Asia/Tokyo"))
    assert moment.isoformat() == "2024-04-01T08:30:00+09:00"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("2024-03-10T02:30:00", "2024-03-10T03:30:00-04:00"),  # skipped as clocks went forward
        ("2024-03-10T03:15:00", "2024-03-10T03:15:00-04:00"),
        ("2024-11-03T01:30:00", "2024-11-03T01:30:00-04:00"),  # twice: the first is taken
        ("2024-11-03T01:30:00-05:00", "2024-11-03T01:30:00-05:00"),
    ],
)
def test_local_times_are_shown_as_the_zone_wrote_them(text: str, shown: str) -> None:
    assert to_timestamp(text, ZoneInfo("America/New_York")).isoformat() == shown


def test_a_local_time_the_clocks_show_twice_or_skip_is_warned_of(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({
        "site.yaml": SITE_YAML.replace("timezone: UTC", "timezone: America/New_York"),
        "content/back.md": article("Back", "2024-11-03T01:30:00"),
        "content/forward.md": article("Forward", "2024-03-10T02:30", updated="2024-11-03 01:05"),
        "content/offset.md": article("Offset", "2024-11-03T01:30:00-05:00"),
        "content/plain.md": article("Plain", "2024-06-01T01:30:00", updated="2024-11-03"),
    })  # fmt: skip
    report = build_site(site)
    assert [(d.path, d.line, d.message) for d in report.diagnostics] == [
        (
            "content/back.md", 3, "publishedDateTime: '2024-11-03T01:30:00' happens twice in "
            "America/New_York (the clocks go back); taken as the first, -04:00: write the "
            "offset to choose (-04:00 or -05:00)",
        ),
        (
            "content/forward.md", 3, "publishedDateTime: '2024-03-10T02:30' never happens in "
            "America/New_York (the clocks go forward); taken as 03:30-04:00: write the offset "
            "to say which moment is meant",
        ),
        (
            "content/forward.md", 4, "updated: '2024-11-03 01:05' happens twice in "
            "America/New_York (the clocks go back); taken as the first, -04:00: write the "
            "offset to choose (-04:00 or -05:00)",
        ),
    ]  # fmt: skip
    assert all(not d.is_error for d in report.diagnostics)
    assert (site / "output/2024/03/10/forward/index.html").exists()


def test_a_related_item_dated_at_a_local_time_the_clocks_show_twice_or_skip_is_warned_of(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    related = """
  - title: Written twice
    publishedDateTime: 2024-11-03T01:30:00
  - title: Written with its offset
    publishedDateTime: 2024-11-03T01:30:00-05:00
  - webUrl: https://elsewhere.example/skipped
    date: 2024-03-10T02:15
  - title: Dated twice
    publishedDateTime: 2024-06-01T08:00:00
    date: 2024-11-03T01:45:00
  - excerpt: left out, as it has neither a title nor a webUrl
    date: 2024-11-03T01:30:00"""
    site = make_site({
        "site.yaml": SITE_YAML.replace("timezone: UTC", "timezone: America/New_York"),
        "content/story.md": article("Story", "2024-06-01T09:00:00", related=related),
    })  # fmt: skip
    report = build_site(site)
    warned = [(d.line, d.message) for d in report.diagnostics if "clocks" in d.message]
    assert warned == [
        (
            5, "related: item 1: publishedDateTime: '2024-11-03T01:30:00' happens twice in "
            "America/New_York (the clocks go back); taken as the first, -04:00: write the "
            "offset to choose (-04:00 or -05:00)",
        ),
        (
            9, "related: item 3: date: '2024-03-10T02:15' never happens in America/New_York "
            "(the clocks go forward); taken as 03:15-04:00: write the offset to say which "
            "moment is meant",
        ),
    ]  # fmt: skip
    assert all(not d.is_error for d in report.diagnostics)
    page = (site / "output/2024/06/01/story/index.html").read_text(encoding="utf-8")
    assert "Written twice" in page and "Dated twice" in page


@pytest.mark.parametrize(
    ("text", "zone", "shown"),
    [
        ("1900-01-01", "Europe/Paris", "1900-01-01T00:00:00+00:09"),  # an old offset, +00:09:21
        ("1890-05-01T23:59:50", "Europe/Amsterdam", "1890-05-01T23:59:50+00:20"),
        ("1000-01-01", "Europe/Berlin", "1000-01-01T00:00:00+00:53"),
        ("1905-06-01T12:00:00Z", "Europe/Paris", "1905-06-01T12:09:00+00:09"),  # that moment
        ("1905-06-01T00:00:00+00:09:21", "Europe/Paris", "1905-06-01T00:00:00+00:09"),
        ("9999-12-31T20:30:00", "America/New_York", "9999-12-31T20:30:00-05:00"),  # UTC's 10000
    ],
)
def test_a_time_written_in_the_zone_stays_on_its_day(text: str, zone: str, shown: str) -> None:
    assert to_timestamp(text, ZoneInfo(zone)).isoformat() == shown


def test_a_time_with_a_fraction_of_a_second_is_written_to_the_second_on_pages(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/a.md": article("Precise", "2024-03-08T10:00:00.123456Z")})
    build_site(site)
    output = site / "output"
    for page in ("2024/03/08/precise/index.html", "index.html", "2024/03/08/index.html"):
        stamps = re.findall(
            r'<time dir="ltr" datetime="([^"]+)"', (output / page).read_text("utf-8")
        )
        assert stamps and set(stamps) == {"2024-03-08T10:00:00+00:00"}, (page, stamps)


def test_a_source_domain_written_several_ways_is_one_source(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    shapes = [
        "herald.example",
        "https://Herald.example/news/",
        "herald.example.",
        "www.HERALD.example",
        "herald.example:443",
        "herald.example:",
        "https://www.herald.example:8443/",
    ]
    files = {
        f"content/{n}.md": article(
            f"Story {n}", f"2024-05-0{n + 1}T09:00:00Z", provider=f"{{name: Herald, domain: '{d}'}}"
        )
        for n, d in enumerate(shapes)
    }
    files["content/u.md"] = article("U", provider="{name: Bücher, domain: bücher.example}")
    files["content/p.md"] = article("P", provider="{name: Bücher, domain: xn--bcher-kva.example}")
    site = make_site(files)
    assert build_site(site).exit_code == 0
    sources = site / "output" / "sources"
    assert sorted(p.name for p in sources.iterdir() if p.is_dir()) == [
        "bucher-example",
        "herald-example",
    ]


@pytest.mark.parametrize(
    ("url", "written"),
    [
        ("https://i.example/a b.jpg", "https://i.example/a%20b.jpg"),
        ('https://e.example/a"b<c>', "https://e.example/a%22b%3Cc%3E"),
        ("pics/a b.png", "pics/a%20b.png"),
        ("https://x.example/ok?a=1&b=%20", "https://x.example/ok?a=1&b=%20"),
        ("https://i.example/café.jpg", "https://i.example/caf%C3%A9.jpg"),
        ("https://bücher.example/ü?q=ä#ö", "https://xn--bcher-kva.example/%C3%BC?q=%C3%A4#%C3%B6"),
        ("static/ñ 1.png", "static/%C3%B1%201.png"),
        ("https://user@Bücher.example:8443/a", "https://user@xn--bcher-kva.example:8443/a"),
        ("https://jürg@bücher.example/", "https://j%C3%BCrg@xn--bcher-kva.example/"),
    ],
)
def test_what_a_url_may_not_hold_is_percent_encoded(url: str, written: str) -> None:
    assert to_url(url) == written


def test_the_url_filters_percent_encode_what_a_url_never_holds_as_it_is() -> None:
    config = SiteConfig(title="T", base_url="https://t.example/news/")
    url, absolute_url = link_to(config), absolute_link_to(config)
    written = [
        "static/photo 1.jpg",
        "static/Zürich.jpg",
        'static/a"b<c>d\\e^f`g{h|i}j.png',  # a backslash stays: browsers read it as a slash
        "static/tab\there\x7f.png",
        "static/photo%201.jpg",
        "static/100% true.png",
        "search/?q=a&b=c#top",
        "/a[1];b=2,c@d:e!$'()*+~",
        "https://i.example/Zürich 1.jpg?q=ü&r=%C3%A4#ö",
        "https://bücher.example/ü",
        "https://user@Bücher.example:8443/a b",
        "https://ä..example/x",  # not a name IDNA can write: encoded as the rest is
    ]
    assert [url(each) for each in written] == [
        "/news/static/photo%201.jpg",
        "/news/static/Z%C3%BCrich.jpg",
        "/news/static/a%22b%3Cc%3Ed\\e%5Ef%60g%7Bh%7Ci%7Dj.png",
        "/news/static/tab%09here%7F.png",
        "/news/static/photo%201.jpg",
        "/news/static/100%%20true.png",
        "/news/search/?q=a&b=c#top",
        "/news/a[1];b=2,c@d:e!$'()*+~",
        "https://i.example/Z%C3%BCrich%201.jpg?q=%C3%BC&r=%C3%A4#%C3%B6",
        "https://xn--bcher-kva.example/%C3%BC",
        "https://user@xn--bcher-kva.example:8443/a%20b",
        "https://%C3%A4..example/x",
    ]
    assert [absolute_url(each) for each in written] == [
        "https://t.example" + url(each) if not each.startswith("https:") else url(each)
        for each in written
    ]
    # An absolute URL passes through again unchanged: no escape is encoded twice.
    twice = [absolute_url(absolute_url(each)) for each in written]
    assert twice == [absolute_url(each) for each in written]


def test_a_template_linking_a_static_file_named_with_a_space_or_accent_gets_a_valid_href(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    base = (
        '{% extends "theme/base.html" %}\n'
        "{% block styles %}{{ super() }}"
        '<link rel="preload" as="image" href="{{ \'static/photo 1.jpg\'|url }}">'
        '<meta property="og:image" content="{{ \'static/Zürich.jpg\'|absolute_url }}">'
        '<link rel="icon" href="{{ \'static/photo 1.jpg?v=a&w=b#top\'|url }}">'
        "{% endblock %}\n"
    )
    site = make_site({
        "site.yaml": SITE_YAML.replace("https://test.example/", "https://test.example/news/"),
        "content/a.md": article("Alpha"),
        "templates/base.html": base,
        "static/photo 1.jpg": "jpeg",
        "static/Zürich.jpg": "jpeg",
    })  # fmt: skip
    assert build_site(site).exit_code == 0
    home = (site / "output/index.html").read_text("utf-8")
    assert 'href="/news/static/photo%201.jpg"' in home
    assert 'content="https://test.example/news/static/Z%C3%BCrich.jpg"' in home
    assert 'href="/news/static/photo%201.jpg?v=a&amp;w=b#top"' in home
    assert (site / "output/static/photo 1.jpg").is_file()
    assert broken_links(site / "output", "/news/") == []


def test_same_instant_articles_have_a_stable_order(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({
        "content/z.md": article("Zebra crossing", "2024-05-01T09:00:00Z"),
        "content/a.md": article("Aardvark spotted", "2024-05-01T09:00:00Z"),
        "content/m.md": article("Moth season", "2024-05-01T09:00:00Z"),
    })  # fmt: skip
    build_site(site)
    home = (site / "output" / "index.html").read_text("utf-8")
    positions = [home.index(t) for t in ("Aardvark spotted", "Moth season", "Zebra crossing")]
    assert positions == sorted(positions)


def test_pages_are_numbered_from_the_oldest(make_site: MakeSite, build_site: BuildSite) -> None:
    site = make_site({f"content/a{n}.md": article(f"Story {n}", f"2024-05-{10 + n}T09:00:00Z")
                      for n in range(7)})  # fmt: skip
    build_site(site)
    output = site / "output"

    def titles(page: str) -> list[str]:
        html = (output / page).read_text("utf-8")
        return re.findall(r">(Story \d)</a>", html)

    # per_page 3: the latest page shows the newest three; page 1 the oldest three.
    assert set(titles("page/1/index.html")) == {"Story 0", "Story 1", "Story 2"}
    assert set(titles("page/2/index.html")) == {"Story 3", "Story 4", "Story 5"}
    assert {"Story 6", "Story 5", "Story 4"} <= set(titles("index.html"))
    assert not (output / "page/3").exists()
    page_one = (output / "page/1/index.html").read_bytes()
    page_two = (output / "page/2/index.html").read_bytes()

    def add(n: int) -> BuildReport:
        (site / f"content/a{n}.md").write_text(article(f"Story {n}", f"2024-05-{10 + n}T09:00:00Z"))
        return build_site(site)

    # Two more articles fill the newest chunk, which the latest page shows: pages 1 and 2
    # keep their bytes.
    add(7)
    report = add(8)
    assert (output / "page/1/index.html").read_bytes() == page_one
    assert (output / "page/2/index.html").read_bytes() == page_two
    assert {"Story 8", "Story 7", "Story 6"} <= set(titles("index.html"))
    assert report.written is not None and report.written.written < report.pages
    # The tenth starts a new chunk: page 3 appears; page 1 is still untouched.
    add(9)
    assert set(titles("page/3/index.html")) == {"Story 6", "Story 7", "Story 8"}
    assert (output / "page/1/index.html").read_bytes() == page_one


def test_full_content_feeds(make_site: MakeSite, build_site: BuildSite) -> None:
    body = "The **whole** story, in full."
    files = {"content/a.md": article("Full", excerpt='"Short version"', body=body)}
    site = make_site(files)
    build_site(site)
    summary = feedparser.parse((site / "output" / "feed.xml").read_bytes()).entries[0]
    assert summary.summary == "Short version"
    site = make_site({**files, "site.yaml": SITE_YAML + "feeds:\n  full_content: true\n"})
    build_site(site)
    atom = feedparser.parse((site / "output" / "atom.xml").read_bytes()).entries[0]
    assert "<strong>whole</strong>" in atom.content[0].value


def test_a_plain_text_excerpt_stays_text_in_every_feed(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    excerpt = "The <b>bold</b> tag, x<y & <img src=https://evil.example/t.gif> here"
    site = make_site({"content/a.md": article("Text", excerpt=f"'{excerpt}'", topics="[Tags]")})
    build_site(site)
    for feed in ("feed.xml", "atom.xml", "topics/tags/feed.xml"):
        entry = feedparser.parse((site / "output" / feed).read_bytes()).entries[0]
        shown = entry.summary  # the text a reader shows
        if entry.summary_detail.type == "text/html":
            shown = html.unescape(re.sub(r"<[^>]*>", "", shown))
        assert shown == excerpt, feed


def test_dates_of_a_zone_whose_old_offset_has_seconds_are_written_validly(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site(
        {
            "content/a.md": article("Paris 1905", "1905-06-01T12:00:00Z"),
            "site.yaml": SITE_YAML.replace("timezone: UTC", "timezone: Europe/Paris"),
        }
    )
    build_site(site)
    output = site / "output"
    rss = feedparser.parse((output / "feed.xml").read_bytes())
    atom = feedparser.parse((output / "atom.xml").read_bytes())
    assert not rss.bozo and not atom.bozo
    # The instant (12:00 UTC), read back from each feed.
    assert rss.entries[0].published_parsed[:6] == (1905, 6, 1, 12, 0, 0)
    assert atom.entries[0].published_parsed[:6] == (1905, 6, 1, 12, 0, 0)
    written = re.findall(r"[0-9T:-]{19}[+-][0-9:]+", (output / "atom.xml").read_text("utf-8"))
    written += re.findall(r"<lastmod>([^<]+)", (output / "sitemap.xml").read_text("utf-8"))
    page = (output / "1905/06/01/paris-1905/index.html").read_text("utf-8")
    written += re.findall(r'<time datetime="([^"]+)"', page)
    assert written and all(re.fullmatch(r".{19}\+00:09", w) for w in written), written


def test_full_content_feeds_give_absolute_links(make_site: MakeSite, build_site: BuildSite) -> None:
    body = (
        "See [the archive](/archive/), ![a map](pics/map.jpg), [part two](#two), "
        "[elsewhere](https://other.example/x?a=1&b=2) and [the desk](mailto:desk@test.example)."
    )
    settings = SITE_YAML.replace("https://test.example/", "https://test.example/news/")
    site = make_site(
        {
            "content/a.md": article("Linked", body=body),
            "site.yaml": settings + "feeds:\n  full_content: true\n",
        }
    )
    build_site(site)
    page = "https://test.example/news/2024/05/01/linked/"
    rss = ET.parse(site / "output" / "feed.xml").getroot()
    atom = ET.parse(site / "output" / "atom.xml").getroot()
    contents = [
        rss.findtext("channel/item/description"),
        atom.findtext("{http://www.w3.org/2005/Atom}entry/{http://www.w3.org/2005/Atom}content"),
    ]
    for content in contents:
        assert content is not None
        assert 'href="https://test.example/archive/"' in content
        assert f'src="{page}pics/map.jpg"' in content
        assert f'href="{page}#note-two"' in content  # the body's ids are prefixed
        assert 'href="https://other.example/x?a=1&amp;b=2"' in content
        assert 'href="mailto:desk@test.example"' in content
    html = (site / "output" / "2024/05/01/linked/index.html").read_text("utf-8")
    assert 'src="pics/map.jpg"' in html  # the page itself keeps them as written
    tricky = '<a title="a href=" href="x/">x</a><img alt="b src=" src="y.png">'
    assert absolute_links(tricky, page) == (
        f'<a title="a href=" href="{page}x/">x</a><img alt="b src=" src="{page}y.png">'
    )


def test_stale_pages_are_removed(make_site: MakeSite, build_site: BuildSite) -> None:
    site = make_site({"content/a.md": article("Keep"), "content/b.md": article("Gone soon")})
    build_site(site)
    gone = site / "output/2024/05/01/gone-soon/index.html"
    assert gone.is_file()
    (site / "content/b.md").unlink()
    (site / "output" / "mine.txt").write_text("a file the build did not write")
    report = build_site(site)
    assert not gone.exists()
    assert (site / "output" / "mine.txt").is_file()
    assert report.written is not None and report.written.removed > 0


def test_derived_excerpt_is_the_first_paragraph_as_text(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    body = "Boats fitted with *rigid sails*, the first<br>in years.\n\nSecond paragraph."
    site = make_site({"content/a.md": article("Sails", body=body)})
    build_site(site)
    html = (site / "output" / "2024/05/01/sails/index.html").read_text("utf-8")
    assert (
        '<p class="standfirst" dir="auto">Boats fitted with rigid sails, the first in years.</p>'
        in html
    )


def test_keep_last_good_keeps_a_broken_articles_last_page(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/a.md": article("Steady"), "content/b.md": article("Fragile")})
    build_site(site)
    page = site / "output/2024/05/01/fragile/index.html"
    (site / "content/b.md").write_text("---\ntitle: [broken\n---\n")
    report = build_site(site, keep_last_good=True)
    assert report.errors == 1 and page.is_file()
    (site / "content/b.md").unlink()
    build_site(site)
    assert not page.exists()


def test_an_article_broken_among_many_edits_keeps_its_last_page(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    # Edits whose new bodies fill more than the cache's memory (2 MB) make it write them
    # to its file before they are committed; the broken article's last body is read then.
    words = random.Random(5).choices(["tide", "vote", "harbour", "budget", "rail", "ferry"], k=1200)
    files = {
        f"content/n{n:03}.md": article(f"Story {n}", body=" ".join(words[n:] + words[:n]))
        for n in range(400)
    }
    site = make_site({**files, "content/b.md": article("Fragile", body="The last good text.")})
    build_site(site)
    for name, text in files.items():
        (site / name).write_text(text + "One more line.\n", encoding="utf-8")
    (site / "content/b.md").write_text("---\ntitle: [broken\n---\n", encoding="utf-8")
    report = build_site(site, keep_last_good=True)
    assert report.errors == 1 and report.written is not None
    page = (site / "output/2024/05/01/fragile/index.html").read_text("utf-8")
    assert "The last good text." in page
    story = (site / "output/2024/05/01/story-7/index.html").read_text("utf-8")
    assert "One more line." in story


def test_an_article_whose_new_slug_is_taken_keeps_the_version_last_published(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site(
        {"content/a.md": article("Alpha", slug="x"), "content/b.md": article("Beta", body="B1.")}
    )
    build_site(site)
    day = site / "output/2024/05/01"

    def shown() -> dict[str, str]:
        found = {}
        for page in sorted(day.glob("*/index.html")):
            html = page.read_text("utf-8")
            found[page.parent.name] = re.findall(r"<h1[^>]*>(.*?)</h1>", html)[0]
        return found

    b = site / "content/b.md"
    b.write_text(article("Beta edited", slug="x", body="B2."), encoding="utf-8")
    report = build_site(site, keep_last_good=True)
    assert [(d.path, d.line) for d in report.diagnostics if d.is_error] == [("content/b.md", 4)]
    assert shown() == {"beta": "Beta", "x": "Alpha"}
    assert "/2024/05/01/beta/" in (site / "output/index.html").read_text("utf-8")
    assert build_site(site).errors == 1 and shown() == {"x": "Alpha"}  # not kept here
    assert build_site(site, keep_last_good=True).errors == 1
    assert shown() == {"beta": "Beta", "x": "Alpha"}  # but not forgotten either
    b.write_text("---\ntitle: [broken\n---\n", encoding="utf-8")
    build_site(site, keep_last_good=True)
    assert shown() == {"beta": "Beta", "x": "Alpha"}  # not the version never published
    (site / "content/a.md").write_text(article("Alpha", slug="z"), encoding="utf-8")
    report = build_site(site, keep_last_good=True)
    # Only its own problem: no slug error of a version that stands in for it.
    assert [(d.path, d.message[:12]) for d in report.diagnostics] == [
        ("content/b.md", "invalid YAML")
    ]
    assert shown() == {"beta": "Beta", "z": "Alpha"}
    assert "B1." in (day / "beta/index.html").read_text("utf-8")
    b.write_text(article("Beta final"), encoding="utf-8")
    assert build_site(site, keep_last_good=True).diagnostics == ()
    assert shown() == {"beta-final": "Beta final", "z": "Alpha"}


def test_a_version_no_build_published_never_stands_in_for_a_broken_file(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/a.md": article("Alpha", body="A1.")})
    build_site(site, keep_last_good=True)
    page = site / "output/2024/05/01/alpha/index.html"
    a, n = site / "content/a.md", site / "content/n.md"
    # Read by builds that write nothing: one with --strict (a warning), one that fails.
    a.write_text(article("Alpha", body="A2, never published."), encoding="utf-8")
    n.write_text(article("New", body="N1, never published.", sumary="x"), encoding="utf-8")
    assert build_site(site, keep_last_good=True, strict=True).written is None
    (site / "templates").mkdir()
    failing = "{{ page.article.extra.nokey.deeper }}"  # fails as each article is rendered
    (site / "templates/article.html").write_text(failing, encoding="utf-8")
    with pytest.raises(BuildError):
        build_site(site, keep_last_good=True)
    (site / "templates/article.html").unlink()
    for broken in (a, n):
        broken.write_text("---\ntitle: [broken\n---\n", encoding="utf-8")
    report = build_site(site, keep_last_good=True)
    assert report.errors == 2
    assert "A1." in page.read_text("utf-8")  # the version last published
    assert not (site / "output/2024/05/01/new").exists()
    assert "never published" not in (site / "output/feed.xml").read_text("utf-8")


def test_an_edit_never_takes_the_slug_of_a_live_article(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site(
        {
            "content/a.md": article("Alpha", slug="alpha", body="A1."),
            "content/b.md": article("Bravo", slug="bravo", body="B1."),
        }
    )
    build_site(site, keep_last_good=True)
    day = site / "output/2024/05/01"
    (site / "content/a.md").write_text(article("Alpha", slug="bravo", body="A2."), "utf-8")
    report = build_site(site, keep_last_good=True)
    assert [(d.path, d.line) for d in report.diagnostics] == [("content/a.md", 4)]
    assert "B1." in (day / "bravo/index.html").read_text("utf-8")
    assert "A1." in (day / "alpha/index.html").read_text("utf-8")
    # Nor does a draft that a build read but did not show, once drafts are shown.
    (site / "content/a.md").write_text(article("Alpha", slug="alpha", body="A1."), "utf-8")
    (site / "content/0.md").write_text(article("Zero", slug="bravo", draft="true"), "utf-8")
    assert build_site(site, keep_last_good=True).diagnostics == ()
    report = build_site(site, keep_last_good=True, drafts=True)
    assert [(d.path, d.line) for d in report.diagnostics] == [("content/0.md", 4)]
    assert "B1." in (day / "bravo/index.html").read_text("utf-8")
    (site / "content/0.md").unlink()
    (site / "content/a.md").write_text(article("Alpha", slug="bravo", body="A2."), "utf-8")
    # A build without the last build's history puts the files in their order.
    report = build_site(site)
    assert [(d.path, d.line) for d in report.diagnostics] == [("content/b.md", 4)]
    assert "A2." in (day / "bravo/index.html").read_text("utf-8")


def test_a_live_article_keeps_its_address_when_one_of_its_title_dated_before_it_comes(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site(
        {
            "content/a.md": article("Storm", "2024-05-01T06:03:00Z", body="Report A."),
            "content/b.md": article("Storm", "2024-05-01T06:06:00Z", body="Report B."),
        }
    )
    build_site(site, keep_last_good=True)
    day = site / "output/2024/05/01"

    def shown() -> dict[str, str]:
        return {
            page.parent.name: re.findall(r"<p>(Report .*?)</p>", page.read_text("utf-8"))[0]
            for page in sorted(day.glob("*/index.html"))
        }

    assert shown() == {"storm": "Report A.", "storm-2": "Report B."}
    (site / "content/c.md").write_text(article("Storm", "2024-05-01T06:00:00Z", body="Report C."))
    report = build_site(site, keep_last_good=True)
    assert shown() == {"storm": "Report A.", "storm-2": "Report B.", "storm-3": "Report C."}
    assert [(d.path, d.message) for d in report.diagnostics] == [
        (
            "content/b.md",
            "slug 'storm' is taken on 2024/05/01/ by content/a.md; using "
            "'storm-2' (set 'slug:' to choose one)",
        ),
        (
            "content/c.md",
            "slug 'storm' is taken on 2024/05/01/ by content/a.md; using "
            "'storm-3' (set 'slug:' to choose one)",
        ),
    ]
    # Nor does a new file take a live article's address with a slug of its own.
    (site / "content/d.md").write_text(article("Other", slug="storm-2", body="Report D."))
    report = build_site(site, keep_last_good=True)
    assert [(d.path, d.line) for d in report.diagnostics if d.is_error] == [("content/d.md", 4)]
    assert shown() == {"storm": "Report A.", "storm-2": "Report B.", "storm-3": "Report C."}
    # An edit that keeps the title and day keeps the article where it is, even with a
    # new one of its title dated before it.
    (site / "content/d.md").unlink()
    (site / "content/b.md").write_text(article("Storm", "2024-05-01T06:06:00Z", body="Report B2."))
    (site / "content/e.md").write_text(article("Storm", "2024-05-01T06:01:00Z", body="Report E."))
    build_site(site, keep_last_good=True)
    assert shown() == {
        "storm": "Report A.",
        "storm-2": "Report B2.",
        "storm-3": "Report C.",
        "storm-4": "Report E.",
    }
    # A build without the last build's history numbers them by date.
    build_site(site, cache=False)
    assert list(shown().values()) == ["Report C.", "Report E.", "Report A.", "Report B2."]


def test_a_topic_keeps_its_url_when_one_slugged_alike_and_used_further_back_comes(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/a.md": article("New", "2024-05-01T10:00:00Z", topics="[C++]")})
    build_site(site, keep_last_good=True)
    older = article("Old", "2020-01-01T10:00:00Z", topics='["C plus plus"]')
    (site / "content/b.md").write_text(older, encoding="utf-8")
    report = build_site(site, keep_last_good=True)
    assert [(d.path, d.message) for d in report.diagnostics] == [
        (
            "content/b.md",
            "the topic 'C plus plus' is at topics/c-plus-plus-2/, since 'C++' has "
            "topics/c-plus-plus/: rename one to tell them apart",
        )
    ]
    topics = site / "output/topics"
    assert "<title>C++ ·" in (topics / "c-plus-plus/feed.xml").read_text("utf-8")
    assert "<title>C plus plus ·" in (topics / "c-plus-plus-2/feed.xml").read_text("utf-8")
    build_site(site, cache=False)  # without the history: in order of first use
    assert "<title>C plus plus ·" in (topics / "c-plus-plus/feed.xml").read_text("utf-8")


def test_body_headings_sit_below_the_headline(make_site: MakeSite, build_site: BuildSite) -> None:
    site = make_site({"content/a.md": article("Headline", body="# Part one\n\n## Detail\n\nText.")})
    build_site(site)
    html = (site / "output/2024/05/01/headline/index.html").read_text("utf-8")
    assert html.count("<h1") == 1
    assert '<h2 id="note-part-one">Part one</h2>' in html
    assert '<h3 id="note-detail">Detail</h3>' in html


def test_a_cached_fragment_is_rendered_once_per_key_and_stays_escaped() -> None:
    env = jinja2.Environment(extensions=[FragmentCache], autoescape=True)
    calls: list[str] = []

    def seen(value: str) -> int:
        calls.append(value)
        return len(calls)

    template = env.from_string(
        '{% for a in items %}{% cache "item", a %}<b>{{ a }}</b>{{ seen(a) }}{% endcache %}|'
        '{% endfor %}{% cache "fixed" %}first{% endcache %}{% cache "fixed" %}second{% endcache %}'
    )
    html = template.render(items=["<x>", "y", "<x>"], seen=seen)
    assert html == "<b>&lt;x&gt;</b>1|<b>y</b>2|<b>&lt;x&gt;</b>1|firstfirst"
    assert calls == ["<x>", "y"]


def test_cards_show_a_few_topics_and_the_article_page_all(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    names = [f"Beat {n}" for n in range(30)]
    site = make_site({
        "content/many.md": article("Many topics", topics="[" + ", ".join(names) + "]"),
        "content/few.md": article("Few topics", "2024-04-01T09:00:00Z", topics="[Rail, Ports]"),
    })  # fmt: skip
    build_site(site)
    output = site / "output"
    home = (output / "index.html").read_text()
    cards = re.findall(r'<ul class="chips".*?</ul>', home, re.DOTALL)
    many = next(c for c in cards if "Beat 0" in c)
    assert re.findall(r"<bdi>(.*?)</bdi>", many) == names[:4]
    assert ">+26<" in many and "26 more topics" not in many and " more topics" in many
    few = next(c for c in cards if "Rail" in c)
    assert re.findall(r"<bdi>(.*?)</bdi>", few) == ["Rail", "Ports"] and "more" not in few
    page = (output / "2024/05/01/many-topics/index.html").read_text()
    chips = re.search(r'<ul class="chips".*?</ul>', page, re.DOTALL)
    assert chips is not None and re.findall(r"<bdi>(.*?)</bdi>", chips.group()) == names
