"""Synthetic news sites for the benchmark: deterministic article files in Broadsheet's format.

Owns the made-up data: topics, sources, titles, Markdown bodies, images and related
items, all drawn from a built-in word list with seeded random generators. Article `i`
depends only on the seed and `i` (never on how many articles the site has), so a site of
N articles is the first N articles of any larger one, and the same N and seed always
give identical bytes. It must not read anything outside its arguments nor touch the
network.

Usage: `python tests/bench/synth.py N DIR [--seed S]` writes `DIR/site.yaml` and N
files under `DIR/content/YYYY/`. The runner also uses `add_articles` (K new articles,
newer than all others) and `edit_title` (change one article's headline in place).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

DEFAULT_SEED = 20240601

SITE_YAML = """\
title: Broadsheet Benchmark
description: Synthetic articles for measuring build speed.
base_url: https://bench.example/
language: en
timezone: Europe/Berlin
per_page: 20
feeds:
  items: 50
"""

START = datetime(2019, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)
"""Articles of the base site fall in [START, END); added ones come after END."""

TOPICS: tuple[str, ...] = (
    "AI", "C++", "C#", ".NET", "Économie", "Climate", "Energy", "Health", "Space",
    "Security", "Privacy", "Elections", "Transport", "Housing", "Education", "Football",
    "Tennis", "Music", "Film", "Books", "Science", "Biology", "Physics", "Chemistry",
    "Mathematics", "Oceans", "Agriculture", "Food", "Travel", "Aviation", "Railways",
    "Cities", "Trade", "Markets", "Banking", "Crypto", "Startups", "Labour", "Courts",
    "Police", "Migration", "Diplomacy", "Defence", "Weather", "Wildlife", "Archaeology",
    "Art", "Architecture", "Fashion", "Gaming", "Mobile", "Open Source", "Linux",
    "Python", "Rust", "Databases", "Cloud", "Robotics", "Semiconductors", "Telecoms",
)  # fmt: skip

SOURCES: tuple[tuple[str, str], ...] = tuple(
    (name, re.sub(r"[^a-z]", "", name.lower()) + ".example")
    for name in (
        "The Harbour Post", "Northern Ledger", "City Wire", "Coastal Courier",
        "Daily Meridian", "The Lantern", "Evening Compass", "Tidewatch", "Orbit Weekly",
        "Market Signal", "The Civic Record", "Field Notes", "Open Circuit", "Byte Review",
        "The Green Gazette", "Metro Chronicle", "Highland Herald", "Valley Times",
        "The Observer Deck", "Signal and Noise", "Pocket Science", "The Long Read",
        "Atlas Dispatch", "Riverside Journal", "The Weekly Ledger", "Sport Desk",
        "Culture Column", "Policy Brief", "The Data Room", "Health Bulletin",
        "Travel Notes", "Campus Voice", "The Workbench", "Court Reporter", "Skyline News",
        "The Fourth Estate", "Planet Pulse", "Terminal Gazette", "Foundry Weekly",
        "The Morning Slate",
    )
)  # fmt: skip

CATEGORIES = ("news", "business", "science", "technology", "culture", "sport", "opinion")
TYPES = ("article",) * 16 + ("video", "podcast", "analysis", "interview")

_WORD_TEXT = """
    harbour council budget report plan river bridge station market energy grid wind solar
    turbine battery network school teacher student university research study data model
    city village region county coast island mountain valley forest field farm harvest
    weather storm flood drought heat winter summer spring autumn season record level
    price cost wage worker union strike contract deal trade export import policy law court
    judge ruling appeal vote election party minister leader mayor committee hearing panel
    company startup investor fund bank loan credit rate inflation growth output factory
    plant chip device phone software code release update patch bug feature platform
    service cloud server database network cable satellite rocket launch orbit telescope
    planet star galaxy signal sensor camera image video podcast interview review essay
    museum gallery artist painter novel author film director actor festival stage concert
    band album song match team coach player season league final goal score injury transfer
    hospital doctor nurse patient vaccine trial drug clinic care health diet sleep risk
    ocean reef fish whale seagrass wetland species habitat survey count census migration
    border visa permit housing rent tenant landlord building tower street road tram rail
    train ferry airport flight pilot route ticket fare commuter traffic cycle lane park
    garden tree water supply pipe sewer waste recycling plastic carbon emission target
    deadline agreement summit treaty talks envoy embassy sanction tariff quota subsidy
    scheme grant award prize funding donation charity volunteer community neighbourhood
    library archive record history discovery excavation site ruin coin map letter diary
    quietly sharply slowly rapidly finally again early late new old first last major minor
    local national global public private open closed small large long short bright dark
"""
WORDS: tuple[str, ...] = tuple(_WORD_TEXT.split())

VERBS = (
    "approves", "rejects", "delays", "launches", "expands", "cuts", "opens", "closes",
    "wins", "loses", "reviews", "backs", "questions", "doubles", "halves", "finds",
    "reveals", "tests", "plans", "signs", "warns", "welcomes", "unveils", "pauses",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    domain: str


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class Related:
    title: str
    excerpt: str
    published: datetime
    web_url: str
    source: Source
    quality: int


@dataclass(frozen=True, slots=True)
class SynthArticle:
    index: int
    title: str
    slug: str
    published: datetime
    updated: datetime | None
    excerpt: str | None
    category: str
    type: str
    topics: tuple[str, ...]
    source: Source
    web_url: str
    images: tuple[Image, ...]
    related: tuple[Related, ...]
    quality: int
    heat: int
    body: str

    @property
    def relative_path(self) -> str:
        """Where the article lives under `content/`; unique thanks to the index."""
        day = self.published.strftime("%Y-%m-%d")
        return f"{self.published:%Y}/{day}-{self.slug}-{self.index}.md"


def ascii_slug(text: str, max_words: int = 8) -> str:
    """Lowercase ASCII words joined by hyphens; used for file names and URLs only."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", plain.lower())
    return "-".join(words[:max_words]) or "article"


def _identity(seed: int, index: int) -> tuple[str, Source]:
    """Title and source of article `index`, cheap enough to compute for related links."""
    rng = random.Random(f"{seed}:identity:{index}")
    subject = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 3)))
    rest = " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 6)))
    title = f"{subject.capitalize()} {rng.choice(VERBS)} {rest}"
    if rng.random() < 0.25:
        title = f"{rng.choice(TOPICS)}: {title}"
    return title, Source(*rng.choice(SOURCES))


def _web_url(seed: int, index: int) -> str:
    title, source = _identity(seed, index)
    return f"https://{source.domain}/news/{ascii_slug(title)}-{index}"


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    return " ".join(words).capitalize() + rng.choice((".", ".", ".", "?", "!"))


def _paragraph(rng: random.Random, source: Source, words: int) -> str:
    """About `words` words of prose with a link and some emphasis."""
    sentences: list[str] = []
    count = 0
    while count < words:
        sentence = _sentence(rng)
        count += len(sentence.split())
        sentences.append(sentence)
    text = " ".join(sentences).split(" ")
    for _ in range(rng.randint(0, 2)):
        i = rng.randrange(len(text))
        if text[i][-1].isalpha():
            text[i] = rng.choice(("*{}*", "**{}**", "_{}_"))
            text[i] = text[i].format(rng.choice(WORDS))
    if rng.random() < 0.6:
        i = rng.randrange(len(text) - 1)
        if text[i][-1].isalpha() and text[i + 1][-1].isalpha():
            path = f"{rng.choice(WORDS)}/{rng.choice(WORDS)}-{rng.randint(1, 9999)}"
            text[i] = f"[{text[i]} {text[i + 1]}](https://{source.domain}/{path})"
            del text[i + 1]
    return " ".join(text)


def _body(rng: random.Random, source: Source) -> str:
    """300 to 600 words: paragraphs, one bullet list, maybe a subheading."""
    target = rng.randint(300, 600)
    blocks: list[str] = []
    written = 0
    list_at = rng.randint(1, 3)
    while written < target:
        if len(blocks) == list_at:
            items = [
                " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 8))).capitalize()
                for _ in range(rng.randint(3, 5))
            ]
            blocks.append("\n".join(f"- {item}" for item in items))
            written += sum(len(item.split()) for item in items)
        elif len(blocks) == list_at + 2 and rng.random() < 0.5:
            blocks.append("## " + " ".join(rng.choice(WORDS) for _ in range(3)).capitalize())
            written += 3
        else:
            size = min(rng.randint(40, 90), max(target - written, 10))
            paragraph = _paragraph(rng, source, size)
            blocks.append(paragraph)
            written += len(paragraph.split())
    return "\n\n".join(blocks) + "\n"


def make_article(seed: int, index: int, published: datetime | None = None) -> SynthArticle:
    """Article `index`; `published` overrides its date (used for articles added later)."""
    rng = random.Random(f"{seed}:article:{index}")
    title, source = _identity(seed, index)
    if published is None:
        span = int((END - START).total_seconds()) // 60
        published = START + timedelta(minutes=rng.randrange(span))
    updated = published + timedelta(hours=rng.randint(1, 72)) if rng.random() < 0.2 else None
    slug = ascii_slug(title)
    images = tuple(
        Image(
            f"https://{source.domain}/images/{published:%Y/%m}/{index}-{k}.jpg",
            *rng.choice(((1200, 675), (800, 450), (640, 480), (1600, 900))),
        )
        for k in range(rng.choice((0, 1, 1, 1, 2)))
    )
    related: list[Related] = []
    for _ in range(rng.randint(0, 3)):
        if index > 0 and rng.random() < 0.4:
            other = rng.randrange(index)
            other_title, other_source = _identity(seed, other)
            web_url = _web_url(seed, other)
        else:
            other_title = _sentence(rng).rstrip(".?!")
            other_source = Source(*rng.choice(SOURCES))
            web_url = f"https://{other_source.domain}/story/{rng.randint(10_000, 99_999)}"
        related.append(
            Related(
                title=other_title,
                excerpt=_sentence(rng),
                published=published - timedelta(hours=rng.randint(1, 240)),
                web_url=web_url,
                source=other_source,
                quality=rng.randint(0, 100),
            )
        )
    return SynthArticle(
        index=index,
        title=title,
        slug=slug,
        published=published,
        updated=updated,
        excerpt=" ".join(_sentence(rng) for _ in range(2)) if rng.random() < 0.85 else None,
        category=rng.choice(CATEGORIES),
        type=rng.choice(TYPES),
        topics=tuple(rng.sample(TOPICS, rng.choice((0, 1, 1, 2, 2, 2, 3, 3, 4)))),
        source=source,
        web_url=f"https://{source.domain}/news/{slug}-{index}",
        images=images,
        related=tuple(related),
        quality=rng.randint(0, 100),
        heat=-1 if rng.random() < 0.3 else rng.randint(0, 1000),
        body=_body(rng, source),
    )


def iter_articles(n: int, seed: int = DEFAULT_SEED) -> Iterator[SynthArticle]:
    for index in range(n):
        yield make_article(seed, index)


def _q(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _ts(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def render_article(article: SynthArticle) -> str:
    """The article file: YAML front matter in the reference layout, then the body."""
    lines = ["---", f"title: {_q(article.title)}", f"publishedDateTime: {_ts(article.published)}"]
    if article.updated is not None:
        lines.append(f"updatedDateTime: {_ts(article.updated)}")
    if article.excerpt is not None:
        lines.append(f"excerpt: {_q(article.excerpt)}")
    lines += [
        f"category: {article.category}",
        f"originalUrl: {_q(article.web_url)}",
        f"webUrl: {_q(article.web_url)}",
        f"type: {article.type}",
        f"quality: {article.quality}",
        f"heat: {article.heat}",
        "provider:",
        f"  name: {_q(article.source.name)}",
        f"  domain: {article.source.domain}",
    ]
    if article.topics:
        lines.append("topics:")
        lines += [f"  - {_q(topic)}" for topic in article.topics]
    if article.images:
        lines.append("images:")
        for image in article.images:
            lines += [
                f"  - url: {_q(image.url)}",
                f"    width: {image.width}",
                f"    height: {image.height}",
                "    isCached: true",
            ]
    if article.related:
        lines.append("related:")
        for item in article.related:
            lines += [
                f"  - title: {_q(item.title)}",
                f"    excerpt: {_q(item.excerpt)}",
                f"    publishedDateTime: {_ts(item.published)}",
                f"    webUrl: {_q(item.web_url)}",
                "    type: article",
                "    provider:",
                f"      name: {_q(item.source.name)}",
                f"      domain: {item.source.domain}",
                f"    quality: {item.quality}",
            ]
    lines += ["---", article.body]
    return "\n".join(lines)


def write_article(site_dir: Path, article: SynthArticle) -> Path:
    path = site_dir / "content" / article.relative_path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_article(article), encoding="utf-8", newline="\n")
    return path


def write_site(n: int, site_dir: Path, seed: int = DEFAULT_SEED) -> list[SynthArticle]:
    """`site.yaml` and `n` articles under `site_dir`; returns the articles written."""
    site_dir.mkdir(parents=True, exist_ok=True)
    (site_dir / "site.yaml").write_text(SITE_YAML, encoding="utf-8", newline="\n")
    articles = list(iter_articles(n, seed))
    for article in articles:
        write_article(site_dir, article)
    return articles


def add_articles(site_dir: Path, first_index: int, k: int, seed: int = DEFAULT_SEED) -> list[Path]:
    """K new articles numbered from `first_index`, dated after every base article.

    Each batch is newer than the one before when `first_index` grows, so repeated calls
    always add the newest articles of the site, as a newsroom does.
    """
    paths = []
    for index in range(first_index, first_index + k):
        published = END + timedelta(minutes=10 * index)
        paths.append(write_article(site_dir, make_article(seed, index, published)))
    return paths


def edit_title(path: Path, new_title: str) -> None:
    """Replace the `title:` line of one article file, leaving every other byte alone."""
    text = path.read_text(encoding="utf-8")
    edited, count = re.subn(r"(?m)^title: .*$", f"title: {_q(new_title)}", text, count=1)
    if count != 1:
        raise ValueError(f"{path}: no title line")
    path.write_text(edited, encoding="utf-8", newline="\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic Broadsheet site.")
    parser.add_argument("n", type=int, help="number of articles")
    parser.add_argument("dir", type=Path, help="site folder to create")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    articles = write_site(args.n, args.dir, args.seed)
    print(f"wrote {len(articles)} articles to {args.dir / 'content'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
