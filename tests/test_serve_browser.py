"""Live reload in a real browser: headless Chromium against a running `broadsheet serve`.

The test only edits files on disk; the page must change by itself: reloaded after a
good build, stylesheets swapped for a CSS-only change, an overlay while a file is
broken (at once on a page loaded meanwhile) that goes away when it is fixed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from serving import Served, running, write

from browser import chromium
from conftest import MakeSite, article

STORY = "content/story.md"
STORY_URL = "/2024/05/01/story/"
WAIT = 10


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    with chromium() as browser:
        browser.set_page_load_timeout(WAIT)
        browser.set_script_timeout(WAIT)
        yield browser


@pytest.fixture
def served(make_site: MakeSite) -> Iterator[Served]:
    files = {
        STORY: article("The old headline", slug="story"),
        "static/style.css": "body { background-color: rgb(1, 2, 3); }",
    }
    with running(make_site(files)) as running_site:
        yield running_site


def wait(driver: webdriver.Chrome) -> WebDriverWait[webdriver.Chrome]:
    return WebDriverWait(driver, WAIT, ignored_exceptions=[StaleElementReferenceException])


def open_live(driver: webdriver.Chrome, served: Served, path: str = STORY_URL) -> None:
    """Load a page and wait until its live-reload script is listening."""
    driver.get(f"http://127.0.0.1:{served.port}{path}")
    wait(driver).until(
        lambda d: d.execute_script("return !!(window.__broadsheetLive || {}).connected")
    )
    driver.execute_script("window.__testMarker = 'set by the test';")


def marker(driver: webdriver.Chrome) -> object:
    """The marker survives a stylesheet swap and is gone after a reload."""
    return driver.execute_script("return window.__testMarker || null")


def overlay_text(driver: webdriver.Chrome) -> str | None:
    found = driver.find_elements(By.ID, "broadsheet-overlay")
    return found[0].text if found and found[0].is_displayed() else None


def test_an_edited_title_appears_without_navigating(
    driver: webdriver.Chrome, served: Served
) -> None:
    open_live(driver, served)
    assert "The old headline" in driver.title
    url = driver.current_url
    write(served.site / STORY, article("The new headline", slug="story"))
    wait(driver).until(lambda d: "The new headline" in d.title)
    assert "The new headline" in driver.find_element(By.TAG_NAME, "h1").text
    assert driver.current_url == url
    assert marker(driver) is None  # the page reloaded by itself


def test_a_stylesheet_change_is_swapped_in_without_a_reload(
    driver: webdriver.Chrome, served: Served
) -> None:
    open_live(driver, served)
    background = "return getComputedStyle(document.body).backgroundColor"
    assert driver.execute_script(background) == "rgb(1, 2, 3)"
    write(served.site / "static/style.css", "body { background-color: rgb(4, 5, 6); }")
    wait(driver).until(lambda d: d.execute_script(background) == "rgb(4, 5, 6)")
    assert marker(driver) == "set by the test"


def test_the_overlay_shows_errors_as_text_and_goes_when_fixed(
    driver: webdriver.Chrome, served: Served
) -> None:
    open_live(driver, served)
    assert overlay_text(driver) is None
    hostile = '"<img src=x onerror=alert(1)>"'
    write(served.site / STORY, article("The old headline", hostile, slug="story"))
    text = wait(driver).until(overlay_text)
    assert "content/story.md:3: " in text
    assert "<img src=x onerror=alert(1)>" in text  # shown as text, not made an element
    assert driver.find_elements(By.CSS_SELECTOR, "#broadsheet-overlay img") == []
    assert "The old headline" in driver.title  # the last good page stays
    assert marker(driver) == "set by the test"

    open_live(driver, served)  # a page loaded while the error stands
    assert "content/story.md:3: " in wait(driver).until(overlay_text)

    write(served.site / STORY, article("The fixed headline", slug="story"))
    wait(driver).until(lambda d: "The fixed headline" in d.title)
    wait(driver).until(lambda d: overlay_text(d) is None)


def test_a_page_reloads_for_its_change_while_another_file_stays_broken(
    driver: webdriver.Chrome, served: Served
) -> None:
    open_live(driver, served)
    write(served.site / "content/other.md", article("Broken", '"not a date"'))
    assert "content/other.md:3: " in wait(driver).until(overlay_text)
    assert marker(driver) == "set by the test"  # not reloaded for the break itself
    write(served.site / STORY, article("A headline edited meanwhile", slug="story"))
    wait(driver).until(lambda d: "A headline edited meanwhile" in d.title)
    assert "content/other.md:3: " in wait(driver).until(overlay_text)  # still shown
    write(served.site / "content/other.md", article("Mended", "2024-04-01"))
    wait(driver).until(lambda d: overlay_text(d) is None)
    assert "A headline edited meanwhile" in driver.title


def test_a_listing_page_reloads_too(driver: webdriver.Chrome, served: Served) -> None:
    open_live(driver, served, "/")
    write(served.site / "content/another.md", article("Another headline", "2024-05-02"))
    wait(driver).until(lambda d: "Another headline" in d.find_element(By.TAG_NAME, "main").text)


def test_a_page_whose_file_a_build_leaves_as_it_was_is_not_reloaded(
    driver: webdriver.Chrome, served: Served
) -> None:
    """A paragraph the home page does not show (not the first) changes the article's
    page alone: that page reloads, the home page stays as it is."""
    builds = served.builds()
    write(served.site / STORY, article("The old headline", body="A first paragraph.", slug="story"))
    served.wait_for_build(builds)
    open_live(driver, served, "/")
    assert "A first paragraph." in driver.find_element(By.TAG_NAME, "main").text
    built = served.builds()
    story = article("The old headline", body="A first paragraph.\n\nA second one.", slug="story")
    write(served.site / STORY, story)
    status = served.wait_for_build(built)
    wait(driver).until(
        lambda d: d.execute_script("return window.__broadsheetLive.build") == status["build"]
    )
    assert "index.html" not in status["pages"]
    assert marker(driver) == "set by the test"  # told of both, reloaded for neither
    open_live(driver, served)
    assert "A second one." in driver.find_element(By.TAG_NAME, "article").text
