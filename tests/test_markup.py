"""The Markdown dialect of article bodies and the excerpt drawn from them."""

from __future__ import annotations

from generator.markup import derive_excerpt, render_markdown


def test_commonmark_with_github_tables_strikethrough_and_autolinks() -> None:
    html = render_markdown(
        "Some *emphasis*, **strength**, ~~a retraction~~ and https://example.org/a.\n"
        "\n"
        "| Party | Seats |\n"
        "|:------|------:|\n"
        "| Green | 12 |\n"
        "\n"
        "```python\n"
        "print('<b>')\n"
        "```\n"
        "\n"
        "1. first\n"
        "2. second\n"
    )
    assert "<em>emphasis</em>" in html
    assert "<strong>strength</strong>" in html
    assert "<del>a retraction</del>" in html
    assert '<a href="https://example.org/a" rel="noopener noreferrer">' in html
    assert '<th align="left">Party</th>' in html
    assert '<td align="right">12</td>' in html
    assert "<code class=\"language-python\">print('&lt;b&gt;')" in html
    assert "<ol>\n<li>first</li>" in html


def test_headings_move_down_a_level() -> None:
    html = render_markdown("# One\n\n## Two\n\n###### Six\n")
    assert "<h1" not in html
    assert "<h2>One</h2>" in html
    assert "<h3>Two</h3>" in html
    assert "<h6>Six</h6>" in html


def test_raw_html_keeps_formatting_and_loses_active_content() -> None:
    html = render_markdown(
        'A <b onclick="steal()">bold</b> claim.<script>alert(1)</script>\n'
        "\n"
        '<iframe src="https://evil.example/"></iframe>\n'
        "\n"
        "[click](javascript:alert(1)) and ![x](data:image/png;base64,AAAA)\n"
    )
    assert "<b>bold</b>" in html
    assert "onclick" not in html
    assert "<script" not in html and "alert(1)</" not in html
    assert "<iframe" not in html
    assert "javascript:" not in html
    assert "data:" not in html


def test_empty_body_renders_nothing() -> None:
    assert render_markdown("") == ""
    assert render_markdown(" \n\t\n") == ""


def test_excerpt_is_the_first_paragraph_as_text() -> None:
    html = render_markdown("## Heading\n\nThe *first* paragraph &amp; more.\n\nThe second.\n")
    assert derive_excerpt(html) == "The first paragraph & more."
    long = render_markdown(" ".join(["word"] * 200))
    excerpt = derive_excerpt(long, limit=50)
    assert excerpt.endswith("…")
    assert len(excerpt) <= 51
