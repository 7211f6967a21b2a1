"""The sitemap and robots.txt: what search engines are told about the site.

Owns the sitemaps.org format and the robots.txt that points at it. Pure.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from generator.feeds import serialise_xml, xml_text
from generator.model import OutputFile, Page, Site
from generator.urls import absolute_link_to

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def render_sitemap(site: Site, pages: tuple[Page, ...]) -> OutputFile:
    absolute = absolute_link_to(site.config)
    urlset = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    for page in pages:
        if page.kind == "404":
            continue
        url = ET.SubElement(urlset, "url")
        ET.SubElement(url, "loc").text = xml_text(absolute(page.path))
        if page.article is not None:
            modified = page.article.updated or page.article.published
            ET.SubElement(url, "lastmod").text = modified.isoformat(timespec="seconds")
    return OutputFile("sitemap.xml", serialise_xml(urlset), "sitemap")


def render_robots(site: Site) -> OutputFile:
    sitemap = absolute_link_to(site.config)("sitemap.xml")
    return OutputFile(
        "robots.txt", f"User-agent: *\nAllow: /\n\nSitemap: {sitemap}\n".encode(), "robots.txt"
    )
