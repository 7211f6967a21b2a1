"""Checks on a built output folder: parse every page and follow every internal link."""

from __future__ import annotations

from collections import deque
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib

LINK_ATTRIBUTES = (("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"))


def page_links(page: Path) -> list[str]:
    """Every href/src on an HTML page, parsed with an HTML5 parser."""
    document = html5lib.parse(page.read_bytes(), namespaceHTMLElements=False)
    return [
        element.get(attribute)
        for tag, attribute in LINK_ATTRIBUTES
        for element in document.iter(tag)
        if element.get(attribute)
    ]


def resolve(link: str, output: Path, base_path: str) -> Path | None:
    """The output file an internal root-relative link points at; None for external links."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path:
        return None
    assert parts.path.startswith(base_path), f"link {link!r} is not under {base_path!r}"
    relative = unquote(parts.path[len(base_path) :])
    target = output / relative
    return target / "index.html" if relative == "" or relative.endswith("/") else target


def broken_links(output: Path, base_path: str = "/") -> list[str]:
    problems = []
    for page in sorted(output.rglob("*.html")):
        for link in page_links(page):
            target = resolve(link, output, base_path)
            if target is not None and not target.is_file():
                problems.append(f"{page.relative_to(output)}: {link}")
    return problems


def reachable_pages(output: Path, base_path: str = "/") -> set[Path]:
    """HTML pages reachable from the home page by following internal links."""
    seen = {output / "index.html"}
    queue = deque(seen)
    while queue:
        page = queue.popleft()
        for link in page_links(page):
            target = resolve(link, output, base_path)
            if target is None or target.suffix != ".html" or target in seen:
                continue
            if target.is_file():
                seen.add(target)
                queue.append(target)
    return seen
