"""URLs: how a site path becomes a link on a page or an absolute URL in a feed.

Owns the rule that internal links are root-relative under the path of `base_url`
(`/news/...`) and that feeds, sitemaps and canonical links are absolute, and that a
link holds only what a URL may hold as it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from generator.config import SiteConfig
from generator.schema import with_ascii_host

_NEVER_RAW = re.compile('[\x00-\x20"<>^`{|}\x7f-\ud7ff\ue000-\U0010ffff]+')
"""What a URL never holds as it is (RFC 3986): spaces, control characters, characters
outside ASCII, and `"<>^`{|}`. A lone surrogate is left for the page's own check,
which names the template line writing it. A backslash stays, as articles' URLs keep
it (`generator.schema.to_url`): browsers read it as a slash."""
_AS_IT_IS = re.compile(r"[!#-;=?-\]_a-z~]*").fullmatch
"""Whether a URL holds only what it may hold as it is: the ASCII characters that are not
`_NEVER_RAW` (a match of this takes a third of the time of a search for those)."""


def _encoded(url: str) -> str:
    """`url` with a host outside ASCII in its ASCII form (`bücher.example` is
    `xn--bcher-kva.example`, as articles' URLs write it) and what a URL never holds as
    it is percent-encoded (characters outside ASCII as UTF-8: `photo 1.jpg` is
    `photo%201.jpg`); all else as written: `%XX` escapes (nothing is encoded twice),
    `/`, `?`, `#`, `&`, `=` and the other reserved characters."""
    if _AS_IT_IS(url) is not None:  # nearly every link: a quick look, as for each one
        return url
    if not url.isascii() and _is_absolute(url):
        url = with_ascii_host(url)
    return _NEVER_RAW.sub(lambda found: quote(found.group(), safe=""), url)


def _is_absolute(url: str) -> bool:
    return url.startswith(("http://", "https://"))


def link_to(config: SiteConfig) -> Callable[[str], str]:
    """Root-relative URL (under the base path) for a site path; absolute URLs as they
    are; both percent-encoded where they must be (`_encoded`)."""
    base = config.base_path

    def url(path: str) -> str:
        return _encoded(path if _is_absolute(path) else base + path.lstrip("/"))

    return url


def absolute_link_to(config: SiteConfig) -> Callable[[str], str]:
    """Absolute URL for a site path; absolute URLs as they are; both percent-encoded
    where they must be (`_encoded`)."""
    base = config.base_url

    def absolute_url(path: str) -> str:
        return _encoded(path if _is_absolute(path) else base + path.lstrip("/"))

    return absolute_url
