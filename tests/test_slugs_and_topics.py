"""Slugs are readable ASCII and never collide silently; topics are case-insensitive;
front matter parsing never fails with anything but a `FrontMatterError`."""

from __future__ import annotations

import pickle
import re
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BuildSite, MakeSite, article
from generator.frontmatter import FrontMatterError, decode, split
from generator.loader import parse_file
from generator.markup import render_markdown
from generator.model import address_key, linked
from generator.schema import parse_article
from generator.slugs import MAX_SLUG_LENGTH, identity_key, slugify, unique_slug

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


def test_symbol_names_get_distinct_readable_slugs() -> None:
    names = ["C", "C++", "C#", ".NET", "Économie"]
    assert [slugify(n) for n in names] == ["c", "c-plus-plus", "c-sharp", "dotnet", "economie"]


@pytest.mark.parametrize("text", ["🎉🔥", "🙂", "—", "\uff01\uff1f"])
def test_text_without_letters_gets_a_stable_ascii_slug(text: str) -> None:
    slug = slugify(text)
    assert slug
    assert slug.isascii()
    assert SLUG.match(slug)
    assert slugify(text) == slug


def test_emoji_slugs_differ_for_different_emoji() -> None:
    assert slugify("🎉") != slugify("🔥")


def test_long_text_is_cut_to_the_limit() -> None:
    slug = slugify("word " * 100)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert SLUG.match(slug)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_slugify_always_gives_a_valid_slug(text: str) -> None:
    slug = slugify(text)
    assert SLUG.match(slug), (text, slug)
    assert len(slug) <= MAX_SLUG_LENGTH


def test_identity_key_ignores_case_and_accents() -> None:
    assert identity_key("AI") == identity_key("ai") == identity_key("\uff21\uff49")
    assert identity_key("Économie") == identity_key("economie")
    assert identity_key("C") != identity_key("C++")


def test_topics_differing_in_case_are_one_topic(make_site: MakeSite, build_site: BuildSite) -> None:
    site = make_site(
        {
            "content/one.md": article("One", "2024-05-01T09:00:00Z", topics="[AI]"),
            "content/two.md": article("Two", "2024-05-02T09:00:00Z", topics="[AI]"),
            "content/three.md": article("Three", "2024-05-03T09:00:00Z", topics="[ai]"),
        }
    )
    report = build_site(site)
    assert report.exit_code == 0
    topics = site / "output" / "topics"
    assert sorted(p.name for p in topics.iterdir() if p.is_dir()) == ["ai"]
    page = (topics / "ai" / "index.html").read_text("utf-8")
    assert '<h1 dir="auto">AI</h1>' in page
    assert "3 articles" in page
    for title in ("One", "Two", "Three"):
        assert f">{title}</a>" in page
    index = (topics / "index.html").read_text("utf-8")
    assert '<a href="/topics/ai/">AI</a> <span class="count">3</span>' in index


def test_topics_are_listed_a_to_z_accents_aside(make_site: MakeSite, build_site: BuildSite) -> None:
    topics = '["Zoology", "Économie", "politics", "Ecology", "Art"]'
    site = make_site({"content/a.md": article("Topical", topics=topics)})
    build_site(site)
    index = (site / "output" / "topics" / "index.html").read_text("utf-8")
    shown = re.findall(r'<a href="/topics/[a-z-]+/">([^<]+)</a>', index)
    assert shown == ["Art", "Ecology", "Économie", "politics", "Zoology"]


def test_c_family_topics_get_three_pages(make_site: MakeSite, build_site: BuildSite) -> None:
    site = make_site({"content/langs.md": article("Languages", topics='["C", "C++", "C#"]')})
    build_site(site)
    topics = site / "output" / "topics"
    assert sorted(p.name for p in topics.iterdir() if p.is_dir()) == ["c", "c-plus-plus", "c-sharp"]
    assert '<h1 dir="auto">C++</h1>' in (topics / "c-plus-plus" / "index.html").read_text(
        encoding="utf-8"
    )
    assert '<h1 dir="auto">C#</h1>' in (topics / "c-sharp" / "index.html").read_text(
        encoding="utf-8"
    )


def test_a_topic_keeps_its_url_when_a_later_one_slugs_alike(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"content/a.md": article("Tips", "2024-05-01T10:00:00Z", topics="[C++]")})
    assert build_site(site).warnings == 0
    topics = site / "output" / "topics"
    (site / "content" / "b.md").write_text(
        article("Newer", "2024-06-01T10:00:00Z", topics="[C plus plus]"), encoding="utf-8"
    )
    report = build_site(site)
    assert '<h1 dir="auto">C++</h1>' in (topics / "c-plus-plus" / "index.html").read_text(
        encoding="utf-8"
    )
    assert '<h1 dir="auto">C plus plus</h1>' in (topics / "c-plus-plus-2" / "index.html").read_text(
        encoding="utf-8"
    )
    assert [(d.path, d.line, d.message) for d in report.diagnostics] == [
        (
            "content/b.md",
            4,  # its topics
            "the topic 'C plus plus' is at topics/c-plus-plus-2/, since 'C++' "
            "has topics/c-plus-plus/: rename one to tell them apart",
        )
    ]


def test_a_source_whose_slug_an_older_one_has_is_warned_of_at_its_provider(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site(
        {
            "content/a.md": article(
                "Old", "2024-05-01T10:00:00Z", provider="{name: Dots, domain: news.x.example}"
            ),
            "content/b.md": article(
                "New", "2024-06-01T10:00:00Z", excerpt="x", provider="{domain: news-x.example}"
            ),
        }
    )
    report = build_site(site)
    assert [(d.path, d.line, d.message) for d in report.diagnostics] == [
        (
            "content/b.md",
            5,  # its provider
            "the source 'news-x.example' is at sources/news-x-example-2/, since 'Dots' has "
            "sources/news-x-example/: rename one to tell them apart",
        )
    ]


def test_an_article_set_aside_names_no_topic(make_site: MakeSite, build_site: BuildSite) -> None:
    site = make_site(
        {
            "content/a.md": article("Tips", "2024-05-01T10:00:00Z", topics="[C++]"),
            "content/b.md": article(
                "First", "2024-05-02T10:00:00Z", slug="clash", topics="[Other]"
            ),
            "content/c.md": article(
                "Second", "2024-05-02T11:00:00Z", slug="clash", topics='["C plus plus", OTHER]'
            ),
            "content/d.md": article("Third", "2024-05-02T11:00:00Z", topics="[other]"),
        }
    )
    report = build_site(site)
    assert [d.path for d in report.diagnostics] == ["content/c.md"]  # set aside, no warning
    topics = site / "output" / "topics"
    assert sorted(p.name for p in topics.iterdir() if p.is_dir()) == ["c-plus-plus", "other"]
    assert '<h1 dir="auto">Other</h1>' in (topics / "other" / "index.html").read_text(
        encoding="utf-8"
    )


def test_long_slugs_cut_to_the_same_one_are_numbered_not_set_aside(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    words = "-".join(["word"] * 20)  # 99 characters: cut to 79
    site = make_site(
        {
            "content/a.md": article("A", "2024-01-01T10:00:00Z", slug=f"{words}-alpha"),
            "content/b.md": article("B", "2024-01-01T11:00:00Z", slug=f"{words}-beta"),
            "content/c.md": article("C", "2024-01-01T12:00:00Z", slug="short-and-kept"),
        }
    )
    report = build_site(site)
    assert report.errors == 0
    day = site / "output" / "2024" / "01" / "01"
    cut = words[: words.rindex("-", 0, MAX_SLUG_LENGTH + 1)]
    numbered = words[: words.rindex("-", 0, MAX_SLUG_LENGTH - 1)] + "-2"  # room for its number
    assert {p.name for p in day.iterdir() if p.is_dir()} == {cut, numbered, "short-and-kept"}
    assert len(numbered) <= MAX_SLUG_LENGTH
    notes = [str(d) for d in report.diagnostics]
    assert (
        sum(f"content/{n}.md:4: warning: slug: longer than" in d for n in "ab" for d in notes) == 2
    )
    assert not any("content/c.md" in d for d in notes)


# --- front matter never fails with anything but FrontMatterError -------------------

_KEYS = (
    "title", "date", "publishedDateTime", "updated", "excerpt", "topics", "tags", "provider",
    "originalUrl", "webUrl", "type", "quality", "heat", "published", "draft", "images",
    "related", "slug", "id", "secured", "other",
)  # fmt: skip
_VALUES = st.one_of(
    st.text(max_size=20),
    st.integers().map(str),
    st.sampled_from(
        [
            "2024-05-01", "2023-02-30", "2024-05-01T09:30:00+99:00", "0001-01-01T00:00:00+05:00",
            "yes", "~", "'", '"', "[", "- a", "[1, [2]]", "{name: ''}", ".nan", "-.inf",
            "[{url: 'javascript:x'}]", "[{url: x, width: -1}]", "[{webUrl: 'http://[x'}]",
            "!!binary AAAA", "!!timestamp 2024-01-01", "&a [*a]", "!!python/name:os.system",
        ]
    ),
)  # fmt: skip
_LINES = st.lists(
    st.tuples(st.sampled_from(_KEYS), _VALUES).map(lambda kv: f"{kv[0]}: {kv[1]}"), max_size=8
)
_FENCED = st.builds(
    lambda lines, body: ("---\n" + "\n".join(lines) + "\n---\n" + body).encode(),
    _LINES,
    st.text(max_size=40),
)
FILE_BYTES = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: b"---\n" + b + b"\n---\n"),
    _FENCED,
    _FENCED.map(lambda b: b"\xef\xbb\xbf" + b.replace(b"\n", b"\r\n")),
)


def parse_bytes(data: bytes) -> None:
    """What the loader does with one file's bytes; `FrontMatterError` or diagnostics."""
    try:
        front = split(decode(data))
    except FrontMatterError as exc:
        assert exc.line is None or exc.line >= 1
        return
    article, problems = parse_article(
        front, "content/x.md", "x", ZoneInfo("UTC"), render_markdown(front.body)
    )
    assert (article is None) == any(p.is_error for p in problems)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FILE_BYTES)
def test_front_matter_parsing_only_raises_front_matter_error(data: bytes) -> None:
    parse_bytes(data)


def test_huge_integer_is_a_diagnostic_not_a_crash() -> None:
    # Python refuses to convert integers of more than 4300 digits; a scraped file with one
    # must be set aside like any other bad value, not crash the whole build.
    data = b"---\ntitle: x\npublishedDateTime: 2024-05-01\nquality: " + b"9" * 5000 + b"\n---\n"
    parse_bytes(data)


def test_a_long_slug_keeps_its_first_words_in_order() -> None:
    title = f"{'x' * 30} {'y' * 30} {'z' * 30} a"
    assert slugify(title) == f"{'x' * 30}-{'y' * 30}"
    assert slugify("q" * 100) == "q" * 80
    assert slugify("ab " * 40) == "-".join(["ab"] * 27)


def test_a_related_item_finds_our_article_however_its_address_is_written(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    items = [
        "http://NEWS.example/2024/story/",
        "https://www.news.example/2024/story#top",
        "https://news.example:443/2024/story",
        "https://xn--bcher-kva.example/%c3%bcber",
        "http://BÜCHER.example:80/über/",
    ]
    related = ", ".join(f"{{title: R{i}, webUrl: '{url}'}}" for i, url in enumerate(items))
    site = make_site(
        {
            "content/own.md": article(
                "Our story", "2024-05-01T08:00:00Z", webUrl="https://news.example/2024/story"
            ),
            "content/own2.md": article(
                "Über story", "2024-05-01T09:00:00Z", webUrl="https://bücher.example/über"
            ),
            "content/b.md": article("Pointing", "2024-05-02T08:00:00Z", related=f"[{related}]"),
        }
    )
    report = build_site(site, jobs=1)
    assert report.diagnostics == ()
    html = (site / "output/2024/05/02/pointing/index.html").read_text("utf-8")
    assert html.count('href="/2024/05/01/our-story/"') >= 3
    assert html.count('href="/2024/05/01/uber-story/"') >= 2


def test_an_address_keeps_its_key_through_the_cache_and_every_copy(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    """The key an address is matched by is worked out when the article is made: an
    article read back from the build cache, or copied by the assembler, holds it too."""
    site = make_site(
        {
            "content/own.md": article(
                "Our story", "2024-05-01T08:00:00Z", webUrl="https://www.News.example/s/"
            ),
            "content/b.md": article(
                "Pointing",
                "2024-05-02T08:00:00Z",
                related="[{webUrl: 'http://news.example/s#x'}]",
                originalUrl="https://news.example/b",
            ),
        }
    )
    build_site(site, jobs=1)
    (site / "content/c.md").write_text(article("Newer", "2024-05-03T08:00:00Z"), "utf-8")
    report = build_site(site, jobs=1)  # the other two come from the cache
    assert report.written is not None and report.parsed == 1
    html = (site / "output/2024/05/02/pointing/index.html").read_text("utf-8")
    assert 'href="/2024/05/01/our-story/"' in html
    assert ">Our story</a>" in html  # the item has no title: it shows ours
    loaded, _ = parse_file((site / "content/b.md").read_bytes(), "b.md", "b", ZoneInfo("UTC"))
    assert loaded is not None
    assert (loaded.original_url_key, loaded.related[0].web_url_key) == (
        "//news.example/b",
        "//news.example/s",
    )
    copy = pickle.loads(pickle.dumps(linked(loaded, (), None, loaded.related, None, None, ())))
    assert (copy.original_url_key, copy.related[0].web_url_key) == (
        "//news.example/b",
        "//news.example/s",
    )
    assert address_key("HTTPS://WWW.x.example:443/a%2fb/") == "//x.example/a%2Fb"


def test_two_articles_with_one_web_url_are_both_published_and_the_older_is_warned_of(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site(
        {
            "content/a.md": article(
                "Told once", "2024-05-01T08:00:00Z", webUrl="https://x.example/s"
            ),
            "content/b.md": article(
                "Told twice", "2024-05-02T08:00:00Z", webUrl="http://x.example/s/"
            ),
            "content/c.md": article(
                "Elsewhere", "2024-05-03T08:00:00Z", webUrl="https://x.example/t"
            ),
        }
    )
    report = build_site(site, jobs=1)
    assert [str(d) for d in report.diagnostics] == [
        "content/a.md:4: warning: its webUrl is also that of content/b.md: if it is the same story "
        "twice, remove one (related items with that address link to the other)"
    ]
    assert report.articles == 3 and report.errors == 0


def test_a_slug_numbered_to_tell_it_apart_stays_within_the_longest_slug() -> None:
    long = "a" * MAX_SLUG_LENGTH
    taken = {long, *(f"{'a' * (MAX_SLUG_LENGTH - 2)}-{n}" for n in range(2, 10))}
    found = unique_slug(long, taken)
    assert found == f"{'a' * (MAX_SLUG_LENGTH - 3)}-10" and found not in taken
    assert unique_slug("short", {"short"}) == "short-2"
    words = "-".join(["word"] * 16)  # 79 characters
    assert unique_slug(words, {words}) == "-".join(["word"] * 15) + "-2"
