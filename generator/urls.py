"""URLs: how a site path becomes a link on a page or an absolute URL in a feed.

Owns the rule that internal links are root-relative under the path of `base_url`
(`/news/...`) and that feeds, sitemaps and canonical links are absolute.
"""

from __future__ import annotations

from collections.abc import Callable

from generator.config import SiteConfig


def _is_absolute(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def link_to(config: SiteConfig) -> Callable[[str], str]:
    """Root-relative URL (under the base path) for a site path; absolute URLs unchanged."""
    base = config.base_path

    def url(path: str) -> str:
        return path if _is_absolute(path) else base + path.lstrip("/")

    return url


def absolute_link_to(config: SiteConfig) -> Callable[[str], str]:
    """Absolute URL for a site path; absolute URLs unchanged."""
    base = config.base_url

    def absolute_url(path: str) -> str:
        return path if _is_absolute(path) else base + path.lstrip("/")

    return absolute_url
