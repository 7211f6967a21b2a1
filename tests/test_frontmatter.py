"""Front matter: the loader's own resolution and construction against PyYAML's."""

from __future__ import annotations

import pytest
import yaml

from generator.frontmatter import FrontMatterError, WrittenFloat, WrittenInt, _Loader, decode, split


class _Reference(yaml.SafeLoader):
    """PyYAML's own safe loader, in pure Python, with the same implicit tags."""

    yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers


# Each document is read twice: by `split` (whose loader resolves tags and builds plain
# documents itself) and by PyYAML's own loader. Some use only the core tags; the others
# hold what only PyYAML's constructor builds (anchors, merge keys, explicit tags).
DOCUMENTS = {
    "strings": 'title: Plain words\nquoted: "in quotes"\nsingle: \'single\'\nempty: ""\n',
    "numbers": "a: 12\nb: -3\nc: 0x1F\nd: 0o17\ne: 1_000\nf: 1:20\ng: 3.5\nh: .inf\ni: -.INF\n",
    "booleans and nulls": "a: true\nb: no\nc: On\nd: ~\ne: null\nf:\ng: 'true'\n",
    "dates stay text": "published: 2024-05-01T10:00:00Z\nday: 2024-05-01\n",
    "nested": "provider:\n  name: Wire\n  tags: [a, {c: d}]\nimages:\n  - url: x\n    width: 3\n",
    "keys of every core type": "1: one\n2.5: two and a half\ntrue: yes\nnull: nothing\n",
    "folded and literal": "a: >\n  folded\n  text\nb: |\n  kept\n  lines\n",
    "escapes": 'a: "tab\\tand \\u00e9"\n',
    "anchors": "base: &b {x: 1}\nother: *b\n",
    "merge key": "base: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n",
    "explicit tags": "a: !!str 12\nb: !!binary aGVsbG8=\nc: !!set {x, y}\nd: !!float 3\n",
    "explicit timestamp": "when: !!timestamp 2024-05-01\n",
    "a mapping as a key": "? {a: 1}\n: value\n",
}


@pytest.mark.parametrize("text", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_split_reads_a_document_as_pyyaml_does(text: str) -> None:
    try:
        # `split` reads the lines between the fences, without the last line end.
        expected = yaml.load(text.removesuffix("\n"), Loader=_Reference)
    except yaml.YAMLError:
        with pytest.raises(FrontMatterError):
            split(f"---\n{text}---\n")
        return
    got = split(f"---\n{text}---\n").data
    assert got == {str(k): v for k, v in expected.items()}
    # Numbers keep how they were written (for keys that want text), as subclasses.
    base = {WrittenInt: int, WrittenFloat: float}
    got_types = [base.get(type(v), type(v)) for v in got.values()]
    assert got_types == [type(v) for v in expected.values()]


def test_a_value_python_cannot_hold_names_its_line() -> None:
    with pytest.raises(FrontMatterError) as caught:
        split("---\ntitle: Fine\ncount: " + "9" * 5000 + "\n---\n")
    assert caught.value.line == 3
    assert "invalid YAML value" in caught.value.message


def test_duplicate_keys_are_named_from_the_first_line_down() -> None:
    text = "---\nouter:\n  deep:\n    x: 1\n    x: 2\ntitle: a\ntitle: b\n---\n"
    with pytest.raises(FrontMatterError) as caught:
        split(text)
    problems = caught.value.problems
    assert [line for line, _ in problems] == [5, 7]
    assert "duplicate key 'x'" in problems[0][1]
    assert "duplicate key 'title'" in problems[1][1]


def test_an_escaped_control_character_is_removed_with_a_note() -> None:
    front = split('---\ntitle: "bell\\a here"\nplain: words\n---\nbody\n')
    assert front.data == {"title": "bell here", "plain": "words"}
    assert any("title: removed 1 control character" in message for _, message in front.notes)


def test_line_and_paragraph_separators_are_characters_not_line_breaks() -> None:
    front = split('---\ntitle: "A\u2028B"\nexcerpt: C\u2029D\ndate: 2024-01-01\n---\n')
    assert front.data == {"title": "A\u2028B", "excerpt": "C\u2029D", "date": "2024-01-01"}
    with pytest.raises(FrontMatterError) as raised:
        split('---\ntitle: "A\u2028B"\ndate: 2024-01-01\nquality: [1\n---\n')
    assert raised.value.line == 5 and "flow sequence at line 4" in str(raised.value)


@pytest.mark.parametrize(
    "yaml_text",
    [
        '{"title": "J",\n "date": "2024-02-30"}',
        "  title: J\n  date: 2024-02-30",
        'title: "a, date: b"\ndate: 2024-02-30',
    ],
)
def test_a_key_is_found_on_its_line_in_json_or_indented_front_matter(yaml_text: str) -> None:
    front = split(f"---\n{yaml_text}\n---\n")
    assert (front.line_of("title"), front.line_of("date")) == (2, 3)


def test_front_matter_in_toml_is_named_as_such() -> None:
    with pytest.raises(FrontMatterError) as raised:
        split('+++\ntitle = "T"\n+++\nBody\n')
    assert raised.value.line == 1 and "in TOML ('+++') is not read" in str(raised.value)


def test_characters_escaped_as_json_writes_them_are_read() -> None:
    front = split('---\n{"title": "Smile \\ud83d\\ude00 now", "date": "2024-01-01"}\n---\n')
    assert front.data["title"] == "Smile \U0001f600 now"
    assert split("---\ntitle: 'kept \\ud83d\\ude00'\n---\n").data["title"] == (
        "kept \\ud83d\\ude00"  # single quotes escape nothing
    )


def test_a_top_level_key_is_found_on_its_own_line_not_a_nested_one_s() -> None:
    front = split(
        '---\n{\n "title": "J",\n "related": [{"title": "r", "quality": 5}],\n'
        ' "date": "2024-01-01",\n "quality": 500\n}\n---\n'
    )
    assert (front.line_of("quality"), front.line_of("date")) == (6, 5)


def test_json_escapes_are_joined_only_in_double_quoted_values() -> None:
    front = split('---\nnote: "\\ud83d\\ude00"\nexcerpt: plain \\ud83d\\ude00 text\n---\n')
    assert front.data == {"note": "\U0001f600", "excerpt": "plain \\ud83d\\ude00 text"}


def test_toml_between_yaml_fences_is_named_as_such() -> None:
    with pytest.raises(FrontMatterError) as raised:
        split('---\ntitle = "T"\ndate = 2024-01-01\n---\n')
    assert "in TOML ('key = value') is not read" in str(raised.value)


@pytest.mark.parametrize(
    ("yaml_text", "line", "hint"),
    [
        ("title: A\n  date: 2024-01-01\n", 3, "this line is indented as if it were part of"),
        ("title: A: b\n", 2, "put the value in quotes (it holds ': ')"),
        ("title: A\nexcerpt: @desk said\n", 3, "YAML keeps '@', '`' and '%' at the start"),
        ("title: `A`\n", 2, "YAML keeps '@', '`' and '%' at the start"),
    ],
)
def test_a_yaml_error_hints_at_what_was_meant(yaml_text: str, line: int, hint: str) -> None:
    with pytest.raises(FrontMatterError) as raised:
        split(f"---\n{yaml_text}---\n")
    assert raised.value.line == line and hint in str(raised.value)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("---\ntitle: A\n---\n".encode("utf-16-le"), "the file is UTF-16 text; save it as UTF-8"),
        ("---\ntitle: A\n---\n".encode("utf-16-be"), "the file is UTF-16 text; save it as UTF-8"),
        (b"\xef\xbb\xbf\xef\xbb\xbf---\n", "the file starts with two byte order marks"),
    ],
)
def test_text_saved_in_another_form_is_named(raw: bytes, message: str) -> None:
    with pytest.raises(FrontMatterError) as raised:
        decode(raw)
    assert raised.value.line == 1 and message in str(raised.value)
