"""Ranking: which articles lead — the "top stories" and "more from the same topics".

Owns the scoring formula, so a theme can show it and a reader can trust it. Pure;
ranks are relative to the newest article of the site, never to the clock, so two
builds of the same content agree.

Top-story score, each part between 0 and 1:

    score = 0.4 * quality / 100            (unknown quality counts as 50)
          + 0.3 * min(heat, 100) / 100     (unknown heat, -1, counts as 0)
          + 0.3 * 0.5 ** (age_in_days / 3) (age behind the site's newest article)
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence

from generator.model import Article, Link

TOP_STORIES = 5
TOP_STORY_POOL = 200
"""Only the newest articles compete, so the strip never reaches into the archive."""
RELATED_BY_TOPIC = 4
HALF_LIFE_DAYS = 3.0


def top_story_score(article: Article, newest: Article) -> float:
    quality = 50 if article.quality is None else article.quality
    heat = 0 if article.heat is None or article.heat < 0 else min(article.heat, 100)
    age_days = max(0.0, (newest.published - article.published).total_seconds() / 86_400)
    recency = math.pow(0.5, age_days / HALF_LIFE_DAYS)
    return 0.4 * quality / 100 + 0.3 * heat / 100 + 0.3 * recency


def rank_top_stories(
    articles: tuple[Article, ...], count: int = TOP_STORIES
) -> tuple[Article, ...]:
    """The best-scoring of the newest articles (given newest first) but the newest itself,
    which leads the front page; ties go to the newer."""
    if not articles:
        return ()
    pool = articles[1:TOP_STORY_POOL]
    order = sorted(range(len(pool)), key=lambda i: (-top_story_score(pool[i], articles[0]), i))
    return tuple(pool[i] for i in order[:count])


def more_from_topics(
    position: int,
    article: Article,
    topic_positions: Mapping[str, list[int]],
    links: Sequence[Link],
    count: int = RELATED_BY_TOPIC,
) -> tuple[Link, ...]:
    """The nearest *earlier* articles sharing a topic with `article`.

    Only older articles are chosen, so publishing a new one never changes an old page.
    `topic_positions` maps a topic key to the ascending positions (in the site's order,
    newest first) of the articles that carry it; `links` holds a link to each article,
    in that order.
    """
    topics = article.topics
    if not topics:
        return ()
    if len(topics) == 1:  # the nearest of one topic's, already in order
        positions = topic_positions[topics[0].key]
        start = bisect.bisect_right(positions, position)
        return tuple([links[i] for i in positions[start : start + count]])
    found: set[int] = set()
    for topic in topics:
        positions = topic_positions[topic.key]
        start = bisect.bisect_right(positions, position)
        found.update(positions[start : start + count])
    return tuple([links[i] for i in sorted(found)[:count]])
