"""The Markdown dialect of article bodies and the excerpt drawn from them."""

from __future__ import annotations

import os
import re
from pathlib import Path

import cmarkgfm
import pytest

from generator.markup import _CMARK, _OPTIONS, MarkupError, derive_excerpt, render_markdown


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


@pytest.mark.parametrize(
    ("text", "levels"),
    [
        ("## A\n\n### B\n\n## C", [2, 3, 2]),  # sections from `##`, as under a title
        ("### A\n\n#### B", [2, 3]),
        ("# A\n\n### B", [2, 4]),  # a level the body skips stays skipped
        ("x <h1>A</h1> <h6>B</h6>", [2, 6]),
        ("####### not a heading", []),
    ],
)
def test_the_body_s_highest_heading_is_the_level_below_the_headline(
    text: str, levels: list[int]
) -> None:
    html = render_markdown(text)
    assert [int(n) for n in re.findall(r"<h([1-6])", html)] == levels


def test_headings_move_down_a_level_with_ids_to_link_to() -> None:
    html = render_markdown(
        "# One\n\n## Two\n\n###### Six\n\n## Two\n\n## Émigré & *C++*\n\n"
        '[to two](#two-1) <a href="#émigré--c">to C++</a> <p id="own">own</p>'
    )
    assert "<h1" not in html
    assert '<h2 id="note-one">One</h2>' in html
    assert '<h3 id="note-two">Two</h3>' in html
    assert '<h6 id="note-six">Six</h6>' in html
    assert '<h3 id="note-two-1">Two</h3>' in html
    assert '<h3 id="note-émigré--c">Émigré &amp; <em>C++</em></h3>' in html
    assert '<a href="#note-two-1"' in html and '<a href="#note-émigré--c"' in html
    assert '<p id="note-own">own</p>' in html


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


@pytest.mark.parametrize(
    "text", ["> " * 600 + "x", "<div>" * 600 + "x", "<span>" * 600 + "x" + "</span>" * 600]
)
def test_a_body_nested_too_deep_is_refused(text: str) -> None:
    with pytest.raises(MarkupError, match=r"nests 60[0-9] elements deep"):
        render_markdown(text)


@pytest.mark.parametrize(
    "text",
    [
        "> " * 500 + "x",  # deep, within the limit
        "<p>one" * 3000,  # unclosed paragraphs close one another
        "\n".join(f"- item {n}" for n in range(2000)),
        "| a | b |\n|---|---|\n" + "| 1 | <br> |\n" * 2000,
        "<div>x</div>" * 2000,
    ],
)
def test_many_elements_side_by_side_are_not_nesting(text: str) -> None:
    assert render_markdown(text)


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            'Pic <img src="https://i.example/a.png">',
            '<p>Pic <img alt="" src="https://i.example/a.png"></p>\n',
        ),
        ('A <img src="data:image/png;base64,AA" alt="x"> b', "<p>A  b</p>\n"),
        ('A <a href="javascript:x()">link</a> b', "<p>A link b</p>\n"),
        ('<a name="n">an <b>anchor</b></a>', "<p>an <b>anchor</b></p>\n"),
        ("![](https://i.example/b.png)", '<p><img src="https://i.example/b.png" alt=""></p>\n'),
        (
            '<a title="a href=&quot;x" href="https://x.example/">ok</a>',
            '<p><a title="a href=&quot;x" href="https://x.example/" rel="noopener noreferrer">'
            "ok</a></p>\n",
        ),
    ],
)
def test_what_the_sanitiser_leaves_short_is_made_valid(text: str, html: str) -> None:
    assert render_markdown(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<b>bold\n\nnext", "<p><b>bold</b></p>\n<p>next</p>\n"),
        ("- a <b>x\n- b\n\nafter", "<ul>\n<li>a <b>x</b></li>\n<li>b</li>\n</ul>\n<p>after</p>\n"),
        ("> q <em>x\n\nafter", "<blockquote>\n<p>q <em>x</em></p>\n</blockquote>\n<p>after</p>\n"),
        ("a <b><i>x\n\n## Next", '<p>a <b><i>x</i></b></p>\n<h2 id="note-next">Next</h2>\n'),
        (
            'a <a href="https://x.example/" title="1>0">link\n\nnext',
            '<p>a <a href="https://x.example/" title="1&gt;0" rel="noopener noreferrer">link</a>'
            "</p>\n<p>next</p>\n",
        ),
        ("**a** <b>b</b>\n\n<i>c</i>", "<p><strong>a</strong> <b>b</b></p>\n<p><i>c</i></p>\n"),
        (
            'Read <a href="https://a.example/">ad\n\nAlso <i>note\n\n'
            'Said <a href="https://b.example/">here</a>.\n\nEnd.',
            '<p>Read <a href="https://a.example/" rel="noopener noreferrer">ad</a></p>\n'
            "<p>Also <i>note</i></p>\n"
            '<p>Said <a href="https://b.example/" rel="noopener noreferrer">here</a>.</p>\n'
            "<p>End.</p>\n",
        ),
        ("| a |\n|---|\n| <b>x |\n\nafter", "<b>x</b></td>"),
        ("<b>\n\none\n\ntwo\n\n</b>", "<b>\n<p>one</p>\n<p>two</p>\n</b>\n"),
        ("x <b>y <!-- <i> --> z\n\n<i>q</i>", "<p>x <b>y  z</b></p>\n<p><i>q</i></p>\n"),
        ("<script>x()</script> <b>open <i>it\n\npara\n\n## Head", " <b>open <i>it\n</i></b><p>"),
        ('See <a href="https://e.example/"/> here.\n\nNext.', "here.</a></p>\n<p>Next.</p>"),
        ("x <b/> y\n\nz", "<p>x <b> y</b></p>\n<p>z</p>"),
        ("> <b>\n>\n> one\n>\n> two", "<blockquote>\n<b>\n</b><p>one</p>"),
        ("<div><i>unclosed\n\npara one\n\npara two", "<i>unclosed\n</i><p>para one</p>"),
    ],
)
def test_formatting_left_open_ends_with_its_block(text: str, html: str) -> None:
    # Browsers would make everything after the block bold, italic or a link; formatting
    # opened around several blocks is left as written.
    rendered = render_markdown(text)
    assert rendered == html if html.endswith("\n") else html in rendered
    assert rendered.count("<b>") == rendered.count("</b>")


def test_footnotes_link_both_ways_under_ids_of_the_body_alone() -> None:
    html = render_markdown(
        'A claim[^1].\n\n[^1]: Its *source*.\n\n<a href="#top" id="top">Up</a> '
        '<span id="live-reload" class="x">x</span>'
    )
    assert html == (
        '<p>A claim<sup class="footnote-ref"><a href="#note-fn-1" id="note-fnref-1" '
        'rel="noopener noreferrer">1</a></sup>.</p>\n'
        '<p><a href="#note-top" id="note-top" rel="noopener noreferrer">Up</a> '
        '<span id="note-live-reload">x</span></p>\n'
        '<section class="footnotes">\n<ol>\n<li id="note-fn-1">\n<p>Its <em>source</em>. '
        '<a href="#note-fnref-1" class="footnote-backref" aria-label="Back to reference 1" '
        'rel="noopener noreferrer">↩</a></p>\n</li>\n</ol>\n</section>\n'
    )
    assert derive_excerpt(html) == "A claim."


def test_text_that_looks_like_a_link_within_the_body_is_left_as_written() -> None:
    html = render_markdown(
        'Write `<a href="#top">` for it:\n\n    <a href="#x">\n\nor href="#y", not '
        '<a title="a&gt;b" href="#z">z</a>'
    )
    assert html == (
        '<p>Write <code>&lt;a href="#top"&gt;</code> for it:</p>\n'
        '<pre><code>&lt;a href="#x"&gt;\n</code></pre>\n'
        '<p>or href="#y", not <a title="a&gt;b" href="#note-z" rel="noopener noreferrer">'
        "z</a></p>\n"
    )


def test_telephone_and_mail_links_are_kept() -> None:
    html = render_markdown("[Call](tel:+441632960000) or [write](mailto:desk@example.org)")
    assert '<a href="tel:+441632960000"' in html and '<a href="mailto:desk@example.org"' in html


def test_an_excerpt_keeps_no_break_spaces_and_makes_other_runs_one_space() -> None:
    html = render_markdown("A run of 10\u00a0km  and\tmore\nlines.\n\nNext.")
    assert derive_excerpt(html) == "A run of 10\u00a0km and more lines."
    assert derive_excerpt(render_markdown("&nbsp;\n\nThe first text.")) == "The first text."


def test_paragraphs_side_by_side_with_formatting_left_open_are_not_deep() -> None:
    html = render_markdown("\n\n".join(f"Para {n} <i>quoted" for n in range(600)))
    assert html.count("<i>") == html.count("</i>") == 600


def test_named_anchors_and_links_to_them_and_github_anchors() -> None:
    html = render_markdown(
        '<a id="top"></a>Start [up](#top) [bare](#) [kept](#note-x)\n\n## Note x\n\n'
        "## हिन्दी समाचार\n\n## a_b-c  d"
    )
    assert '<span id="note-top"></span>Start <a href="#note-top"' in html
    assert '<a href="#"' in html and '<a href="#note-x"' in html
    assert '<h2 id="note-x">Note x</h2>' in html
    assert '<h2 id="note-हिन्दी-समाचार">' in html and '<h2 id="note-a_b-c--d">' in html


def test_empty_body_renders_nothing() -> None:
    assert render_markdown("") == ""
    assert render_markdown(" \n\t\n") == ""


def test_an_excerpt_of_a_script_without_spaces_is_cut_at_the_limit() -> None:
    text = "【速報】 " + "東京で大きな地震があった。" * 40
    excerpt = derive_excerpt(f"<p>{text}</p>")
    assert len(excerpt) > 290 and excerpt.endswith("…") and text.startswith(excerpt[:-1])


@pytest.mark.parametrize(
    "whole",
    [
        "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # a family: three joined by ZWJ
        "\U0001f1e9\U0001f1ea",  # a flag
        "a\u0301\u0301",  # marks
        "\U0001f44d\U0001f3fd",  # a skin tone
        "\u2764\ufe0f",  # a variation selector
    ],
)
def test_an_excerpt_never_cuts_a_character_from_its_marks_or_an_emoji_apart(whole: str) -> None:
    for before in range(290, 301):
        cut = derive_excerpt("<p>" + "y" * before + whole * 60 + "</p>")[:-1]
        assert cut == "y" * before + whole * ((len(cut) - before) // len(whole))


def test_excerpt_is_the_first_paragraph_as_text() -> None:
    html = render_markdown("## Heading\n\nThe *first* paragraph &amp; more.\n\nThe second.\n")
    assert derive_excerpt(html) == "The first paragraph & more."
    pictured = render_markdown("![A map](map.png)\n\nThe text under the map.\n")
    assert derive_excerpt(pictured) == "The text under the map."
    assert derive_excerpt(render_markdown("![A map](map.png)\n")) == ""
    long = render_markdown(" ".join(["word"] * 200))
    excerpt = derive_excerpt(long, limit=50)
    assert excerpt.endswith("…")
    assert len(excerpt) <= 51


_SAMPLES = (
    "plain words",
    '# Title\n\nA paragraph with *emphasis* and a [link](https://example.org "t").\n',
    "| a | b |\n|---|:-:|\n| 1 | ~~2~~ |\n\nwww.example.org and https://example.org/x?y=1.\n",
    "> quoted\n> > nested\n\n- one\n- two\n  1. inner\n\n```\ncode <b>\n```\n",
    '<div class="x">raw <script>alert(1)</script></div>\n\n&amp; &copy; \\* \0 nul',
    "Économie, 東京, emoji 📰 and a very long line " + "word " * 400,
)


@pytest.mark.parametrize("text", _SAMPLES)
def test_the_engine_renders_exactly_as_the_cmarkgfm_package(text: str) -> None:
    expected = cmarkgfm.markdown_to_html_with_extensions(
        text, options=_OPTIONS, extensions=["table", "strikethrough", "autolink"]
    )
    assert _CMARK.to_html(text) == expected


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs Linux's /proc")
@pytest.mark.parametrize("embed", ["", "<script async src=https://e.example/w.js>\n\n"])
def test_rendering_frees_what_the_engine_allocates(embed: str) -> None:
    # Without freeing the tree and the HTML, 4,000 bodies of this size keep about 60 MB;
    # a body with HTML blocks left open is parsed again.
    body = embed + "\n\n".join(
        f"Paragraph {n} has *emphasis*, a [link](https://example.org/{n}) and text. " * 6
        for n in range(12)
    )

    def resident() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    render_markdown(body)
    before = resident()
    for _ in range(4000):
        render_markdown(body)
    assert resident() - before < 12 * 2**20


def test_heading_ids_never_take_an_id_the_body_has_already() -> None:
    html = render_markdown(
        '## Intro\n\n<p id="intro">x</p>\n\n# fn-1\n\nclaim[^1]\n\n[^1]: n\n\n'
        "## Road ahead\n\n## Road ahead\n\n## Road ahead 1\n\n## Road ahead"
    )
    ids = re.findall(r'id="([^"]*)"', html)
    assert len(ids) == len(set(ids))
    assert ids[:3] == ["note-intro-1", "note-intro", "note-fn-1-1"]
    assert "note-road-ahead-2" in ids and "note-road-ahead-1-1" in ids


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "see [](https://x.example/a?b=1&c=2)",
            '<p>see <a href="https://x.example/a?b=1&amp;c=2" rel="noopener noreferrer">'
            "https://x.example/a?b=1&amp;c=2</a></p>\n",
        ),
        (
            '<a href="https://i.example/big.jpg"><img src="https://i.example/s.jpg"></a>',
            '<p><a href="https://i.example/big.jpg" rel="noopener noreferrer" '
            'aria-label="i.example"><img alt="" src="https://i.example/s.jpg"></a></p>\n',
        ),
        (
            '<a href="https://i.example/"><img src="https://i.example/s.jpg" alt="Dusk"></a>',
            '<p><a href="https://i.example/" rel="noopener noreferrer">'
            '<img src="https://i.example/s.jpg" alt="Dusk"></a></p>\n',
        ),
    ],
)
def test_a_link_showing_nothing_gets_a_name(text: str, html: str) -> None:
    assert render_markdown(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ('<p id="note-a">A</p>\n\n<p id="a">B</p>', '<p id="note-a">A</p>\n<p>B</p>\n'),
        ('<p id="">empty</p>', "<p>empty</p>\n"),
        ('<p id="a  b">one</p> <p id="a b">two</p>', '<p id="note-a-b">one</p> <p>two</p>\n'),
        (
            '<span id="x">1</span><span id="x">2</span>',
            '<p><span id="note-x">1</span><span>2</span></p>\n',
        ),
        (
            '`<p id="x">` `<p id="x">` <i id="x">i</i>',
            '<p><code>&lt;p id="x"&gt;</code> <code>&lt;p id="x"&gt;</code> '
            '<i id="note-x">i</i></p>\n',
        ),
    ],
)
def test_ids_of_the_body_are_valid_and_each_is_given_once(text: str, html: str) -> None:
    assert render_markdown(text) == html


@pytest.mark.parametrize(
    ("opened", "kept"),
    [
        ("<script>alert(1) T1", ""),
        ("<style>p {} T1", ""),
        ("<math><mi>m T1", ""),
        ("<template>t T1", ""),
        ("<iframe>if T1", "if T1"),
        ("<textarea>t T1", "t T1"),
        ("<plaintext>p T1", "p T1"),
    ],
)
def test_an_element_left_open_never_takes_the_rest_of_the_body(opened: str, kept: str) -> None:
    html = render_markdown(f"x {opened}\n\nafter T2\n\n## End")
    assert html.startswith(f"<p>x {kept}</p>\n<p>after T2</p>\n<h2")


@pytest.mark.parametrize(
    "opened",
    [
        '<script async src="https://embed.example/widgets.js">',
        "<SCRIPT>\nwidget()",
        "<style>\np { color: red }",
        "<textarea>",
        "<pre>",
        "<!-- ad slot\nad",
        "<?php echo 1;",
        "<![CDATA[ x",
        "<!DOCTYPE html",
        "> <script>",
    ],
)
def test_an_html_block_left_open_ends_with_its_paragraph(opened: str) -> None:
    # On a line of its own, such a block runs to its end marker, or else to the end of
    # the body: every later paragraph would be dropped or shown as markup.
    html = render_markdown(f"Before T1.\n\n{opened}\n\nThe *vote* passed.\n\n## End")
    assert html.startswith("<p>Before T1.</p>\n")
    assert "<p>The <em>vote</em> passed.</p>\n<h2" in html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<script>\nx()\n</script>\n\nAfter.", "\n<p>After.</p>\n"),
        ("<!-- one\n\ntwo -->\n\nAfter.", "\n<p>After.</p>\n"),
        (
            "```\n<script>\n```\n\nAfter.",
            "<pre><code>&lt;script&gt;\n</code></pre>\n<p>After.</p>\n",
        ),
        (
            "~~~~\n<pre>\n~~~\n~~~~\n\nAfter.",
            "<pre><code>&lt;pre&gt;\n~~~\n</code></pre>\n<p>After.</p>\n",
        ),
        (  # a fence with an info string does not close one
            "```\n```js\n<script>\n```\n\nAfter.",
            "<pre><code>```js\n&lt;script&gt;\n</code></pre>\n<p>After.</p>\n",
        ),
        (  # a fence opened on a list item's first line
            "- ```\n  <!-- x\n  ```\n\nAfter.",
            "<ul>\n<li>\n<pre><code>&lt;!-- x\n</code></pre>\n</li>\n</ul>\n<p>After.</p>\n",
        ),
        (  # a fence in quotes in a list item
            "- > ```\n  > <!-- x\n  > ```\n\nAfter.",
            "<ul>\n<li>\n<blockquote>\n<pre><code>&lt;!-- x\n</code></pre>\n</blockquote>\n"
            "</li>\n</ul>\n<p>After.</p>\n",
        ),
        (  # in code that a block left open held
            "<script>\n\n```\n<!-- x\n```\n\nAfter.",
            "\n<pre><code>&lt;!-- x\n</code></pre>\n<p>After.</p>\n",
        ),
        (  # in code that a block left open ended on the line opening it
            "<!DOCTYPE html\n\n```js >\n\n<!-- y\n\nMiddle.\n\n```\n\nAfter.",
            '\n<pre><code class="language-js">\n&lt;!-- y\n\nMiddle.\n\n</code></pre>\n'
            "<p>After.</p>\n",
        ),
        (  # over blank lines, in a list item, to its end on a line of its own
            "1.  Item\n\n    <pre>\n    a\n\n    b\n    </pre>\n\nAfter.",
            "<ol>\n<li>\n<p>Item</p>\n<pre>a\n\nb\n</pre>\n</li>\n</ol>\n<p>After.</p>\n",
        ),
        (  # to its end followed by more HTML
            "<pre>\ncode\n\nmore</pre> <b>x</b>\n\nAfter.",
            "<pre>code\n\nmore</pre> <b>x</b>\n<p>After.</p>\n",
        ),
        (  # to its end at the start of a line, followed by text
            "<script>\nvar a = 1;\n\nwindow.f = 2;\n</script> Caption\n\nAfter.",
            " Caption\n<p>After.</p>\n",
        ),
        (  # a passage commented out, ended at the start of a line
            "<!--\nHidden a.\n\nHidden b.\n--> shown\n\nAfter.",
            " shown\n<p>After.</p>\n",
        ),
    ],
)
def test_an_html_block_ended_as_written_or_in_code_is_left_as_it_is(text: str, html: str) -> None:
    assert render_markdown(text) == html


def test_an_html_block_left_open_in_quotes_ends_with_its_paragraph_there() -> None:
    html = render_markdown("> <!-- a note\n>\n> Quote text.\n\nAfter.")
    assert html == "<blockquote>\n\n<p>Quote text.</p>\n</blockquote>\n<p>After.</p>\n"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (  # in a list item, indented as its text is, 4 spaces or more
            "1.  Item\n\n    <script>\n    x\n\n    More item text.\n\nAfter.",
            "<ol>\n<li>\n<p>Item</p>\n\n<p>More item text.</p>\n</li>\n</ol>\n<p>After.</p>\n",
        ),
        (
            "- a\n\n    <!-- note\n\n    b\n\nAfter.",
            "<ul>\n<li>\n<p>a</p>\n  \n<p>b</p>\n</li>\n</ul>\n<p>After.</p>\n",
        ),
        (  # on a list item's first line, ended with the item
            "- <!-- x\n- b\n\nAfter.",
            "<ul>\n<li>\n\n</li>\n<li>b</li>\n</ul>\n<p>After.</p>\n",
        ),
        (  # in quotes in a list item
            "- > <script>\n  > x\n  >\n  > Quoted more.\n\nAfter.",
            "<ul>\n<li>\n<blockquote>\n\n<p>Quoted more.</p>\n</blockquote>\n</li>\n</ul>\n"
            "<p>After.</p>\n",
        ),
        (  # in a list item in quotes
            "> 1. <?php echo 1;\n>\n>    More.\n\nAfter.",
            "<blockquote>\n<ol>\n<li>\n\n<p>More.</p>\n</li>\n</ol>\n</blockquote>\n<p>After.</p>\n",
        ),
        (  # ended with the quotes, with no blank line
            "> <!-- note\nAfter.",
            "<blockquote>\n\n</blockquote>\n<p>After.</p>\n",
        ),
        (  # in a footnote
            "Text[^1].\n\n[^1]: <script>\n\n    More note.\n\nAfter.",
            '<p>Text<sup class="footnote-ref"><a href="#note-fn-1" id="note-fnref-1" '
            'rel="noopener noreferrer">1</a></sup>.</p>\n<p>After.</p>\n'
            '<section class="footnotes">\n<ol>\n<li id="note-fn-1">\n\n<p>More note. '
            '<a href="#note-fnref-1" class="footnote-backref" aria-label="Back to reference 1" '
            'rel="noopener noreferrer">↩</a></p>\n</li>\n</ol>\n</section>\n',
        ),
        (  # one hidden by another
            "1.  Item\n\n    <script>\n\n    One.\n\n    <!-- x\n\n    Two.\n\nAfter.",
            "<ol>\n<li>\n<p>Item</p>\n\n<p>One.</p>\n\n<p>Two.</p>\n</li>\n</ol>\n<p>After.</p>\n",
        ),
    ],
)
def test_an_html_block_left_open_ends_with_its_paragraph_in_whatever_holds_it(
    text: str, html: str
) -> None:
    assert render_markdown(text) == html


@pytest.mark.parametrize(
    ("text", "html"),
    [
        (
            "<script>\nx\n\nMiddle *para*.\n\nThird `</script>` para.\n\nAfter.",
            "\n<p>Middle <em>para</em>.</p>\n<p>Third <code>&lt;/script&gt;</code> para.</p>\n"
            "<p>After.</p>\n",
        ),
        (
            "<!DOCTYPE html\n\nMiddle para.\n\nA > B.\n\nAfter.",
            "\n<p>Middle para.</p>\n<p>A &gt; B.</p>\n<p>After.</p>\n",
        ),
        (  # a declaration never holds a blank line, whatever ends the line
            "<!DOCTYPE html\n\nMiddle para.\n\n<br>\n\nAfter.",
            "\n<p>Middle para.</p>\n<br>\n<p>After.</p>\n",
        ),
        (
            "<!-- ad\n\nMiddle.\n\nA --> B\n\nAfter.",
            "\n<p>Middle.</p>\n<p>A --&gt; B</p>\n<p>After.</p>\n",
        ),
        (
            "<?php echo 1;\n\nText `?>` here.\n\nAfter.",
            "\n<p>Text <code>?&gt;</code> here.</p>\n<p>After.</p>\n",
        ),
    ],
)
def test_an_end_marker_paragraphs_later_in_the_text_does_not_end_the_block(
    text: str, html: str
) -> None:
    # Markdown runs the block to it: the paragraphs between would be dropped.
    assert render_markdown(text) == html


def test_html_blocks_left_open_one_after_another_each_end_with_their_paragraph() -> None:
    # Each hides the next until it is ended.
    embeds = "".join(
        f'    <script async src="https://e.example/{n}.js">\n\n    Paragraph {n}.\n\n'
        for n in range(40)
    )
    paragraphs = "".join(f"\n<p>Paragraph {n}.</p>\n" for n in range(40))
    html = render_markdown(f"1.  Item\n\n{embeds}After.")
    assert html == f"<ol>\n<li>\n<p>Item</p>\n{paragraphs}</li>\n</ol>\n<p>After.</p>\n"
