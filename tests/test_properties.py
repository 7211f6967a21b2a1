"""Properties of hostile input: any bytes as an article file, and any YAML mapping as
front matter, give an article or diagnostics — never an exception — and every page
and feed built from what was accepted is well-formed."""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import feedparser
import html5lib
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SITE_YAML
from generator import BuildOptions, build, frontmatter
from generator.loader import parse_file
from generator.slugs import MAX_SLUG_LENGTH, WINDOWS_DEVICE_NAMES, slugify

TZ = ZoneInfo("Europe/London")
GOOD = (
    "---\ntitle: A steady article\npublishedDateTime: 2024-05-01T09:30:00Z\ntopics: [Rail]\n---\n"
)


def _parse(raw: bytes) -> None:
    article, diagnostics = parse_file(raw, "content/x.md", "x", TZ)
    assert article is not None or any(d.is_error for d in diagnostics)
    for diagnostic in diagnostics:
        assert diagnostic.path == "content/x.md"
        assert diagnostic.message


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=3000))
def test_any_bytes_give_an_article_or_diagnostics(raw: bytes) -> None:
    _parse(raw)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([0, 4, 20, len(GOOD) - 5, len(GOOD)]))
def test_any_bytes_inside_an_article_give_an_article_or_diagnostics(noise: bytes, at: int) -> None:
    raw = GOOD.encode()
    _parse(raw[:at] + noise + raw[at:])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_any_text_as_front_matter_gives_an_article_or_diagnostics(text: str) -> None:
    _parse(f"---\n{text}\n---\nBody.\n".encode(errors="surrogatepass"))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_slugs_are_short_safe_ascii(text: str) -> None:
    slug = slugify(text, fallback_seed="seed")
    assert slug and len(slug) <= MAX_SLUG_LENGTH + 2
    assert slug.isascii() and slug == slug.lower()
    assert all(c.isalnum() or c == "-" for c in slug)
    assert slug not in WINDOWS_DEVICE_NAMES and slug not in (".", "..")


# Front matter made of YAML-shaped values, biased towards the keys the schema knows.
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(
        [
            "https://news.example/a",
            "/relative/path",
            "javascript:alert(1)",
            "data:text/html,x",
            "//evil.example/",
            "<script>alert(1)</script>",
            "]]>",
            "\x00\x07\x1b\x7f\x85\ufffe",
            "2024-02-30",
            "0001-01-01",
            "9999-12-31T23:59:59Z",
            "2024-05-01T09:30:00+14:00",
        ]
    ),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
DATES = st.datetimes(min_value=datetime(1000, 1, 2), max_value=datetime(9999, 12, 30)).map(
    lambda d: d.replace(tzinfo=UTC).isoformat()
)
KNOWN = {
    "title": st.text(min_size=1, max_size=80) | VALUES,
    "publishedDateTime": DATES | VALUES,
    "updatedDateTime": DATES | VALUES,
    "excerpt": st.text(max_size=80) | VALUES,
    "topics": st.lists(st.text(max_size=20), max_size=4) | VALUES,
    "category": st.text(max_size=20) | VALUES,
    "provider": st.fixed_dictionaries({"name": st.text(max_size=20), "domain": SCALARS}) | VALUES,
    "originalUrl": VALUES,
    "webUrl": VALUES,
    "type": VALUES,
    "quality": st.integers(-5, 105) | VALUES,
    "heat": VALUES,
    "published": VALUES,
    "draft": VALUES,
    "images": st.lists(st.fixed_dictionaries({"url": SCALARS}, optional={"alt": VALUES})) | VALUES,
    "related": st.lists(st.fixed_dictionaries({}, optional={"title": VALUES, "webUrl": SCALARS}))
    | VALUES,
    "slug": VALUES,
    "id": VALUES,
    "secured": VALUES,
}
FRONT_MATTER = st.fixed_dictionaries(
    {"title": KNOWN["title"], "publishedDateTime": KNOWN["publishedDateTime"]},
    optional={**{k: v for k, v in KNOWN.items() if k not in ("title", "publishedDateTime")}},
).flatmap(
    lambda known: st.dictionaries(st.text(max_size=12), VALUES, max_size=3).map(
        lambda extra: {**extra, **known}
    )
)


def _article_file(front: dict[str, Any], body: str) -> bytes:
    text = yaml.safe_dump(front, allow_unicode=True, sort_keys=False)
    return f"---\n{text}---\n{body}".encode(errors="surrogatepass")


@settings(max_examples=300, deadline=None)
@given(FRONT_MATTER, st.text(max_size=200))
def test_any_yaml_mapping_gives_an_article_or_diagnostics(front: dict[str, Any], body: str) -> None:
    _parse(_article_file(front, body))


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(FRONT_MATTER, st.text(max_size=200)), min_size=1, max_size=3))
def test_pages_and_feeds_built_from_any_front_matter_are_well_formed(
    tmp_path: Path, articles: list[tuple[dict[str, Any], str]]
) -> None:
    site = tmp_path / "site"
    shutil.rmtree(site, ignore_errors=True)
    (site / "content").mkdir(parents=True)
    (site / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    (site / "content" / "steady.md").write_text(GOOD, encoding="utf-8")
    secrets = []
    for number, (front, body) in enumerate(articles):
        if "secured" in front:
            front["secured"] = f"never-shown-{number}-q7k"
            secrets.append(front["secured"].encode())
        (site / "content" / f"a{number}.md").write_bytes(_article_file(front, body))
    build(site, BuildOptions(jobs=1, cache=False))
    output = site / "output"
    for page in output.rglob("*.html"):
        html5lib.HTMLParser(strict=True).parse(page.read_bytes())
    for feed in output.rglob("*.xml"):
        ET.parse(feed)
        if feed.name in ("feed.xml", "atom.xml"):
            parsed = feedparser.parse(feed.read_bytes())
            assert not parsed.bozo, (feed, parsed.get("bozo_exception"))
    everything = b"".join(p.read_bytes() for p in output.rglob("*") if p.is_file())
    assert not any(secret in everything for secret in secrets)


CONTROL_SAMPLES = "\x00\x07\x1b\x7f\x85\x9f\ufdd0\ufdef\ufffe\uffff\U0001fffe\U0010ffff\ud800"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None) | st.sampled_from(CONTROL_SAMPLES)))
def test_the_fast_control_character_search_finds_what_the_full_one_does(text: str) -> None:
    assert frontmatter.find_controls(text) == frontmatter._CONTROLS.findall(text)
    assert frontmatter.strip_controls(text) == frontmatter._CONTROLS.sub("", text)


def _nested(kinds: str) -> str:
    """YAML nested once per letter of `kinds`, as tightly as YAML allows: `m` a block
    mapping one column right of its parent, `s` a block sequence (at its key's column
    when it is a mapping's value), `f` a flow sequence, which ends the block part."""
    text, map_column, seq_column = "", 0, 0
    for number, kind in enumerate(kinds):
        if kind == "m":
            text += "\n" + " " * map_column + "k:"
            map_column, seq_column = map_column + 1, map_column
        elif kind == "s":
            text += "\n" + " " * seq_column + "-"
            map_column = seq_column = seq_column + 1
        else:
            flow = len(kinds) - number
            return text + " " + "[" * flow + "x" + "]" * flow + "\n"
    return text + " x\n"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="msf", min_size=1, max_size=120))
def test_documents_that_may_nest_too_deep_are_always_checked(kinds: str) -> None:
    text = _nested(kinds)
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    depth, level = 0, [(node, 1)]
    while level:
        current, d = level.pop()
        depth = max(depth, d)
        if isinstance(current, yaml.SequenceNode):
            level.extend((child, d + 1) for child in current.value)
        elif isinstance(current, yaml.MappingNode):
            level.extend((child, d + 1) for pair in current.value for child in pair)
    assert depth >= len(kinds)
    if depth > frontmatter.MAX_DEPTH:
        assert frontmatter._may_exceed_limits(text)
