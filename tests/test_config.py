"""Site configuration: every problem in `site.yaml` at once, with its line; defaults."""

from __future__ import annotations

import io

import pytest

from conftest import BuildSite, MakeSite, article
from generator.cli import main
from generator.config import FeedSettings, SiteConfig, parse_config
from generator.diagnostics import BuildError

GOOD = "title: T\nbase_url: https://t.example/\n"


def problems(text: str) -> list[str]:
    with pytest.raises(BuildError) as caught:
        parse_config(text)
    return [str(d) for d in caught.value.diagnostics]


def test_every_problem_is_listed_at_once_with_its_line() -> None:
    text = (
        "colour: red\n"  # 1
        'per_page: "ten"\n'  # 2
        "timezone: Mars/Olympus\n"  # 3
        "feeds:\n"  # 4
        "  items: 0\n"  # 5
    )
    found = problems(text)
    expected_starts = [
        ("site.yaml:1: error: ", "unknown key 'colour'"),
        ("site.yaml:2: error: ", "'per_page' must be an integer"),
        ("site.yaml:3: error: ", "unknown time zone 'Mars/Olympus'"),
        ("site.yaml: error: ", "missing required key 'title'"),
        ("site.yaml: error: ", "missing required key 'base_url'"),
        ("site.yaml:5: error: ", "'feeds.items' must be at least 1"),
    ]
    for prefix, fragment in expected_starts:
        assert any(line.startswith(prefix) and fragment in line for line in found), (
            prefix,
            fragment,
            found,
        )
    assert len(found) == len(expected_starts), found


def test_unknown_key_names_the_known_keys() -> None:
    [line] = problems(GOOD + "titel: Oops\n")
    assert line.startswith("site.yaml:3: error: unknown key 'titel'")
    assert "title" in line.split("known:", 1)[1]


def test_wrong_type() -> None:
    [line] = problems(GOOD + 'per_page: "ten"\n')
    assert line == "site.yaml:3: error: 'per_page' must be an integer, not text 'ten'"


def test_unknown_time_zone() -> None:
    [line] = problems(GOOD + "timezone: Europe/Atlantis\n")
    assert line.startswith("site.yaml:3: error: 'timezone' unknown time zone 'Europe/Atlantis'")
    for machine in ("localtime", "posixrules"):
        [line] = problems(GOOD + f"timezone: {machine}\n")
        assert line.startswith(f"site.yaml:3: error: 'timezone' '{machine}' is the machine's own")


@pytest.mark.parametrize(
    "tag", ["en_US", "not a language!", "''", "e", "en-", "x" * 9, "english", "x", "abcd-DE"]
)
def test_a_language_that_is_not_a_language_tag(tag: str) -> None:
    [line] = problems(GOOD + f"language: {tag}\n")
    assert line.startswith("site.yaml:3: error: 'language' must be a language tag such as en")


@pytest.mark.parametrize(
    "tag", ["en", "fr", "en-GB", "pt-BR", "zh-Hant-TW", "es-419", "gsw", "x-newsroom"]
)
def test_language_tags(tag: str) -> None:
    assert parse_config(GOOD + f"language: {tag}\n").language == tag


@pytest.mark.parametrize(
    ("tag", "direction"),
    [
        ("ar", "rtl"),
        ("he-IL", "rtl"),
        ("ku-Arab", "rtl"),
        ("fa", "rtl"),
        ("en", "ltr"),
        ("az-Latn", "ltr"),
        ("ja", "ltr"),
        ("az-Arab", "rtl"),
        ("pa-Arab", "rtl"),
        ("uz-Arab-AF", "rtl"),
        ("ku-Latn", "ltr"),
        ("ar-EG", "rtl"),
        ("zh-yue-Arab", "rtl"),
        ("MAN-nkoo", "rtl"),
        ("arz", "rtl"),
        ("pnb-PK", "rtl"),
        ("prs", "rtl"),
        ("azb", "rtl"),
        ("nqo", "rtl"),
        ("pa", "ltr"),
    ],
)
def test_the_direction_of_a_language(tag: str, direction: str) -> None:
    assert parse_config(GOOD + f"language: {tag}\n").direction == direction


@pytest.mark.parametrize(
    ("tag", "direction"),
    [
        ("ar-Latn", "ltr"),
        ("AR-latn", "ltr"),
        ("ar-Latn-EG", "ltr"),
        ("he-Latn", "ltr"),
        ("yi-Latn-US", "ltr"),
        ("fa-Cyrl", "ltr"),
        ("ff-Adlm", "rtl"),
        ("myz-Mand", "rtl"),
        ("smp-Samr", "rtl"),
        ("ku-YEZI", "rtl"),
        ("aii-Syrn", "rtl"),
        ("en-x-arab", "ltr"),
        ("x-arab", "ltr"),
    ],
)
def test_a_script_subtag_decides_the_direction_over_the_language(tag: str, direction: str) -> None:
    assert parse_config(GOOD + f"language: {tag}\n").direction == direction


def test_a_site_in_arabic_written_in_latin_letters_runs_left_to_right(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site_yaml = GOOD + "language: ar-Latn\n"
    site = make_site({"site.yaml": site_yaml, "content/a.md": article("Marhaba")})
    assert build_site(site).exit_code == 0
    home = (site / "output" / "index.html").read_text("utf-8")
    assert '<html lang="ar-Latn" dir="ltr">' in home


@pytest.mark.parametrize(
    ("written", "title"),
    [
        ("1984", "1984"),
        ("1.5e+3", "1.5e+3"),
        ("0x10", "0x10"),
        ("0123", "0123"),
        ("1_000", "1_000"),
        ("12:30", "12:30"),
        ("1.10", "1.10"),
        ("-.inf", "-.inf"),
        ("yes", "yes"),
        ("Off", "Off"),
        ("true", "true"),
        ("null", "null"),
        ("2024-05-01", "2024-05-01"),
        ("2024-05-01 09:30:00 +01:00", "2024-05-01 09:30:00 +01:00"),
        ("&name 2024", "2024"),
    ],
)
def test_a_title_yaml_reads_as_a_number_flag_date_or_null_is_kept_as_written(
    written: str, title: str
) -> None:
    assert parse_config(f"title: {written}\nbase_url: https://t.example/\n").title == title


def test_every_key_that_takes_text_keeps_such_a_value_as_written() -> None:
    config = parse_config(
        "title: 1984\nbase_url: https://t.example/\ndescription: 2024-05-01\n"
        "language: no\ntheme: 2024\n"
    )
    assert (config.title, config.description, config.language, config.theme) == (
        "1984",
        "2024-05-01",
        "no",
        "2024",
    )
    assert config.direction == "ltr"
    assert problems(GOOD + "timezone: 2024\n") == [
        "site.yaml:3: error: 'timezone' unknown time zone '2024'; use an IANA name such as "
        "Europe/London"
    ]


def test_keys_taking_numbers_or_flags_read_them_as_before_beside_text_as_written() -> None:
    config = parse_config(
        "title: 0x10\nbase_url: https://t.example/\nper_page: 0x10\nhide_future: yes\n"
        "hide_unpublished: off\nfeeds:\n  items: 1_0\n  full_content: on\n"
    )
    assert config.title == "0x10"
    assert (config.per_page, config.hide_future, config.hide_unpublished) == (16, True, False)
    assert config.feeds == FeedSettings(items=10, full_content=True)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("", "'title' must be a string, not empty None"),
        ("~", "'title' must be a string, not empty None"),
        ("!!int 5", "'title' must be a string, not a whole number 5"),
        ("&t !!bool yes", "'title' must be a string, not a boolean True"),
    ],
)
def test_a_title_with_no_value_or_a_tag_is_refused_beside_a_description_kept_as_written(
    written: str, expected: str
) -> None:
    text = f"title: {written}\nbase_url: https://t.example/\ndescription: 2024\n"
    assert problems(text) == [f"site.yaml:1: error: {expected}"]


def test_a_site_titled_with_a_number_shows_it_as_written(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site_yaml = "title: 0x10\nbase_url: https://t.example/\ndescription: 1.50\n"
    site = make_site({"site.yaml": site_yaml, "content/a.md": article("A")})
    assert build_site(site).exit_code == 0
    home = (site / "output" / "index.html").read_text("utf-8")
    assert "<title>0x10</title>" in home
    assert '<meta name="description" content="1.50">' in home
    assert "<title>0x10</title>" in (site / "output" / "feed.xml").read_text("utf-8")


@pytest.mark.parametrize(
    ("text", "missing"),
    [
        ("base_url: https://t.example/\n", "title"),
        ("title: T\n", "base_url"),
    ],
)
def test_missing_required_key(text: str, missing: str) -> None:
    assert problems(text) == [f"site.yaml: error: missing required key '{missing}'"]


@pytest.mark.parametrize("url", ["ftp://t.example/", "t.example", "/news/", "https://"])
def test_bad_base_url(url: str) -> None:
    found = problems(f"title: T\nbase_url: {url}\n")
    assert any(
        line.startswith("site.yaml:2: error: 'base_url' must be an absolute http(s) URL")
        for line in found
    ), found


def test_present_but_invalid_required_key_is_not_also_reported_missing() -> None:
    # The key is written (line 2): one problem, not a second "missing" one.
    found = problems("title: T\nbase_url: ftp://t.example/\n")
    assert len(found) == 1, found
    assert found[0].startswith("site.yaml:2: error: 'base_url'")


@pytest.mark.parametrize(
    ("feeds", "line", "fragment"),
    [
        ("feeds:\n  items: many\n", 4, "'feeds.items' must be an integer"),
        ("feeds:\n  items: 0\n", 4, "'feeds.items' must be at least 1"),
        ("feeds:\n  itemz: 5\n", 4, "unknown key 'feeds.itemz'"),
        ("feeds: 5\n", 3, "'feeds' must be a mapping"),
    ],
)
def test_bad_feeds(feeds: str, line: int, fragment: str) -> None:
    [found] = problems(GOOD + feeds)
    assert found.startswith(f"site.yaml:{line}: error: "), found
    assert fragment in found


def test_invalid_yaml_is_one_error_with_a_line() -> None:
    [found] = problems("title: [\n")
    assert found.startswith("site.yaml:2: error: invalid YAML")


def test_defaults_are_applied() -> None:
    config = parse_config("title: T\nbase_url: https://t.example\n")
    assert config == SiteConfig(
        title="T",
        base_url="https://t.example/",
        description="",
        language="en",
        timezone="UTC",
        per_page=20,
        theme="default",
        feeds=FeedSettings(items=50, full_content=False),
        hide_unpublished=False,
    )
    assert config.base_path == "/"


def test_values_are_read() -> None:
    config = parse_config(
        GOOD + "timezone: Europe/Paris\nper_page: 7\nfeeds:\n  items: 3\n  full_content: true\n"
    )
    assert config.timezone == "Europe/Paris"
    assert str(config.tz) == "Europe/Paris"
    assert config.per_page == 7
    assert config.feeds == FeedSettings(items=3, full_content=True)


@pytest.mark.parametrize("url", ["https://host/news", "https://host/news/"])
def test_base_path_of_a_sub_folder(url: str) -> None:
    config = parse_config(f"title: T\nbase_url: {url}\n")
    assert config.base_url == "https://host/news/"
    assert config.base_path == "/news/"


@pytest.mark.parametrize(
    ("url", "written", "path"),
    [
        ("https://host/my news", "https://host/my%20news/", "/my%20news/"),
        ("https://host/économie/", "https://host/%C3%A9conomie/", "/%C3%A9conomie/"),
        ("https://bücher.example/a%20b", "https://xn--bcher-kva.example/a%20b/", "/a%20b/"),
        ("HTTPS://Host.EXAMPLE/News", "https://host.example/News/", "/News/"),
    ],
)
def test_base_url_is_written_in_ascii_as_feeds_and_sitemaps_need(
    url: str, written: str, path: str
) -> None:
    config = parse_config(f"title: T\nbase_url: {url}\n")
    assert (config.base_url, config.base_path) == (written, path)
    assert config.with_base_url(url).base_url == written


@pytest.mark.parametrize("url", ["https://ex ample.org/", "https://a\u3002\u3002b.org/"])
def test_base_url_whose_host_is_not_a_domain_is_refused(url: str) -> None:
    with pytest.raises(BuildError) as raised:
        parse_config(f"title: T\nbase_url: '{url}'\n")
    assert "has a host that is not a domain name" in raised.value.diagnostics[0].message


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://user:secret@t.example/", "must not hold a user name or password"),
        ("https://t.example/news/index.html", "must name the site's folder, not a page"),
        ("https://t.example:99999/", "has a port that is not a number from 0 to 65535"),
        ("https://t.example:abc/", "has a port that is not a number from 0 to 65535"),
    ],
)
def test_base_url_with_credentials_or_naming_a_page_is_refused(url: str, message: str) -> None:
    with pytest.raises(BuildError) as raised:
        parse_config(f"title: T\nbase_url: '{url}'\n")
    assert message in raised.value.diagnostics[0].message


@pytest.mark.parametrize(
    ("url", "instead"),
    [
        ("https://t.example//", "https://t.example/"),
        ("https://t.example/news//", "https://t.example/news/"),
        ("https://t.example/a//b/", "https://t.example/a/b/"),
        ("https://t.example/news/..", "https://t.example/"),
        ("https://t.example/news/./", "https://t.example/news/"),
        ("https://t.example/a/../b/", "https://t.example/b/"),
        ("https://t.example/a/%2E%2e/b", "https://t.example/b/"),
        ("https://t.example//index.html", "https://t.example/"),
        ("https://t.example/a.b/.../c/../..x", "https://t.example/a.b/.../..x/"),
    ],
)
def test_base_url_with_an_empty_or_dot_part_in_its_path_is_refused(url: str, instead: str) -> None:
    # Links are the site's path plus the page's: `//static/style.css` names a host.
    [line] = problems(f"title: T\nbase_url: '{url}'\n")
    assert line == (
        "site.yaml:2: error: 'base_url' must not have an empty, '.' or '..' part in its "
        f"path: {url!r}; write {instead!r}"
    )
    assert parse_config(f"title: T\nbase_url: '{instead}'\n").base_url == instead


BAD_SITE_YAML = "title: Broken\nbase_url: https://t.example/\nper_page: lots\n"


def test_build_with_bad_config_raises_and_writes_nothing(
    make_site: MakeSite, build_site: BuildSite
) -> None:
    site = make_site({"site.yaml": BAD_SITE_YAML, "content/a.md": article("A")})
    with pytest.raises(BuildError) as caught:
        build_site(site)
    assert [str(d) for d in caught.value.diagnostics] == [
        "site.yaml:3: error: 'per_page' must be an integer, not text 'lots'"
    ]
    assert not (site / "output").exists()


def test_cli_exit_code_two_for_bad_config(make_site: MakeSite) -> None:
    site = make_site({"site.yaml": BAD_SITE_YAML, "content/a.md": article("A")})
    out, err = io.StringIO(), io.StringIO()
    assert main(["build", str(site)], out=out, err=err) == 2
    assert "site.yaml:3: error: 'per_page' must be an integer" in err.getvalue()
    assert not (site / "output").exists()
    assert main(["check", str(site)], out=io.StringIO(), err=io.StringIO()) == 2


def test_duplicate_key_is_an_error() -> None:
    with pytest.raises(BuildError) as caught:
        parse_config("title: A\nbase_url: https://a.example/\ntitle: B\n")
    assert [str(d) for d in caught.value.diagnostics] == [
        "site.yaml:3: error: 'title' is set twice; keep one"
    ]


def test_empty_feeds_means_defaults() -> None:
    config = parse_config("title: A\nbase_url: https://a.example/\nfeeds:\n")
    assert config.feeds == FeedSettings()


def test_base_url_with_a_query_is_refused() -> None:
    with pytest.raises(BuildError) as caught:
        parse_config("title: A\nbase_url: https://a.example/?q=1\n")
    assert "must not have a query or fragment" in str(caught.value.diagnostics[0])


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (
            'title: "Bell\\a and \\x1b"\nbase_url: https://t.example/\n',
            "site.yaml:1: error: 'title'",
        ),
        (
            'title: T\nbase_url: https://t.example/\ndescription: "\\a\\x1b"\n',
            "site.yaml:3: error: 'description'",
        ),
    ],
)
def test_control_characters_in_text_a_page_shows_are_refused(text: str, where: str) -> None:
    assert problems(text) == [f"{where} contains control characters (U+0007, U+001B); remove them"]


def test_non_characters_in_the_site_s_title_are_refused() -> None:
    assert problems('title: "A\\uFDD0"\nbase_url: https://t.example/\n') == [
        "site.yaml:1: error: 'title' contains control characters (U+FDD0); remove them"
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "title: !ENV SITE_TITLE\n",
            "site.yaml:1: error: 'title': invalid YAML: could not determine a constructor for "
            "the tag '!ENV'; remove the '!' tag before the value, or put the value in quotes",
        ),
        (
            'title: !!python/object/apply:os.system ["echo"]\n',
            "site.yaml:1: error: 'title': invalid YAML: could not determine a constructor for "
            "the tag 'tag:yaml.org,2002:python/object/apply:os.system'; remove the '!' tag "
            "before the value, or put the value in quotes",
        ),
        (
            "title: T\nmax_file_size: " + "9" * 5000 + "\n",
            "site.yaml:2: error: 'max_file_size': invalid YAML value (Exceeds the limit (4300 "
            "digits) for integer string conversion: value has 5000 digits); put the value in "
            "quotes, or remove its '!!' tag",
        ),
        (
            "title: T\nfeeds:\n  full_content: !!bool maybe\n",
            "site.yaml:3: error: 'feeds.full_content': invalid YAML value ('maybe'); put the "
            "value in quotes, or remove its '!!' tag",
        ),
        (
            "title: T\ndescription:\n  - a\n  - !foo b\n",
            "site.yaml:4: error: 'description': invalid YAML: could not determine a constructor "
            "for the tag '!foo'; remove the '!' tag before the value, or put the value in quotes",
        ),
        (
            "title: &t [*t]\n",
            "site.yaml:1: error: 'title': an alias refers to the value that holds it (a loop); "
            "remove the '*' alias",
        ),
    ],
    ids=["env", "python", "huge-integer", "bool-maybe", "in-a-list", "alias-loop"],
)
def test_a_value_yaml_cannot_make_is_named_with_its_line_as_in_articles(
    text: str, expected: str
) -> None:
    assert problems(text + "base_url: https://t.example/\n") == [expected]


def test_a_tag_in_site_yaml_fails_with_exit_code_two_not_a_crash(make_site: MakeSite) -> None:
    site_yaml = "title: !ENV SITE_TITLE\nbase_url: https://t.example/\n"
    site = make_site({"site.yaml": site_yaml, "content/a.md": article("A")})
    for command in ("build", "check"):
        out, err = io.StringIO(), io.StringIO()
        assert main([command, str(site)], out=out, err=err) == 2
        assert err.getvalue().startswith("site.yaml:1: error: 'title': invalid YAML: ")
    assert not (site / "output").exists()


def test_a_wrong_value_made_huge_by_aliases_is_shown_cut_short() -> None:
    # Nine levels of nine aliases make a billion items, which `repr` never finishes
    # writing; five make a message of hundreds of kilobytes.
    levels = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]\n" for n in range(1, 5)
    )
    found = problems(levels + "title: *a4\nbase_url: https://t.example/\n")
    [line] = [line for line in found if "'title'" in line]
    assert line.startswith("site.yaml:6: error: 'title' must be a string, not a list [[[...], ")
    assert len(line) < 250


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'title: "The Gazette\nbase_url: https://t.example/\nlanguage: en\n',
            "site.yaml:1: error: invalid YAML: a quote opened on this line is never closed; "
            "close it (a ' within a value in single quotes is written '')",
        ),
        (
            "title: T\nbase_url: https://t.example/\nfeeds:\n\titems: 3\n",
            "site.yaml:4: error: invalid YAML: found character that cannot start any token "
            "(while scanning for the next token at line 4); YAML does not allow tabs for "
            "indentation: indent with spaces",
        ),
        (
            "title: T\nbase_url: https://t.example/\ndescription: News: all of it\n",
            "site.yaml:3: error: invalid YAML: mapping values are not allowed in this context; "
            "put the value in quotes (it holds ': ')",
        ),
        (
            "title: T\nbase_url: https://t.example/\ndescription: \x07\n",
            "site.yaml:3: error: invalid YAML: character U+0007 is not allowed; delete it",
        ),
    ],
    ids=["unclosed-quote", "tab", "colon", "control-character"],
)
def test_a_yaml_syntax_error_has_its_line_and_a_hint_as_in_articles(
    text: str, expected: str
) -> None:
    assert problems(text) == [expected]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            b"title: T\nbase_url: https://t.example/\ndescription: caf\xe9\n",
            "site.yaml:3: error: not valid UTF-8 (byte 0xe9); save the file as UTF-8",
        ),
        (
            b"\xef\xbb\xbftitle: T\xe9\n",
            "site.yaml:1: error: not valid UTF-8 (byte 0xe9); save the file as UTF-8",
        ),
        (
            "title: T\nbase_url: https://t.example/\n".encode("utf-16"),
            "site.yaml:1: error: the file is UTF-16 text; save it as UTF-8",
        ),
    ],
    ids=["latin-1", "after-a-byte-order-mark", "utf-16"],
)
def test_a_site_yaml_not_in_utf8_is_named_with_its_line_as_articles_are(
    make_site: MakeSite, raw: bytes, expected: str
) -> None:
    site = make_site({"content/a.md": article("A")})
    (site / "site.yaml").write_bytes(raw)
    out, err = io.StringIO(), io.StringIO()
    assert main(["build", str(site)], out=out, err=err) == 2
    assert err.getvalue().splitlines()[0] == expected
    assert not (site / "output").exists()
