"""The sitemap and robots.txt: what search engines are told about the site.

Owns the sitemaps.org format: one `sitemap.xml` while the site has at most 50,000
pages, else numbered sitemap files of at most 50,000 URLs each under a sitemap index
at `sitemap.xml`. Every file is at the top of the site: a sitemap may list only the
addresses under its own folder. Articles are listed oldest first, so new ones join the
last file.
Pure: pages in, files out.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from html import escape

from generator.feeds import XML_DECLARATION, serialise_xml, xml_text
from generator.model import OutputFile, Page, Site
from generator.urls import absolute_link_to

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
URLS_PER_SITEMAP = 50_000


def render_sitemaps(
    site: Site, pages: tuple[Page, ...], limit: int = URLS_PER_SITEMAP
) -> tuple[OutputFile, ...]:
    articles = sorted((p for p in pages if p.article), key=lambda p: p.path)  # date order
    ordered = [*articles, *(p for p in pages if not p.article and p.kind != "404")]
    chunks = [ordered[i : i + limit] for i in range(0, len(ordered), limit)] or [[]]
    base = site.config.base_url
    if len(chunks) == 1:
        return (OutputFile("sitemap.xml", _urlset(chunks[0], base), "sitemap"),)
    files = [
        OutputFile(sitemap_path(n), _urlset(chunk, base), "sitemap")
        for n, chunk in enumerate(chunks, start=1)
    ]
    absolute = absolute_link_to(site.config)
    index = ET.Element("sitemapindex", {"xmlns": SITEMAP_NS})
    for file in files:
        ET.SubElement(ET.SubElement(index, "sitemap"), "loc").text = absolute(file.path)
    return (OutputFile("sitemap.xml", serialise_xml(index), "sitemap index"), *files)


def sitemap_path(number: int) -> str:
    """Where the numbered sitemap file `number` (from 1) of a split sitemap is written."""
    return f"sitemap-{number}.xml"


def _urlset(pages: list[Page], base_url: str) -> bytes:
    # Spelled out rather than built as a tree: a sitemap has up to 50,000 entries, and
    # the text is exactly what ElementTree would write. A page's path is a site path,
    # never a URL, and holds no line break: every address is escaped in one go.
    addresses = "\n".join([base_url + page.path.lstrip("/") for page in pages])
    locations = escape(xml_text(addresses), quote=False).split("\n")
    assert len(locations) == len(pages), "a line break in a page's path"
    parts = [f'<urlset xmlns="{SITEMAP_NS}">']
    for page, location in zip(pages, locations, strict=True):
        article = page.article
        if article is None:
            parts.append(f"<url><loc>{location}</loc></url>")
        else:
            modified = (article.updated or article.published).isoformat(timespec="seconds")
            parts.append(f"<url><loc>{location}</loc><lastmod>{modified}</lastmod></url>")
    parts.append("</urlset>")
    return XML_DECLARATION + "".join(parts).encode() + b"\n"


def render_robots(site: Site) -> OutputFile:
    sitemap = absolute_link_to(site.config)("sitemap.xml")
    text = f"User-agent: *\nAllow: /\n\nSitemap: {sitemap}\n"
    return OutputFile("robots.txt", text.encode(), "robots.txt")
