"""The default theme's markup: valid HTML (the Nu Html Checker), one `<h1>` per page, a
complete head (description, canonical, OpenGraph, Twitter, feeds), JSON-LD that content
cannot break out of, no outside resources, and templates a site can extend."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from xml.etree.ElementTree import Element

import html5lib
import pytest

from conftest import REPO, BuildSite, MakeSite, article, build_example

VNU = REPO / "tests" / "tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
BASE_URL = "https://gazette.example.org/"


@pytest.fixture(scope="module")
def example_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example site plus the reference-shaped article, built once."""
    return build_example(tmp_path_factory.mktemp("theme-validity"), with_full_article=True)


def parse(page: Path) -> Element:
    document: Element = html5lib.parse(page.read_bytes(), namespaceHTMLElements=False)
    return document


def html_pages(output: Path) -> list[Path]:
    return sorted(output.rglob("*.html"))


def meta(document: Element, key: str) -> str | None:
    for element in document.iter("meta"):
        if key in (element.get("name"), element.get("property")):
            return element.get("content")
    return None


def test_every_page_passes_the_nu_html_checker(example_output: Path) -> None:
    if shutil.which("java") is None or not VNU.is_file():
        pytest.fail("the Nu Html Checker needs Java and vnu.jar: run bash tests/setup-tools.sh")
    result = subprocess.run(
        ["java", "-jar", str(VNU), "--errors-only", "--skip-non-html", "--format", "json",
         str(example_output)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    messages = json.loads(result.stderr or result.stdout)["messages"]
    shown = [
        f"{m.get('url', '').rpartition(str(example_output))[2]}:{m.get('lastLine')}: "
        f"{m.get('message')} [{m.get('extract', '').strip()}]"
        for m in messages
    ]
    assert shown == []
    assert result.returncode == 0


def test_every_page_has_one_h1_and_a_complete_head(example_output: Path) -> None:
    pages = html_pages(example_output)
    assert len(pages) > 100
    for page in pages:
        name = str(page.relative_to(example_output))
        document = parse(page)
        assert len(list(document.iter("h1"))) == 1, name
        title = document.find("head/title")
        assert title is not None and (title.text or "").strip(), name
        assert meta(document, "description"), name
        for key in ("og:title", "og:type", "og:description", "og:site_name", "twitter:card"):
            assert meta(document, key), f"{name}: {key}"
        links = {(e.get("rel"), e.get("href")) for e in document.iter("link")}
        assert ("alternate", BASE_URL + "feed.xml") in links, name
        assert ("alternate", BASE_URL + "atom.xml") in links, name
        if name == "404.html":
            continue
        path = name.removesuffix("index.html")
        assert ("canonical", BASE_URL + path) in links, name
        assert meta(document, "og:url") == BASE_URL + path, name
        if path.startswith(("topics/", "sources/")) and path.count("/") >= 2:
            feed = BASE_URL + "/".join(path.split("/")[:2]) + "/feed.xml"
            assert ("alternate", feed) in links, name


def article_pages(output: Path) -> list[Path]:
    return sorted(output.glob("[0-9][0-9][0-9][0-9]/[0-9][0-9]/[0-9][0-9]/*/index.html"))


def test_article_pages_carry_news_article_json_ld(example_output: Path) -> None:
    pages = article_pages(example_output)
    assert len(pages) > 40
    for page in pages:
        document = parse(page)
        scripts = [s for s in document.iter("script") if s.get("type") == "application/ld+json"]
        assert len(scripts) == 1, page
        data = json.loads(scripts[0].text or "")
        h1 = next(document.iter("h1"))
        assert data["@type"] == "NewsArticle"
        assert data["headline"] == "".join(h1.itertext())
        times = [t.get("datetime") for t in document.iter("time")]
        assert data["datePublished"] in times
        assert data["dateModified"] in times
        assert data["publisher"]["name"] == "The Harbour Gazette"
        assert data["mainEntityOfPage"]["@id"].startswith(BASE_URL)
        read_at = [
            a.get("href") for a in document.iter("a") if "".join(a.itertext()).startswith("Read at")
        ]
        assert data["isBasedOn"] == read_at[0]
        images = [i for i in document.iter("img") if i.get("loading") == "lazy"]
        if "image" in data:
            assert meta(document, "og:image") == data["image"][0]
            assert meta(document, "twitter:card") == "summary_large_image"
            local = "/" + data["image"][0].removeprefix(BASE_URL)
            assert images and images[0].get("src") in (data["image"][0], local)


def test_full_article_page_shows_everything(example_output: Path) -> None:
    page = example_output / "2021/03/02/tidal-turbines-pass-their-first-winter-in-the-sound"
    document = parse(page / "index.html")
    stamps = {t.get("datetime") for t in document.iter("time")}
    # Published and updated, in the site's time zone (London, winter: +00:00).
    assert {"2021-03-02T06:45:00+00:00", "2021-03-02T11:10:00+00:00"} <= stamps
    text = " ".join(" ".join(document.find("body").itertext()).split())  # type: ignore[union-attr]
    assert "tidewatch.example" in text
    lead = next(i for i in document.iter("img"))
    assert lead.get("alt") == "Tidal turbines pass their first winter in the sound"
    assert (lead.get("width"), lead.get("height"), lead.get("loading")) == ("800", "450", "lazy")


def test_no_page_loads_anything_from_elsewhere_but_article_images(example_output: Path) -> None:
    for page in html_pages(example_output):
        document = parse(page)
        assert list(document.iter("iframe")) == [], page
        for element in document.iter("script"):
            assert element.get("src") is None, page
            assert element.get("type") == "application/ld+json", page
        for element in document.iter("link"):
            if element.get("rel") in ("stylesheet", "icon", "preload", "modulepreload"):
                assert (element.get("href") or "").startswith("/static/"), page
        for element in document.iter("img"):
            assert element.get("alt"), page
            assert element.get("loading") == "lazy", page
    css = (example_output / "static" / "style.css").read_text("utf-8")
    assert "url(" not in css and "@import" not in css


def test_every_listing_page_says_where_it_is(example_output: Path) -> None:
    for listing in ("index.html", "topics/shipping/index.html", "page/2/index.html"):
        document = parse(example_output / listing)
        navs = [n for n in document.iter("nav") if n.get("class") == "pagination"]
        assert len(navs) == 1, listing
        text = " ".join("".join(navs[0].itertext()).split())
        assert text.startswith("Page "), text
        assert any(e.get("aria-current") == "page" for e in navs[0].iter()), listing


def test_topics_index_grows_with_the_article_count(example_output: Path) -> None:
    document = parse(example_output / "topics" / "index.html")
    sizes = {}
    for item in document.iter("li"):
        if (item.get("class") or "").startswith("size-"):
            count = int(next(s for s in item.iter("span") if s.get("class") == "count").text or 0)
            sizes[count] = int(item.get("class", "").removeprefix("size-"))
    assert len(set(sizes.values())) >= 3
    ordered = [sizes[count] for count in sorted(sizes)]
    assert ordered == sorted(ordered)


def test_related_coverage_lists_our_own_articles_first(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    related = (
        "\n  - {title: Elsewhere, webUrl: 'https://elsewhere.example/x'}"
        "\n  - {title: Ours, webUrl: 'https://ours.example/first'}"
    )
    site = make_site({
        "content/a.md": article("First", originalUrl="https://ours.example/first"),
        "content/b.md": article("Second", "2024-05-02T09:00:00Z", related=related),
    })  # fmt: skip
    build_site(site)
    html = (site / "output/2024/05/02/second/index.html").read_text("utf-8")
    assert '<a href="/2024/05/01/first/" dir="auto">Ours</a>' in html
    assert html.index(">Ours</a>") < html.index(">Elsewhere</a>")


def test_json_ld_keeps_hostile_text_inside_the_script(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    title = "</script><script>alert('x')</script> & \\\"more\\\""
    site = make_site({"content/a.md": article(title, excerpt='"<!-- sneaky"')})
    build_site(site)
    page = next((site / "output").glob("2024/05/01/*/index.html"))
    html = page.read_text("utf-8")
    start = html.index('<script type="application/ld+json">') + len(
        '<script type="application/ld+json">'
    )
    body = html[start : html.index("</script>", start)]
    assert "<" not in body and ">" not in body
    data = json.loads(body)
    assert data["headline"] == "</script><script>alert('x')</script> & \"more\""
    assert data["description"] == "<!-- sneaky"
    assert "<script>alert" not in html


def test_a_site_can_replace_one_block_of_the_theme_templates(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    template = (
        '{% extends "theme/article.html" %}\n'
        '{% block read_at %}<p class="site-read-at">Original: {{ page.article.original_url }}</p>'
        "{% endblock %}\n"
    )
    base = (
        '{% extends "theme/base.html" %}\n'
        "{% block styles %}{{ super() }}"
        '<link rel="stylesheet" href="{{ \'static/site.css\'|url }}">{% endblock %}\n'
    )
    site = make_site({
        "content/a.md": article("Alpha", originalUrl="https://elsewhere.example/a", topics="[X]"),
        "templates/article.html": template,
        "templates/base.html": base,
        "static/site.css": "body { margin: 0; }",
    })  # fmt: skip
    build_site(site)
    html = (site / "output/2024/05/01/alpha/index.html").read_text("utf-8")
    assert '<p class="site-read-at">Original: https://elsewhere.example/a</p>' in html
    assert "Read at" not in html  # the block is replaced …
    # … the rest is the theme's
    assert '<h1 dir="auto">Alpha</h1>' in html and 'class="story"' in html
    assert '<a href="/topics/x/"><bdi>X</bdi></a>' in html
    assert "NewsArticle" in html
    # The site's base template adds its stylesheet after the theme's, on every page.
    for page in ("2024/05/01/alpha/index.html", "index.html", "topics/x/index.html"):
        html = (site / "output" / page).read_text("utf-8")
        theme_css, site_css = 'href="/static/style.css"', 'href="/static/site.css"'
        assert theme_css in html and html.index(theme_css) < html.index(site_css), page
    assert (site / "output/static/site.css").is_file()
