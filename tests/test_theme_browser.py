"""The default theme in a real browser: accessibility (axe-core), layout from phone to
desktop, no failed or external requests, keyboard use, and the broken-image placeholder.

The example site is built once per module and served on 127.0.0.1; one headless
Chromium serves the whole module, switching window size and colour scheme as needed.
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from browser import chromium
from conftest import REPO, SITE_YAML, article, build_example
from generator import BuildOptions, build

AXE = REPO / "tests" / "tools" / "node_modules" / "axe-core" / "axe.min.js"

PAGES = {
    "home": "",
    "article": "2026/04/20/ai-model-helps-forecast-harbour-fog-hours-ahead/",
    "article-related": "2024/03/12/the-automated-port-still-needs-people/",
    "topic": "topics/shipping/",
    "source": "sources/harbourlight-example/",
    "archive": "archive/",
    "year": "2024/",
    "topics": "topics/",
    "older-page": "page/2/",
}
WINDOWS = {360: 740, 390: 844, 1280: 900, 1920: 1080}
"""Width → height of the windows the layout is checked in."""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    output = build_example(tmp_path_factory.mktemp("theme-browser"))
    with serve(output) as url:
        yield url


@pytest.fixture(scope="module")
def driver() -> Iterator[WebDriver]:
    with chromium(1280, 900) as browser:
        browser.set_script_timeout(30)
        yield browser


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("theme-screenshots")


def use_window(driver: WebDriver, width: int, height: int, scheme: str = "light") -> None:
    driver.set_window_size(width, height)
    driver.execute_cdp_cmd(
        "Emulation.setEmulatedMedia",
        {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
    )


LOAD_ALL_IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
for (const img of images) img.loading = "eager";
Promise.all(images.map(img => img.complete ? null : new Promise(ok => {
  img.addEventListener("load", ok); img.addEventListener("error", ok);
}))).then(() => done(images.filter(i => i.naturalWidth === 0).map(i => i.currentSrc || i.src)));
"""


def open_page(driver: WebDriver, url: str) -> list[str]:
    """Load `url` with every lazy image loaded too; returns the problems seen: failed or
    external requests, error responses and console errors."""
    driver.get_log("browser")
    driver.get_log("performance")
    driver.get(url)
    broken = driver.execute_async_script(LOAD_ALL_IMAGES)
    problems = [f"image did not load: {src}" for src in broken]
    origin = urlsplit(url).netloc
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        method, params = message["method"], message.get("params", {})
        if method == "Network.requestWillBeSent":
            request_url = params["request"]["url"]
            if not request_url.startswith("data:") and urlsplit(request_url).netloc != origin:
                problems.append(f"external request: {request_url}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.append(f"request failed: {params.get('errorText')}")
        elif method == "Network.responseReceived" and params["response"]["status"] >= 400:
            response = params["response"]
            problems.append(f"HTTP {response['status']}: {response['url']}")
    problems += [
        f"console: {entry['message']}"
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE"
    ]
    return problems


RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})
  .then(result => done(result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
  }))))
  .catch(error => done([{id: "axe-error", impact: "critical", help: String(error), nodes: []}]));
"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_serious_violations(
    driver: WebDriver, site_url: str, name: str, scheme: str
) -> None:
    use_window(driver, 1280, 900, scheme)
    driver.get(site_url + PAGES[name])
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    violations = driver.execute_async_script(RUN_AXE)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert serious == [], json.dumps(serious, indent=2)


@pytest.mark.parametrize("width", list(WINDOWS))
@pytest.mark.parametrize("name", list(PAGES))
def test_layout_fits_the_window_and_every_request_succeeds(
    driver: WebDriver, site_url: str, shots: Path, name: str, width: int
) -> None:
    scheme = "dark" if width < 1000 else "light"
    use_window(driver, width, WINDOWS[width], scheme)
    problems = open_page(driver, site_url + PAGES[name])
    screenshot = shots / f"{name}-{width}-{scheme}.png"
    driver.save_screenshot(str(screenshot))
    inner_width = driver.execute_script("return window.innerWidth")
    scroll_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert inner_width == width
    assert scroll_width <= inner_width, f"horizontal scrolling, see {screenshot}"
    assert problems == []


def test_theme_uses_no_script_and_one_stylesheet(driver: WebDriver, site_url: str) -> None:
    use_window(driver, 1280, 900)
    for path in PAGES.values():
        driver.get(site_url + path)
        scripts = "script:not([type='application/ld+json'])"
        assert driver.find_elements(By.CSS_SELECTOR, scripts) == []
        assert len(driver.find_elements(By.CSS_SELECTOR, "link[rel=stylesheet]")) == 1


def focused(driver: WebDriver) -> dict[str, Any]:
    result: dict[str, Any] = driver.execute_script(
        """
        const el = document.activeElement, style = getComputedStyle(el);
        const box = el.getBoundingClientRect();
        return {tag: el.tagName.toLowerCase(), cls: el.className, text: el.textContent.trim(),
                rel: el.getAttribute("rel"),
                outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                visible: box.width > 0 && box.height > 0 && box.top >= 0 &&
                         box.bottom <= window.innerHeight};
        """
    )
    return result


def test_keyboard_reaches_skip_link_navigation_and_pagination_with_visible_focus(
    driver: WebDriver, site_url: str
) -> None:
    use_window(driver, 390, 844)
    driver.get(site_url + PAGES["topic"])
    body = driver.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    first = focused(driver)
    assert first["cls"] == "skip-link" and first["visible"], first
    assert first["outline"] != "none" and first["outlineWidth"] >= 2
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert driver.execute_script("return location.hash") == "#main"
    seen: list[dict[str, Any]] = []
    for _ in range(200):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        seen.append(focused(driver))
        if seen[-1]["rel"] == "next":
            break
    assert seen[-1]["rel"] == "next", "the next-page link is not reachable by keyboard"
    assert seen[-1]["visible"] and seen[-1]["outline"] != "none"
    status = driver.find_element(By.CSS_SELECTOR, ".pagination .page-status").text
    assert status.startswith("Page ")
    assert driver.find_elements(By.CSS_SELECTOR, ".pagination [aria-current='page']")
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    assert "/topics/shipping/page/" in driver.current_url
    assert driver.find_element(By.CSS_SELECTOR, ".pagination .page-status").text != status


def _built_and_served(folder: Path, files: dict[str, str]) -> Iterator[str]:
    """Write `files` into `folder`, build the site there and serve its output."""
    for relative, text in files.items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert build(folder, BuildOptions()).errors == 0
    with serve(folder / "output") as url:
        yield url


@pytest.fixture(scope="module")
def broken_images_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A small site whose images point at files that do not exist."""
    lead = "[{url: static/missing/lead.jpg, width: 1200, height: 800}]"
    card = "[{url: static/missing/card.jpg, width: 800, height: 450, alt: Cranes at dusk}]"
    files = {
        "site.yaml": SITE_YAML,
        "content/a.md": article("Lead with a missing picture", images=lead),
        "content/b.md": article("Card with a missing picture", "2024-04-30T09:00:00Z", images=card),
        "content/c.md": article("Text only", "2024-04-29T09:00:00Z", excerpt="No picture here."),
    }
    yield from _built_and_served(tmp_path_factory.mktemp("broken-images"), files)


SAMPLE_PIXELS = """
const [data, boxes] = arguments, done = arguments[arguments.length - 1];
const img = new Image();
img.onload = () => {
  const canvas = document.createElement("canvas");
  canvas.width = img.width; canvas.height = img.height;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0);
  done(boxes.map(([x, y, w, h]) => {
    const pixels = ctx.getImageData(x, y, w, h).data, colours = new Set();
    for (let i = 0; i < pixels.length; i += 4) colours.add(pixels.slice(i, i + 3).join(","));
    return Array.from(colours);
  }));
};
img.src = "data:image/png;base64," + data;
"""


def test_image_that_fails_to_load_leaves_a_neat_placeholder(
    driver: WebDriver, broken_images_url: str
) -> None:
    use_window(driver, 1280, 900)
    problems = open_page(driver, broken_images_url)
    assert any("card.jpg" in p for p in problems)  # the failure is real
    frames = driver.find_elements(By.CSS_SELECTOR, ".card .frame")
    assert len(frames) == 2
    for frame in frames:
        image = frame.find_element(By.TAG_NAME, "img")
        assert driver.execute_script("return arguments[0].naturalWidth", image) == 0
        size = frame.size
        # The frame keeps its 16:9 box: the card does not collapse.
        assert size["height"] > 150 and abs(size["height"] - size["width"] * 9 / 16) < 2
        assert frame.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)"
        corner, middle = driver.execute_async_script(
            SAMPLE_PIXELS,
            frame.screenshot_as_base64,
            [[4, 4, 24, 24], [0, int(size["height"]) // 2 - 12, int(size["width"]), 24]],
        )
        # No broken-image icon or alt text in the corner: one flat placeholder colour …
        assert len(corner) == 1, corner
        # … and the alt text is drawn across the middle.
        assert len(middle) > 2
    assert "Cranes at dusk" in driver.page_source
    # The article page's lead image frame keeps the image's own aspect ratio (3:2).
    driver.get(broken_images_url + "2024/05/01/lead-with-a-missing-picture/")
    frame = driver.find_element(By.CSS_SELECTOR, ".lead-image .frame")
    assert abs(frame.size["height"] - frame.size["width"] * 800 / 1200) < 2


COMPOUND = "Grundstücksverkehrsgenehmigungszuständigkeitsübertragungsverordnung"
"""A real German word, longer than a phone's screen is wide."""


@pytest.fixture(scope="module")
def long_words_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    provider = f"{{name: Bundesverfassungsgericht{COMPOUND}, domain: bundesverfassungsgericht.de}}"
    yield from _built_and_served(
        tmp_path_factory.mktemp("long-words"),
        {
            "site.yaml": SITE_YAML + "language: de\n",
            "content/a.md": article(
                f"Die {COMPOUND} tritt in Kraft", topics=f"[{COMPOUND}]", category=COMPOUND,
                provider=provider, slug="lang", body="Der Text.",
            ),
            "content/b.md": article("Kurz", "2024-05-02T09:00:00Z", topics=f"[{COMPOUND}]"),
            "content/c.md": article("Noch eine", "2024-04-30T09:00:00Z", topics=f"[{COMPOUND}]"),
        },
    )  # fmt: skip


@pytest.mark.parametrize("width", [360, 768])
@pytest.mark.parametrize("path", ["", "topics/", "2024/05/01/lang/"])
def test_a_long_word_never_makes_the_page_scroll_sideways(
    driver: WebDriver, long_words_url: str, path: str, width: int
) -> None:
    use_window(driver, width, 800)
    assert open_page(driver, long_words_url + path) == []
    scroll_width = driver.execute_script("return document.documentElement.scrollWidth")
    assert scroll_width <= width


def test_a_right_to_left_site_is_laid_out_from_the_right(driver: WebDriver, tmp_path: Path) -> None:
    provider = "{name: الجزيرة, domain: aljazeera.net}"
    served = _built_and_served(
        tmp_path,
        {
            "site.yaml": SITE_YAML + "language: ar\n",
            "content/a.md": article("شركة Apple تطلق iPhone 16 في الرياض", provider=provider),
            "content/b.md": article("خبر ثان", "2024-04-30T09:00:00Z", provider=provider),
        },
    )
    url = next(served)
    try:
        use_window(driver, 1280, 900)
        assert open_page(driver, url) == []
        assert driver.execute_script("return document.documentElement.dir") == "rtl"
        item = driver.find_element(By.CSS_SELECTOR, ".top-stories li")
        title = item.find_element(By.CSS_SELECTOR, ".top-story-title")
        box = driver.execute_script(
            "const [li, a] = [arguments[0], arguments[1]].map(e => e.getBoundingClientRect());"
            "return [li.right - a.right, a.left - li.left];",
            item,
            title,
        )
        assert box[0] >= 40  # the rank number's room is on the right, where the line starts
        assert driver.find_element(By.CSS_SELECTOR, ".byline bdi").text == "الجزيرة"
    finally:
        served.close()


def test_an_article_without_a_lead_image_keeps_its_topics_apart_from_its_body(
    driver: WebDriver, long_words_url: str
) -> None:
    use_window(driver, 390, 844)
    assert open_page(driver, long_words_url + "2024/05/01/lang/") == []
    gap = driver.execute_script(
        "const chips = document.querySelector('.story-header .chips').getBoundingClientRect();"
        "return document.querySelector('.story-body').getBoundingClientRect().top - chips.bottom;"
    )
    assert gap >= 16


NUMBERS_TABLE = """\
Volumes in tonnes.

| Port | First quarter | Second quarter | Third quarter | Fourth quarter |
|---|---|---|---|---|
| North | 12,345,678.90 | 23,456,789.01 | 34,567,890.12 | 45,678,901.23 |
| South | 98,765,432.10 | 87,654,321.09 | 76,543,210.98 | 65,432,109.87 |
"""


LONG_SOURCE = "The Independent Review of Harbour, Estuary and Coastal Shipping of the North Sea"

TALL_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="400" height="3000" viewBox="0 0 400 3000">'
    '<rect width="400" height="3000" fill="#2a6f97"/></svg>'
)


@pytest.fixture(scope="module")
def reading_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A small site of articles that test how a page reads: a wide table of numbers, a
    tall narrow lead image, a source with a long name."""
    tall = "[{url: static/tall.svg, width: 400, height: 3000, alt: A lighthouse}]"
    yield from _built_and_served(
        tmp_path_factory.mktemp("reading"),
        {
            "site.yaml": SITE_YAML,
            "content/table.md": article("Port volumes", body=NUMBERS_TABLE, slug="table"),
            "content/tall.md": article("The lighthouse", images=tall, slug="tall", body="Text."),
            "static/tall.svg": TALL_SVG,
            "content/source.md": article(
                "From far away",
                slug="source",
                originalUrl="https://review.example/far",
                provider=f"{{name: '{LONG_SOURCE}', domain: review.example}}",
            ),
        },
    )


def test_a_wide_table_scrolls_inside_its_box_and_keeps_its_numbers_whole(
    driver: WebDriver, reading_url: str
) -> None:
    use_window(driver, 375, 800)
    assert open_page(driver, reading_url + "2024/05/01/table/") == []
    table = driver.find_element(By.CSS_SELECTOR, ".story-body table")
    widths = driver.execute_script(
        "return [arguments[0].scrollWidth, arguments[0].clientWidth,"
        " document.scrollingElement.scrollWidth, window.innerWidth]",
        table,
    )
    assert widths[0] > widths[1]  # the table scrolls sideways inside its box …
    assert widths[2] <= widths[3]  # … and the page does not
    lines = driver.execute_script(
        """
        return Array.from(arguments[0].querySelectorAll("td")).map(cell => {
          const range = document.createRange();
          range.selectNodeContents(cell);
          return [cell.textContent, new Set(Array.from(range.getClientRects(),
                                                       r => Math.round(r.top))).size];
        });
        """,
        table,
    )
    assert len(lines) == 10
    assert [text for text, count in lines if count != 1] == []  # every cell on one line


@pytest.mark.parametrize(("width", "height"), [(1440, 900), (390, 844)])
def test_a_tall_lead_image_fits_the_window_and_is_never_enlarged(
    driver: WebDriver, reading_url: str, width: int, height: int
) -> None:
    use_window(driver, width, height)
    assert open_page(driver, reading_url + "2024/05/01/tall/") == []
    frame = driver.find_element(By.CSS_SELECTOR, ".lead-image .frame")
    image = frame.find_element(By.TAG_NAME, "img")
    assert driver.execute_script("return arguments[0].naturalWidth", image) == 400
    window_height = driver.execute_script("return window.innerHeight")
    box = image.size
    assert 0 < box["height"] <= 0.8 * window_height + 1
    assert box["width"] <= 400
    # The frame keeps the image's shape, so nothing of it is cut off.
    assert frame.size == box and abs(box["width"] / box["height"] - 400 / 3000) < 0.01


INSIDE_ROUNDED_BOX = """
const element = arguments[0], box = element.getBoundingClientRect();
const style = getComputedStyle(element);
const r = Math.min(parseFloat(style.borderTopLeftRadius), box.width / 2, box.height / 2);
const range = document.createRange();
range.selectNodeContents(element);
const corners = Array.from(range.getClientRects()).flatMap(
  t => [[t.left, t.top], [t.right, t.top], [t.left, t.bottom], [t.right, t.bottom]]);
const outside = corners.filter(([x, y]) => {
  const dx = Math.max(box.left + r - x, x - (box.right - r), 0);
  const dy = Math.max(box.top + r - y, y - (box.bottom - r), 0);
  return dx * dx + dy * dy > r * r;
});
return [Math.round(box.height), outside];
"""
"""The height of an element and the corners of its text's lines that lie outside its
rounded border."""


def test_a_long_source_name_wraps_inside_the_read_at_button(
    driver: WebDriver, reading_url: str
) -> None:
    use_window(driver, 375, 800)
    assert open_page(driver, reading_url + "2024/05/01/source/") == []
    link = driver.find_element(By.CSS_SELECTOR, ".read-at a")
    assert LONG_SOURCE in link.text
    height, outside = driver.execute_script(INSIDE_ROUNDED_BOX, link)
    assert height > 100  # the name wraps onto several lines …
    assert outside == []  # … all inside the button's rounded shape


def test_pagination_stays_on_one_line_on_a_phone(driver: WebDriver, site_url: str) -> None:
    use_window(driver, 375, 800)
    assert open_page(driver, site_url + PAGES["older-page"]) == []
    items = driver.execute_script(
        """
        return Array.from(document.querySelectorAll(".pagination li > *"), item => {
          const lines = new Set(), walker = document.createTreeWalker(item, NodeFilter.SHOW_TEXT);
          while (walker.nextNode()) {
            const text = walker.currentNode, range = document.createRange();
            if (!text.data.trim() || text.parentElement.closest(".visually-hidden")) continue;
            range.selectNodeContents(text);
            for (const r of range.getClientRects()) lines.add(Math.round(r.top));
          }
          const top = Math.round(item.getBoundingClientRect().top);
          return [item.textContent.trim(), top, lines.size];
        });
        """
    )
    assert len(items) == 4 and items[-1][0].startswith("Older")
    assert {top for _, top, _ in items} == {items[0][1]}, items  # one row …
    assert [text for text, _, lines in items if lines != 1] == []  # … each link on one line


ARABIC_TITLE = "شركة Apple تطلق iPhone 16 في الرياض"


@pytest.fixture(scope="module")
def right_to_left_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An Arabic site with one article in English, dates everywhere."""
    related = "\n  - {title: Elsewhere, webUrl: 'https://elsewhere.example/x', date: 2024-04-02}"
    yield from _built_and_served(
        tmp_path_factory.mktemp("right-to-left"),
        {
            "site.yaml": SITE_YAML + "language: ar\n",
            "content/a.md": article(
                ARABIC_TITLE, slug="ar", updatedDateTime="2024-05-01T19:00:00Z", related=related,
                provider="{name: الجزيرة, domain: aljazeera.net}",
            ),
            "content/b.md": article(
                "Cranes return to the harbour", "2024-04-30T09:00:00Z", slug="en",
                excerpt="An English standfirst.", body="An English body.",
                provider="{name: Harbour Light, domain: harbourlight.example}",
            ),
        },
    )  # fmt: skip


TEXT_ORDER = """
return Array.from(document.querySelectorAll(arguments[0]), element => {
  const text = element.firstChild, range = document.createRange();
  const box = i => { range.setStart(text, i); range.setEnd(text, i + 1);
                     return range.getBoundingClientRect(); };
  const [first, last] = [box(0), box(text.length - 1)];
  return [element.textContent, getComputedStyle(element).direction, first.left < last.left];
});
"""
"""For each element matching a selector: its text, its direction, and whether the first
character of its text is drawn left of the last."""

DIRECTION = "return getComputedStyle(document.querySelector(arguments[0])).direction"


@pytest.mark.parametrize("path", ["", "2024/05/01/ar/", "sources/"])
def test_dates_on_a_right_to_left_site_read_from_left_to_right(
    driver: WebDriver, right_to_left_url: str, path: str
) -> None:
    use_window(driver, 1280, 900)
    assert open_page(driver, right_to_left_url + path) == []
    assert driver.execute_script("return document.documentElement.dir") == "rtl"
    stamps = driver.execute_script(TEXT_ORDER, "time")
    assert len(stamps) >= 2
    assert [s for s in stamps if not s[2]] == []


def test_an_article_in_another_script_is_laid_out_in_its_own_direction(
    driver: WebDriver, right_to_left_url: str, tmp_path: Path
) -> None:
    use_window(driver, 1280, 900)
    # English text on an Arabic site runs from the left …
    assert open_page(driver, right_to_left_url + "2024/04/30/en/") == []
    for selector in ("h1", ".standfirst", ".story-body"):
        assert driver.execute_script(DIRECTION, selector) == "ltr", selector
    # … and an Arabic article on an English site from the right.
    served = _built_and_served(
        tmp_path,
        {
            "site.yaml": SITE_YAML,
            "content/a.md": article(ARABIC_TITLE, slug="ar", excerpt="مقتطف", body="نص المقال."),
        },
    )
    url = next(served)
    try:
        for path, selectors in [
            ("", (".card-title a", ".excerpt")),
            ("2024/05/01/ar/", ("h1", ".standfirst", ".story-body")),
        ]:
            assert open_page(driver, url + path) == []
            for selector in selectors:
                assert driver.execute_script(DIRECTION, selector) == "rtl", selector
    finally:
        served.close()


LUMINANCE = """
const luminance = colour => {
  const [r, g, b] = colour.match(/[\\d.]+/g).slice(0, 3).map(Number).map(c => {
    c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
return Object.fromEntries(arguments[0].map(([selector, property]) => [
  selector + " " + property,
  luminance(getComputedStyle(document.querySelector(selector))[property])]));
"""
"""The relative luminance (0 black to 1 white) of a CSS property of each selector's first
element, for a list of `[selector, property]`."""


@pytest.mark.parametrize("name", ["home", "article"])
def test_printing_with_a_dark_scheme_puts_dark_ink_on_white_paper(
    driver: WebDriver, site_url: str, name: str
) -> None:
    use_window(driver, 1280, 900)
    driver.get(site_url + PAGES[name])
    try:
        driver.execute_cdp_cmd(
            "Emulation.setEmulatedMedia",
            {"media": "print", "features": [{"name": "prefers-color-scheme", "value": "dark"}]},
        )
        ink = [[".brand", "color"], ["h2", "color"], [".footer-brand", "color"]]
        paper = [["body", "backgroundColor"]]
        if name == "home":
            ink += [[".card-title a", "color"], [".byline", "color"]]
            paper += [[".grid .card", "backgroundColor"]]
        else:
            ink += [["h1", "color"], [".standfirst", "color"], [".story-meta .source", "color"]]
        luminance = driver.execute_script(LUMINANCE, ink + paper)
        pale_ink = {f"{s} {p}" for s, p in ink if luminance[f"{s} {p}"] > 0.2}
        dark_paper = {f"{s} {p}" for s, p in paper if luminance[f"{s} {p}"] < 0.8}
        assert (pale_ink, dark_paper) == (set(), set()), luminance
    finally:
        use_window(driver, 1280, 900)
