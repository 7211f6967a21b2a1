"""Top stories and "more from the same topics"."""

from __future__ import annotations

from pathlib import Path

from conftest import MakeSite, article
from generator.builder import build
from generator.config import SiteConfig
from generator.loader import load_articles
from generator.model import Site
from generator.site import assemble_site


def _site(make_site: MakeSite, files: dict[str, str]) -> Site:
    folder: Path = make_site(files)
    loaded = load_articles(folder, SiteConfig("T", "https://t.example/").tz)
    return assemble_site(SiteConfig("T", "https://t.example/"), loaded.articles).site


def test_top_stories_mix_quality_heat_and_recency(make_site: MakeSite) -> None:
    site = _site(make_site, {
        "content/lead.md": article("Lead", "2024-05-10T10:00Z", quality="100", heat="100"),
        "content/a.md": article("New but weak", "2024-05-10T09:00Z", quality="5", heat="0"),
        "content/b.md": article("Older and strong", "2024-05-09T09:00Z", quality="95", heat="90"),
        "content/c.md": article("Ancient", "2023-01-01T09:00Z", quality="100", heat="100"),
    })  # fmt: skip
    # The newest article leads the front page above the list, so it is not in it again.
    assert [a.title for a in site.top_stories] == ["Older and strong", "Ancient", "New but weak"]


def test_front_page_does_not_repeat_its_lead_among_top_stories(make_site: MakeSite) -> None:
    folder = make_site({
        "content/lead.md": article("Leading story", "2024-05-10T10:00Z", quality="99", heat="99"),
        "content/b.md": article("Second story", "2024-05-09T09:00Z"),
    })  # fmt: skip
    build(folder)
    home = (folder / "output" / "index.html").read_text()
    lead, top = home.split('class="front-lead"')[1].split('class="top-stories"')
    assert "Leading story" in lead and "Leading story" not in top
    assert "Second story" in top


def test_more_from_topics_are_earlier_articles_only(make_site: MakeSite) -> None:
    files = {
        f"content/a{n}.md": article(f"Story {n}", f"2024-05-{10 + n}T09:00:00Z",
                                    topics="[Rail]" if n % 2 else "[Rail, Energy]")
        for n in range(8)
    }  # fmt: skip
    files["content/other.md"] = article("Unrelated", "2024-05-12T10:00:00Z", topics="[Music]")
    site = _site(make_site, files)
    by_title = {a.title: a for a in site.articles}
    assert [link.title for link in by_title["Story 5"].more_from_topics] == [
        "Story 4", "Story 3", "Story 2", "Story 1",
    ]  # fmt: skip
    assert by_title["Story 0"].more_from_topics == ()
    assert by_title["Unrelated"].more_from_topics == ()
    # Adding a newer article on the same topic leaves older pages' lists unchanged.
    files["content/newest.md"] = article("Newest", "2024-06-01T09:00:00Z", topics="[Rail]")
    again = {a.title: a for a in _site(make_site, files).articles}
    assert again["Story 5"].more_from_topics == by_title["Story 5"].more_from_topics
